"""The core's tables, declared with piccolo (schema and migrations only).

Conventions: integer ids people can say ("deal 42"); UTC timestamps; ``created_at``,
``updated_at``, ``created_by`` (a user id, or null for the system); ``archived_at`` for soft
delete; a ``custom`` JSON column for custom fields; money as integer minor units plus an
ISO 4217 currency code (never a float).
"""

from __future__ import annotations

import os

os.environ.setdefault("PICCOLO_CONF", "kith.piccolo_conf")

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table


def _ts(null: bool = False) -> Timestamptz:
    return Timestamptz(null=null, default=None)


def _ref(table: type[Table] | str, null: bool = True, index: bool = True) -> ForeignKey:
    return ForeignKey(references=table, null=null, index=index, on_delete=OnDelete.restrict)


class User(Table, tablename="users"):
    email = Varchar(length=320, unique=True)
    name = Varchar(length=200)
    role = Varchar(length=20, default="agent")
    time_zone = Varchar(length=64, default="UTC")
    slack_user_id = Varchar(length=32, null=True, default=None, unique=True)
    active = Boolean(default=True)
    custom = JSON(default="{}")
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class Team(Table, tablename="teams"):
    name = Varchar(length=200, unique=True)
    lead_id = _ref(User)
    time_zone = Varchar(length=64, default="UTC")
    custom = JSON(default="{}")
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class TeamMember(Table, tablename="team_members"):
    team_id = _ref(Team, null=False)
    user_id = _ref(User, null=False)


class Organization(Table, tablename="organizations"):
    name = Varchar(length=300, index=True)
    domain = Varchar(length=253, null=True, default=None, unique=True)
    industry = Varchar(length=100, null=True, default=None)
    size = Varchar(length=50, null=True, default=None)
    country = Varchar(length=2, null=True, default=None)
    owner_id = _ref(User)
    custom = JSON(default="{}")
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class Contact(Table, tablename="contacts"):
    name = Varchar(length=300, index=True)
    email = Varchar(length=320, null=True, default=None, index=True)
    phone = Varchar(length=50, null=True, default=None)
    title = Varchar(length=200, null=True, default=None)
    organization_id = _ref(Organization)
    owner_id = _ref(User)
    lifecycle_stage = Varchar(length=30, default="subscriber")
    consent = JSON(default="{}")
    custom = JSON(default="{}")
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class ContactEmail(Table, tablename="contact_emails"):
    contact_id = _ref(Contact, null=False)
    email = Varchar(length=320, unique=True)
    is_primary = Boolean(default=False)
    undeliverable = Boolean(default=False)


class Lead(Table, tablename="leads"):
    name = Varchar(length=300)
    email = Varchar(length=320, null=True, default=None, index=True)
    company = Varchar(length=300, null=True, default=None)
    phone = Varchar(length=50, null=True, default=None)
    source = Varchar(length=100, null=True, default=None)
    status = Varchar(length=20, default="new")
    disqualify_reason = Text(null=True, default=None)
    owner_id = _ref(User)
    score = Integer(default=0)
    contact_id = _ref(Contact)
    organization_id = _ref(Organization)
    custom = JSON(default="{}")
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class Pipeline(Table, tablename="pipelines"):
    name = Varchar(length=200, unique=True)
    is_default = Boolean(default=False)
    position = Integer(default=0)
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class Stage(Table, tablename="stages"):
    pipeline_id = _ref(Pipeline, null=False)
    name = Varchar(length=200)
    position = Integer(default=0)
    probability = Integer(default=0)
    rotting_days = Integer(null=True, default=None)
    kind = Varchar(length=10, default="open")
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class Deal(Table, tablename="deals"):
    title = Varchar(length=300, index=True)
    value_minor = BigInt(default=0)
    currency = Varchar(length=3, default="EUR")
    pipeline_id = _ref(Pipeline, null=False)
    stage_id = _ref(Stage, null=False)
    status = Varchar(length=10, default="open")
    owner_id = _ref(User)
    contact_id = _ref(Contact)
    organization_id = _ref(Organization)
    expected_close = Date(null=True, default=None)
    close_reason = Text(null=True, default=None)
    closed_at = _ts(null=True)
    stage_changed_at = _ts(null=True)
    next_activity_at = _ts(null=True)
    custom = JSON(default="{}")
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class Ticket(Table, tablename="tickets"):
    subject = Varchar(length=500)
    requester_id = _ref(Contact)
    organization_id = _ref(Organization)
    status = Varchar(length=10, default="new")
    priority = Varchar(length=10, default="normal")
    type = Varchar(length=30, null=True, default=None)
    assignee_id = _ref(User)
    team_id = _ref(Team)
    channel = Varchar(length=20, default="api")
    custom = JSON(default="{}")
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class Activity(Table, tablename="activities"):
    kind = Varchar(length=10)
    subject = Varchar(length=500, null=True, default=None)
    body = Text(null=True, default=None)
    direction = Varchar(length=10, null=True, default=None)
    duration_seconds = Integer(null=True, default=None)
    outcome = Varchar(length=100, null=True, default=None)
    occurred_at = _ts()
    user_id = _ref(User)
    contact_id = _ref(Contact)
    organization_id = _ref(Organization)
    deal_id = _ref(Deal)
    lead_id = _ref(Lead)
    ticket_id = _ref(Ticket)
    custom = JSON(default="{}")
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class Task(Table, tablename="tasks"):
    title = Varchar(length=500)
    due_at = _ts(null=True)
    assignee_id = _ref(User)
    status = Varchar(length=10, default="open")
    completed_at = _ts(null=True)
    record_type = Varchar(length=30, null=True, default=None)
    record_id = Integer(null=True, default=None)
    custom = JSON(default="{}")
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class Tag(Table, tablename="tags"):
    name = Varchar(length=100, unique=True)
    color = Varchar(length=20, null=True, default=None)
    created_at = _ts()


