"""Kith: an open-source, plugin-first operational CRM driven from Slack and email.

This module is the public API. Bundled and third-party plugins import only what is listed in
``__all__`` here; anything else is private and may change without notice.
"""

from __future__ import annotations

from typing import Any

from .automations.actions import ActionConfig, ActionContext, ActionSpec, automation_action
from .automations.triggers import EventSpec, TriggerSpec, known_events
from .cache import KithCache
from .clock import Clock, FrozenClock, SystemClock
from .commands import CommandSpec, command, commands_in
from .context import Context, register_entity
from .crypto import decrypt_secret, encrypt_secret
from .dashboards import Bar, DashboardFilters, DashboardWidget
from .dataio.merge_refs import MergeReference

# Input field types and (further down) the core tables, for plugins that read and write
# core records through ``ctx.select/get/insert/update`` and declare command inputs the way
# the core does (``Input`` refuses unknown fields and trims text; ``Ref`` is an id or a name;
# ``Email`` is validated and normalised to lower case).
from .entities._common import Email, Input, Name, Ref
from .errors import FieldError, KithError, forbidden, invalid, not_found
from .events import Event
from .hookspecs import hookimpl, hookspec
from .jobs import JobSpec, job
from .money import check_currency, to_major, to_minor
from .net import BlockedAddress, check_url_syntax, guarded_request, resolve_public
from .permissions import ROLES, SYSTEM, Actor
from .queries import matching_ids
from .runtime import Kith, current
from .search import SearchQuery, SearchSource
from .settings import Settings

# Signed tokens for links that leave Kith (rating links, unsubscribe links).
from .signing import sign_token, verify_token
from .tables import (
    Activity,
    Contact,
    ContactEmail,
    Deal,
    Lead,
    Organization,
    Pipeline,
    RecordTag,
    Stage,
    Tag,
    Task,
    Team,
    TeamMember,
    Ticket,
    User,
)
from .timeline import TimelinePosition
from .tokens import authenticate_token
from .verbs import (
    Invocation,
    Verb,
    VerbContext,
    parse_line,
    record_ref,
    split_line,
    usage_text,
    verb_error,
)
from .when import WhenError, parse_when

__version__ = "0.1.0"


async def run(name: str, payload: dict[str, Any] | None, actor: Actor) -> Any:
    """Run a command on the running Kith of this process (see :meth:`Kith.run`)."""
    return await current().run(name, payload, actor)


__all__ = [
    "ROLES",
    "SYSTEM",
    "ActionConfig",
    "ActionContext",
    "ActionSpec",
    "Activity",
    "Actor",
    "Bar",
    "BlockedAddress",
    "Clock",
    "CommandSpec",
    "Contact",
    "ContactEmail",
    "Context",
    "DashboardFilters",
    "DashboardWidget",
    "Deal",
    "Email",
    "Event",
    "EventSpec",
    "FieldError",
    "FrozenClock",
    "Input",
    "Invocation",
    "JobSpec",
    "Kith",
    "KithCache",
    "KithError",
    "Lead",
    "MergeReference",
    "Name",
    "Organization",
    "Pipeline",
    "RecordTag",
    "Ref",
    "SearchQuery",
    "SearchSource",
    "Settings",
    "Stage",
    "SystemClock",
    "Tag",
    "Task",
    "Team",
    "TeamMember",
    "Ticket",
    "TimelinePosition",
    "TriggerSpec",
    "User",
    "Verb",
    "VerbContext",
    "WhenError",
    "__version__",
    "authenticate_token",
    "automation_action",
    "check_currency",
    "check_url_syntax",
    "command",
    "commands_in",
    "current",
    "decrypt_secret",
    "encrypt_secret",
    "forbidden",
    "guarded_request",
    "hookimpl",
    "hookspec",
    "invalid",
    "job",
    "known_events",
    "matching_ids",
    "not_found",
    "parse_line",
    "parse_when",
    "record_ref",
    "register_entity",
    "resolve_public",
    "run",
    "sign_token",
    "split_line",
    "to_major",
    "to_minor",
    "usage_text",
    "verb_error",
    "verify_token",
]
