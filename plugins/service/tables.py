"""The service plugin's own tables (the core owns ``tickets``, users, teams and contacts).

* ``service_ticket_state`` — one row per ticket: its SLA policy and calendar, its clocks
  (JSON), the due times copied into indexed columns for queues, escalation progress, merge.
* ``service_messages`` — the conversation: customer messages, public replies, internal
  comments.
* ``service_ccs``, ``service_links`` — who is copied on a ticket; links between tickets.
* ``service_calendars``, ``service_holidays`` — business hours and days off.
* ``service_sla_policies`` — targets per priority (and organization tier), escalation.
* ``service_team_settings``, ``service_agents``, ``service_assignment_rules`` — routing.
* ``service_macros`` — saved replies and actions.
* ``service_csat`` — rating requests and ratings.
"""

from __future__ import annotations

import kith
from piccolo.columns import JSON, Boolean, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table


def _ts(null: bool = False, index: bool = False) -> Timestamptz:
    return Timestamptz(null=null, default=None, index=index)


def _ref(table: type[Table], null: bool = True, index: bool = True) -> ForeignKey:
    return ForeignKey(references=table, null=null, index=index, on_delete=OnDelete.restrict)


class Calendar(Table, tablename="service_calendars"):
    name = Varchar(length=200, unique=True)
    time_zone = Varchar(length=64, default="UTC")
    hours = JSON(default="[]")
    is_default = Boolean(default=False)
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class Holiday(Table, tablename="service_holidays"):
    calendar_id = _ref(Calendar, null=False)
    day = Date()
    name = Varchar(length=200, default="")
    created_at = _ts()
    created_by = Integer(null=True, default=None)


class SlaPolicy(Table, tablename="service_sla_policies"):
    name = Varchar(length=200, unique=True)
    position = Integer(default=0)
    tier = Varchar(length=50, null=True, default=None)
    calendar_id = _ref(Calendar)
    rules = JSON(default="{}")
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class TicketState(Table, tablename="service_ticket_state"):
    ticket_id = ForeignKey(
        references=kith.Ticket, null=False, unique=True, on_delete=OnDelete.restrict
    )
    policy_id = _ref(SlaPolicy)
    calendar_id = _ref(Calendar)
    clocks = JSON(default="{}")
    first_response_due_at = _ts(null=True)
    next_response_due_at = _ts(null=True)
    resolution_due_at = _ts(null=True)
    # earliest due time of a running clock not yet breached: the "breaching soon" queue
    next_breach_at = _ts(null=True, index=True)
    # earliest breach of a clock still unmet: the "breached" queue
    breached_at = _ts(null=True, index=True)
    next_check_at = _ts(null=True)
    escalation = JSON(default="{}")
    merged_into_id = _ref(kith.Ticket)
    first_response_at = _ts(null=True)
    solved_at = _ts(null=True)
    closed_at = _ts(null=True)
    created_at = _ts()
    updated_at = _ts()


class Message(Table, tablename="service_messages"):
    ticket_id = _ref(kith.Ticket, null=False)
    kind = Varchar(length=10)  # customer | reply | comment
    public = Boolean(default=True)
    author_user_id = _ref(kith.User, index=False)
    author_contact_id = _ref(kith.Contact, index=False)
    body = Text(default="")
    cc = JSON(default="[]")
    channel = Varchar(length=20, default="api")
    external_id = Varchar(length=500, null=True, default=None, unique=True)
    created_at = _ts()
    created_by = Integer(null=True, default=None)


class Cc(Table, tablename="service_ccs"):
    ticket_id = _ref(kith.Ticket, null=False)
    email = Varchar(length=320)
    contact_id = _ref(kith.Contact, index=False)
    created_at = _ts()
    created_by = Integer(null=True, default=None)


class Link(Table, tablename="service_links"):
    ticket_id = _ref(kith.Ticket, null=False)
    other_id = _ref(kith.Ticket, null=False)
    kind = Varchar(length=20, default="related")
    created_at = _ts()
    created_by = Integer(null=True, default=None)


class TeamSettings(Table, tablename="service_team_settings"):
    team_id = ForeignKey(references=kith.Team, null=False, unique=True, on_delete=OnDelete.restrict)
    mode = Varchar(length=20, default="round_robin")
    max_open = Integer(null=True, default=None)
    calendar_id = _ref(Calendar)
    allow_outside_assignees = Boolean(default=False)
    last_assignee_id = Integer(null=True, default=None)
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)


class Agent(Table, tablename="service_agents"):
    user_id = ForeignKey(references=kith.User, null=False, unique=True, on_delete=OnDelete.restrict)
    available = Boolean(default=True)
    max_open = Integer(null=True, default=None)
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)


class AssignmentRule(Table, tablename="service_assignment_rules"):
    name = Varchar(length=200, unique=True)
    position = Integer(default=0)
    conditions = JSON(default="{}")
    team_id = _ref(kith.Team)
    assignee_id = _ref(kith.User)
    active = Boolean(default=True)
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)


class Macro(Table, tablename="service_macros"):
    name = Varchar(length=200, unique=True)
    body = Text(null=True, default=None)
    public = Boolean(default=True)
    actions = JSON(default="{}")
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class Csat(Table, tablename="service_csat"):
    ticket_id = _ref(kith.Ticket, null=False)
    requester_id = _ref(kith.Contact, index=False)
    agent_id = _ref(kith.User)
    team_id = _ref(kith.Team)
    requested_at = _ts()
    rating = Varchar(length=4, null=True, default=None)
    comment = Text(null=True, default=None)
    rated_at = _ts(null=True)
    month = Varchar(length=7, null=True, default=None, index=True)
    created_at = _ts()
    updated_at = _ts()


SERVICE_TABLES: list[type[Table]] = [
    Calendar,
    Holiday,
    SlaPolicy,
    TicketState,
    Message,
    Cc,
    Link,
    TeamSettings,
    Agent,
    AssignmentRule,
    Macro,
    Csat,
]

for _table, _entity in (
    (Calendar, "calendar"),
    (SlaPolicy, "sla_policy"),
    (AssignmentRule, "assignment_rule"),
    (Macro, "macro"),
    (Message, "message"),
    (TeamSettings, "service_team"),
    (Agent, "agent"),
    (Csat, "csat"),
):
    kith.register_entity(_table, _entity)
