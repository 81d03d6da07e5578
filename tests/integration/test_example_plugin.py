"""The example vertical plugin (examples/kith-renewals) is found through its entry point,
like any plugin installed with pip (./dev test installs it)."""

from __future__ import annotations

import pytest
from kith import Kith, Settings
from kith.settings import PluginsFile

pytest.importorskip("kith_renewals", reason="pip install -e examples/kith-renewals")


def test_kith_discovers_the_installed_plugin_through_its_entry_point() -> None:
    app = Kith(
        Settings(database_url="sqlite:///:memory:", load_entry_points=True),
        plugins_file=PluginsFile(),
    )
    (plugin,) = [p for p in app.plugins if p.name == "renewals"]
    assert (plugin.source, plugin.version) == ("entry point", "0.1.0")
    assert "kith_commands" in plugin.hooks and "kith_verbs" in plugin.hooks
    assert "subscription.create" in app.registry
    assert app.registry.get("subscription.create").plugin == "renewals"


def test_plugins_toml_can_turn_it_off() -> None:
    app = Kith(
        Settings(database_url="sqlite:///:memory:", load_entry_points=True),
        plugins_file=PluginsFile(enabled={"renewals": False}),
    )
    assert "renewals" not in [p.name for p in app.plugins]
    assert "subscription.create" not in app.registry
