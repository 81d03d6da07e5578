"""The automations' tables: definitions, their immutable versions, runs and match timers.

A piccolo app of its own (``kith.automations.piccolo_app``), migrated after the core's.
"""

from __future__ import annotations

from piccolo.columns import JSON, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table


def _ts(null: bool = False) -> Timestamptz:
    return Timestamptz(null=null, default=None)


class Automation(Table, tablename="automations"):
    """A rule: the current version's definition lives in ``automation_versions``."""

    name = Varchar(length=200, unique=True)
    description = Text(null=True, default=None)
    enabled = Boolean(default=False)
    version = Integer(default=1)
    version_id = Integer(null=True, default=None)
    trigger = Varchar(length=100, default="")
    entity = Varchar(length=30, null=True, default=None)
    problems = JSON(default="[]")
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class AutomationVersion(Table, tablename="automation_versions"):
    """One saved definition; never changed, so runs finish on the version they started."""

    automation_id = ForeignKey(references=Automation, null=False, on_delete=OnDelete.restrict)
    version = Integer(default=1)
    definition = JSON(default="{}")
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)


class AutomationRun(Table, tablename="automation_runs"):
    """One run: what triggered it, the conditions with their values, the steps done."""

    automation_id = ForeignKey(references=Automation, null=False, on_delete=OnDelete.restrict)
    version_id = Integer()
    version = Integer(default=1)
    trigger_key = Varchar(length=200)
    trigger = JSON(default="{}")
    entity = Varchar(length=30, null=True, default=None)
    record_id = Integer(null=True, default=None)
    depth = Integer(default=1)
    status = Varchar(length=20, default="running")
    conditions = JSON(default="[]")
    steps = JSON(default="[]")
    pc = Integer(default=0)
    wait_until = _ts(null=True)
    error = Text(null=True, default=None)
    started_at = _ts()
    updated_at = _ts()
    finished_at = _ts(null=True)


class AutomationMatch(Table, tablename="automation_matches"):
    """A record that matches a "matches for N days" automation, and since when."""

    automation_id = ForeignKey(references=Automation, null=False, on_delete=OnDelete.restrict)
    entity = Varchar(length=30)
    record_id = Integer()
    since = _ts()
    fired_at = _ts(null=True)


AUTOMATION_TABLES: list[type[Table]] = [
    Automation,
    AutomationVersion,
    AutomationRun,
    AutomationMatch,
]
