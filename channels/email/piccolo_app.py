"""The email channel's piccolo app: its table and migrations (run after the core's)."""

import os

from piccolo.conf.apps import AppConfig

from .tables import EMAIL_TABLES

APP_CONFIG = AppConfig(
    app_name="email",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=EMAIL_TABLES,
    migration_dependencies=["kith.piccolo_app"],
    commands=[],
)