class RecordTag(Table, tablename="record_tags"):
    tag_id = _ref(Tag, null=False)
    entity = Varchar(length=30)
    record_id = Integer(index=True)


class CustomFieldDef(Table, tablename="custom_field_defs"):
    entity = Varchar(length=30)
    key = Varchar(length=64)
    label = Varchar(length=200)
    type = Varchar(length=20)
    options = JSON(default="[]")
    required = Boolean(default=False)
    position = Integer(default=0)
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)
    archived_at = _ts(null=True)


class History(Table, tablename="history"):
    """One row per record changed by a command: the timeline's backbone."""

    at = _ts()
    actor = Varchar(length=100)
    actor_user_id = Integer(null=True, default=None)
    command = Varchar(length=100)
    entity = Varchar(length=30)
    entity_id = Integer()
    action = Varchar(length=30)
    changes = JSON(default="{}")


class OutboxEvent(Table, tablename="outbox_events"):
    """Events written in the command's transaction, dispatched after commit."""

    event_id = Varchar(length=36, unique=True)
    name = Varchar(length=100)
    entity = Varchar(length=30, null=True, default=None)
    entity_id = Integer(null=True, default=None)
    actor = Varchar(length=100)
    at = _ts()
    data = JSON(default="{}")
    claimed_by = Varchar(length=64, null=True, default=None)
    claimed_at = _ts(null=True)
    dispatched_at = _ts(null=True)


class Job(Table, tablename="jobs"):
    """Durable scheduled work. The runner claims a row when it starts it (lease), marks it
    done in the same transaction as its database effects, retries with backoff, and leaves it
    dead (with its error) after its last attempt."""

    name = Varchar(length=100, index=True)
    payload = JSON(default="{}")
    key = Varchar(length=200, null=True, default=None)
    run_at = _ts()
    status = Varchar(length=10, default="scheduled")
    attempts = Integer(default=0)
    max_attempts = Integer(default=5)
    lease_until = _ts(null=True)
    worker = Varchar(length=64, null=True, default=None)
    last_error = Text(null=True, default=None)
    created_at = _ts()
    updated_at = _ts()
    finished_at = _ts(null=True)


class Setting(Table, tablename="settings"):
    """Installation-wide settings people change at runtime (``setting.set``), e.g.
    ``visibility.deal = own``. One row per key; the value is JSON."""

    key = Varchar(length=200, unique=True)
    value = JSON(default="null")
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)


