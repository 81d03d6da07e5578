"""The automations' piccolo app: tables and migrations, run after the core's."""

import os

from piccolo.conf.apps import AppConfig

from .tables import AUTOMATION_TABLES

APP_CONFIG = AppConfig(
    app_name="kith_automations",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=AUTOMATION_TABLES,
    migration_dependencies=["kith.piccolo_app"],
    commands=[],
)
