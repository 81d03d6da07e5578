"""The plugin's tests use Kith's pytest plugin (``kith.testing``, loaded automatically when
Kith is installed): a migrated database per test, ``kith_app``, ``run_command``, ``clock``,
``run_jobs``, ``events``. Installed plugins are not loaded into test apps: list yours."""

import kith_renewals.plugin
import pytest
from kith import Kith, Settings


@pytest.fixture(scope="session")
def kith_plugin_apps() -> list[str]:
    """Migrate Kith's tables and this plugin's into the test databases."""
    app = Kith(
        Settings(database_url="sqlite:///:memory:", load_entry_points=False),
        extra_plugins=[("renewals", kith_renewals.plugin)],
    )
    return app.hooks.tables()


@pytest.fixture
def kith_plugins() -> list[tuple[str, object]]:
    """This plugin, registered in every test app."""
    return [("renewals", kith_renewals.plugin)]
