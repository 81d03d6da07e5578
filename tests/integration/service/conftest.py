"""A support desk to test the service plugin with: a team, agents, a calendar, policies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import kith
import pytest
from kith.settings import PluginsFile

# Wednesday 2026-01-07 08:47 in Paris (UTC+1 in winter).
WEDNESDAY_0847 = datetime(2026, 1, 7, 7, 47, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def kith_plugins_file() -> PluginsFile:
    """New tickets go to the Support team unless a rule says otherwise."""
    return PluginsFile(settings={"service": {"default_team": "Support"}})


@dataclass
class Desk:
    chloe: kith.Actor
    dan: kith.Actor
    ben: kith.Actor
    team: Any
    calendar: Any
    policy: Any
    org: Any
    jane: Any


@pytest.fixture
async def desk(run_command, make_actor, clock) -> Desk:
    """Support team (Chloé, Dan; lead Ben) in Paris business hours, a Gold policy for
    Initech (tier gold) and a Standard policy for everyone else."""
    chloe = await make_actor("agent", email="chloe@kith.example", name="Chloé Martin")
    dan = await make_actor("agent", email="dan@kith.example", name="Dan Brown")
    ben = await make_actor("manager", email="ben@kith.example", name="Ben Boss")
    team = await run_command(
        "team.create",
        {"name": "Support", "lead": ben.user_id, "members": [chloe.user_id, dan.user_id]},
    )
    calendar = await run_command(
        "calendar.create",
        {"name": "Paris office", "time_zone": "Europe/Paris", "hours": {"mon-fri": "09:00-18:00"}},
    )
    await run_command("service_team.configure", {"team": "Support", "calendar": "Paris office"})
    policy = await run_command(
        "sla_policy.create",
        {
            "name": "Gold",
            "tier": "gold",
            "position": 1,
            "targets": {
                "normal": {"first_response": "1h", "next_response": "2h", "resolution": "8h"},
                "high": {"first_response": "30m", "next_response": "1h", "resolution": "4h"},
                "urgent": {"first_response": "15m", "next_response": "30m", "resolution": "2h"},
                "low": {"first_response": "4h", "resolution": "40h"},
            },
        },
    )
    await run_command(
        "sla_policy.create",
        {
            "name": "Standard",
            "position": 2,
            "targets": {
                p: {"first_response": "8h", "resolution": "40h"}
                for p in ("low", "normal", "high", "urgent")
            },
        },
    )
    await run_command(
        "custom_field.define",
        {
            "entity": "organization",
            "key": "tier",
            "label": "Support tier",
            "type": "choice",
            "options": ["Gold", "Silver"],
        },
    )
    org = await run_command(
        "organization.create",
        {"name": "Initech", "domain": "initech.io", "custom": {"tier": "Gold"}},
    )
    jane = await run_command(
        "contact.create", {"name": "Jane Roe", "email": "jane@initech.io", "organization": org.id}
    )
    return Desk(chloe, dan, ben, team, calendar, policy, org, jane)


def named(events: list[kith.Event], name: str) -> list[kith.Event]:
    return [e for e in events if e.name == name]


async def scheduled(kith_app, name: str = "service.sla") -> list[dict]:
    """Scheduled jobs of one kind (the SLA engine keeps at most one per ticket)."""
    mark = kith_app.db.statements.placeholders(1)[0]
    return await kith_app.db.fetch(
        f'SELECT * FROM "jobs" WHERE "name" = {mark} AND "status" = \'scheduled\'', [name]
    )


async def open_ticket(run_command, **fields: Any) -> Any:
    """A ticket from Jane at Initech (Gold), as the email channel would open it."""
    payload = {
        "from": "jane@initech.io",
        "subject": "Invoices page shows a 500 error",
        "body": "Help",
    }
    payload.update(fields)
    return (await run_command("ticket.customer_message", payload)).ticket


WATCHED = (
    "tickets",
    "history",
    "outbox_events",
    "jobs",
    "service_messages",
    "service_ticket_state",
    "service_calendars",
    "service_holidays",
    "service_sla_policies",
    "service_macros",
    "service_csat",
    "service_ccs",
    "service_links",
    "record_tags",
)


async def snapshot(kith_app) -> dict[str, Any]:
    """Row counts and the latest history id of the tables a service command writes."""
    from kith.testing import count_rows

    out: dict[str, Any] = {t: await count_rows(kith_app, t) for t in WATCHED}
    rows = await kith_app.db.fetch(
        'SELECT "status", "priority", "assignee_id", "team_id" FROM "tickets" ORDER BY "id"'
    )
    out["tickets_rows"] = rows
    return out
