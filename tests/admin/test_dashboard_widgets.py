"""Plugins add dashboard widgets through ``kith_dashboard_widgets``; they return data (never
HTML), run as the person looking, and one that fails does not break the page."""

from __future__ import annotations

import httpx
import kith
import pytest
from kith import SYSTEM
from kith.web import create_app

SEEN: list[str] = []


class WidgetPlugin:
    @kith.hookimpl
    def kith_dashboard_widgets(self):
        async def renewals(app, actor, filters):
            SEEN.append(f"{actor.role}:{filters.days}")
            return [kith.Bar("<b>due</b>", 7, "7 due")]

        async def broken(app, actor, filters):
            raise kith.KithError("not_ready", "no data yet")

        return [
            kith.DashboardWidget("renewals.due", "Renewals due", renewals, kind="number"),
            kith.DashboardWidget("renewals.broken", "Broken widget", broken),
        ]


@pytest.fixture
def kith_plugins():
    return [("widgets", WidgetPlugin())]


async def test_a_plugin_widget_renders_escaped_and_a_broken_one_is_contained(kith_app, make_actor):
    viewer = await make_actor("viewer")
    await kith_app.run(
        "user.set_password", {"user": viewer.user_id, "password": "viewer pw 123"}, SYSTEM
    )
    app = create_app(kith_app, manage_lifecycle=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://kith.test"
    ) as web:
        await web.post("/admin/login", data={"email": viewer.email, "password": "viewer pw 123"})
        page = await web.get("/admin/dashboards?days=30")
    assert page.status_code == 200
    assert "Renewals due" in page.text and "7 due" in page.text
    assert "Broken widget" in page.text and "could not load" in page.text
    assert SEEN[-1] == "viewer:30"
    assert "<b>due</b>" not in page.text


def test_a_widget_needs_a_plain_key():
    async def load(app, actor, filters):
        return []

    with pytest.raises(ValueError, match="widget key"):
        kith.DashboardWidget("bad key!", "Bad", load)
