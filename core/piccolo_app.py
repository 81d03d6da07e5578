"""The core's piccolo app: its tables and its migrations folder."""

import os

from piccolo.conf.apps import AppConfig

from .tables import CORE_TABLES

APP_CONFIG = AppConfig(
    app_name="kith",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=CORE_TABLES,
    migration_dependencies=[],
    commands=[],
)
