"""The plugin's piccolo app (its migrations run after Kith's own)."""

import os

from piccolo.conf.apps import AppConfig

from .tables import TABLES

APP_CONFIG = AppConfig(
    app_name="renewals",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=TABLES,
    migration_dependencies=["kith.piccolo_app"],
    commands=[],
)
