"""The Slack channel's piccolo app: its tables and migrations (run after the core's)."""

import os

from piccolo.conf.apps import AppConfig

from .tables import SLACK_TABLES

APP_CONFIG = AppConfig(
    app_name="slack",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=SLACK_TABLES,
    migration_dependencies=["kith.piccolo_app"],
    commands=[],
)
