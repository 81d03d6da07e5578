"""The sales plugin's own tables (the core owns pipelines, stages, deals and leads).

* ``sales_routing_rules`` — territory rules created by command (``routing.rule_set``).
* ``sales_routing_members`` — each user's routing state: available, away until, opted out,
  capacity (open leads they may hold).
* ``sales_routing_pointers`` — the round-robin pointer of each team or rule, locked by the
  routing command's first statement so concurrent routings queue instead of colliding.
* ``sales_assignments`` — every routing decision: lead, owner, the rule that chose them,
  and the "Contact …" task it created.
* ``sales_stage_moves`` — each stage change of a deal with the time spent in the stage left.
* ``sales_lead_conversions`` — one row per converted lead (unique: a lead converts once).
"""

from __future__ import annotations

import kith
from piccolo.columns import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table


def _ts(null: bool = False) -> Timestamptz:
    return Timestamptz(null=null, default=None)


def _ref(table: type[Table], null: bool = True, index: bool = True) -> ForeignKey:
    return ForeignKey(references=table, null=null, index=index, on_delete=OnDelete.restrict)


class RoutingRule(Table, tablename="sales_routing_rules"):
    name = Varchar(length=100, unique=True)
    position = Integer(default=0)
    conditions = JSON(default="{}")
    team_id = _ref(kith.Team)
    user_ids = JSON(default="[]")
    strategy = Varchar(length=20, null=True, default=None)
    active = Boolean(default=True)
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)


class RoutingMember(Table, tablename="sales_routing_members"):
    user_id = ForeignKey(references=kith.User, null=False, unique=True, on_delete=OnDelete.restrict)
    available = Boolean(default=True)
    away_until = _ts(null=True)
    opted_out = Boolean(default=False)
    capacity = Integer(null=True, default=None)
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)


class RoutingPointer(Table, tablename="sales_routing_pointers"):
    scope = Varchar(length=120, unique=True)
    last_user_id = Integer(null=True, default=None)
    turns = Integer(default=0)


class Assignment(Table, tablename="sales_assignments"):
    lead_id = _ref(kith.Lead, null=False)
    user_id = _ref(kith.User)
    rule = Varchar(length=200)
    strategy = Varchar(length=20, null=True, default=None)
    contact_task_id = Integer(null=True, default=None)
    at = _ts()


class StageMove(Table, tablename="sales_stage_moves"):
    deal_id = _ref(kith.Deal, null=False)
    from_stage_id = Integer(null=True, default=None)
    to_stage_id = Integer()
    seconds_in_stage = Integer(null=True, default=None)
    actor = Varchar(length=100)
    at = _ts()


class LeadConversion(Table, tablename="sales_lead_conversions"):
    lead_id = ForeignKey(references=kith.Lead, null=False, unique=True, on_delete=OnDelete.restrict)
    contact_id = _ref(kith.Contact)
    organization_id = _ref(kith.Organization)
    deal_id = _ref(kith.Deal)
    at = _ts()
    created_by = Integer(null=True, default=None)


SALES_TABLES: list[type[Table]] = [
    RoutingRule,
    RoutingMember,
    RoutingPointer,
    Assignment,
    StageMove,
    LeadConversion,
]

kith.register_entity(RoutingRule, "routing_rule")
kith.register_entity(RoutingMember, "routing_member")
kith.register_entity(LeadConversion, "lead_conversion")
