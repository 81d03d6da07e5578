"""Fixtures for the sales plugin's tests: the default pipeline, a sales team, helpers."""

from __future__ import annotations

from typing import Any

import pytest
from kith.plugins.sales.commands.pipelines import ensure_default_pipeline
from kith.settings import PluginsFile


@pytest.fixture
def sales_settings() -> dict[str, Any]:
    """``[plugins.sales]`` for the test (override in a module to change it)."""
    return {}


@pytest.fixture
def kith_plugins_file(sales_settings: dict[str, Any]) -> PluginsFile:
    return PluginsFile(settings={"sales": sales_settings})


@pytest.fixture
async def pipeline(kith_app, admin):
    """The default Sales pipeline, as ``kith init`` creates it."""
    await ensure_default_pipeline(kith_app)
    await kith_app.drain()
    return await kith_app.run("pipeline.get", {"pipeline": "Sales"}, admin)


@pytest.fixture
async def ana(make_actor):
    return await make_actor(
        "agent", email="ana@staff.example.com", name="Ana Alves", time_zone="Europe/Paris"
    )


@pytest.fixture
async def ben(make_actor):
    return await make_actor("manager", email="ben@staff.example.com", name="Ben Brown")