CORE_TABLES: list[type[Table]] = [
    User,
    Team,
    TeamMember,
    Organization,
    Contact,
    ContactEmail,
    Lead,
    Pipeline,
    Stage,
    Deal,
    Ticket,
    Activity,
    Task,
    Tag,
    RecordTag,
    CustomFieldDef,
    History,
    OutboxEvent,
    Job,
    Setting,
]


# ---- API tokens and idempotency keys (REST API, MCP) ---------------------------------------------


class ApiToken(Table, tablename="api_tokens"):
    """A bearer token for the REST API (and MCP): bound to a user, optionally narrowed by
    scopes. Only the SHA-256 of the token is stored; the token itself is shown once."""

    user_id = _ref(User, null=False)
    name = Varchar(length=200, default="")
    token_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=16, default="")
    scopes = JSON(default="[]")
    expires_at = _ts(null=True)
    revoked_at = _ts(null=True)
    created_at = _ts()
    updated_at = _ts()
    created_by = Integer(null=True, default=None)


class IdempotencyKey(Table, tablename="idempotency_keys"):
    """A command run under a client's idempotency key: claimed in the command's own
    transaction (unique key), holding the result a retry gets back."""

    key = Varchar(length=300, unique=True)
    command = Varchar(length=100)
    fingerprint = Varchar(length=64)
    response = JSON(null=True, default=None)
    created_at = _ts()


CORE_TABLES += [ApiToken, IdempotencyKey]
# ---- data in, out, clean and safe: imports, external ids, merges, duplicates -------------------


class ExternalId(Table, tablename="external_ids"):
    """A record's id in another system (``hubspot``: ``"1234"``), the key of re-imports.
    Unique per (entity, system, external_id); a merge moves the loser's to the survivor."""

    entity = Varchar(length=30)
    system = Varchar(length=50)
    external_id = Varchar(length=200)
    record_id = Integer()
    created_at = _ts()


class ImportRun(Table, tablename="import_runs"):
    """One CSV import and its progress: ``byte_offset``/``rows_done`` move with each committed
    batch, in the batch's transaction, so a crashed import resumes after its last batch."""

    entity = Varchar(length=30)
    file_name = Varchar(length=255)
    path = Text()
    file_size = BigInt(default=0)
    file_sha256 = Varchar(length=64)
    encoding = Varchar(length=30)
    delimiter = Varchar(length=2)
    header = JSON(default="[]")
    mapping = JSON(default="{}")
    options = JSON(default="{}")
    status = Varchar(length=10, default="running")
    byte_offset = BigInt(default=0)
    rows_done = Integer(default=0)
    created = Integer(default=0)
    updated = Integer(default=0)
    skipped = Integer(default=0)
    rejected = Integer(default=0)
    user_id = Integer(null=True, default=None)
    actor = Varchar(length=100)
    error = Text(null=True, default=None)
    created_at = _ts()
    updated_at = _ts()
    finished_at = _ts(null=True)


class ImportReject(Table, tablename="import_rejects"):
    """A row an import could not take: which field, why, and the row's values."""

    run_id = _ref(ImportRun, null=False)
    row_number = Integer()
    field = Varchar(length=100)
    column_name = Varchar(length=200, null=True, default=None)
    reason = Text()
    row_values = JSON(default="[]")


class MergeRecord(Table, tablename="merges"):
    """A merge of ``loser`` into ``survivor``, with what it changed and moved, for undo."""

    entity = Varchar(length=30)
    survivor_id = Integer(index=True)
    loser_id = Integer(index=True)
    changes = JSON(default="{}")
    moved = JSON(default="[]")
    kept = JSON(default="[]")
    actor = Varchar(length=100)
    actor_user_id = Integer(null=True, default=None)
    created_at = _ts()
    undone_at = _ts(null=True)
    undo_conflicts = JSON(default="[]")


class DuplicatePair(Table, tablename="duplicate_pairs"):
    """Two records that look like one (``record_id`` < ``other_id``): open, dismissed or
    merged. The nightly scan flags new pairs; a dismissed pair is not flagged again."""

    entity = Varchar(length=30)
    record_id = Integer()
    other_id = Integer()
    score = Integer(default=0)
    reasons = JSON(default="[]")
    status = Varchar(length=10, default="open")
    found_at = _ts()
    updated_at = _ts()


CORE_TABLES += [ExternalId, ImportRun, ImportReject, MergeRecord, DuplicatePair]
