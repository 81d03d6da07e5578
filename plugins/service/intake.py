"""A new ticket enters service: organization by domain, routing, SLA policy and calendar,
clocks started at the ticket's creation.

Runs in the command that creates the ticket through the plugin (``ticket.customer_message``)
and, for tickets made with the core's ``ticket.create``, in ``ticket.intake`` right after
the ``ticket.created`` event. It is idempotent: a ticket enters service once.
"""

from __future__ import annotations

from typing import Any

import kith

from .assignment import route
from .refs import lock_row, mark
from .settings import service_settings
from .sla.clocks import new_clocks, sync
from .sla.engine import TicketSla, load_calendar, load_policy
from .tables import Calendar, SlaPolicy, TeamSettings, TicketState


async def organization_tier(ctx: kith.Context, organization_id: int | None) -> str | None:
    if organization_id is None:
        return None
    org = await ctx.find_one(kith.Organization, id=organization_id)
    if org is None:
        return None
    tier = (org.get("custom") or {}).get(service_settings(ctx).tier_field)
    return str(tier).strip().lower() if tier else None


async def choose_policy(ctx: kith.Context, ticket: dict[str, Any]) -> int | None:
    """The first active policy (by position) whose tier is the organization's, or any."""
    tier = await organization_tier(ctx, ticket["organization_id"])
    sql = (
        'SELECT "id", "tier" FROM "service_sla_policies" WHERE "archived_at" IS NULL '
        'ORDER BY "position", "id"'
    )
    for row in await ctx.fetch(sql):
        if row["tier"] is None or (tier is not None and row["tier"].lower() == tier):
            return int(row["id"])
    return None


async def choose_calendar(
    ctx: kith.Context, ticket: dict[str, Any], policy_id: int | None
) -> int | None:
    """The team's calendar, else the policy's, else the default calendar (else none)."""
    if ticket["team_id"] is not None:
        team = await ctx.find_one(TeamSettings, team_id=ticket["team_id"])
        if team is not None and team["calendar_id"] is not None:
            return int(team["calendar_id"])
    if policy_id is not None:
        policy = await ctx.find_one(SlaPolicy, id=policy_id)
        if policy is not None and policy["calendar_id"] is not None:
            return int(policy["calendar_id"])
    default = await ctx.find_one(Calendar, is_default=True)
    return int(default["id"]) if default is not None and default["archived_at"] is None else None


async def _organization_by_domain(ctx: kith.Context, ticket: dict[str, Any]) -> int | None:
    """The organization whose domain is the requester's email domain."""
    if ticket["requester_id"] is None:
        return None
    contact = await ctx.find_one(kith.Contact, id=ticket["requester_id"])
    if contact is None:
        return None
    if contact["organization_id"] is not None:
        return int(contact["organization_id"])
    email = contact.get("email") or ""
    if "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].lower()
    sql = (
        f'SELECT "id" FROM "organizations" WHERE "domain" = {mark(ctx)[0]} '  # noqa: S608
        'AND "archived_at" IS NULL'
    )
    rows = await ctx.fetch(sql, [domain])
    if not rows:
        return None
    org_id = int(rows[0]["id"])
    await ctx.run("contact.update", {"contact": contact["id"], "organization": org_id})
    return org_id


async def intake(ctx: kith.Context, number: int) -> Any:
    """Bring ticket ``number`` into service (once); returns its :class:`Desk`."""
    from .desk import Desk

    ticket = await lock_row(ctx, kith.Ticket, number, "ticket")
    state = await ctx.find_one(TicketState, ticket_id=number)
    if state is not None:
        return Desk(ctx, ticket, state, await TicketSla.load(ctx, state))
    if ticket["organization_id"] is None:
        org_id = await _organization_by_domain(ctx, ticket)
        if org_id is not None:
            ticket, _ = await ctx.update(kith.Ticket, ticket, {"organization_id": org_id})
    policy_id = await choose_policy(ctx, ticket)
    state = await ctx.insert(
        TicketState, {"ticket_id": number, "policy_id": policy_id}, record_history=False
    )
    policy = await load_policy(ctx, policy_id)
    sla = TicketSla(policy, await load_calendar(ctx, None), new_clocks())
    desk = Desk(ctx, ticket, state, sla)
    if ticket["assignee_id"] is None:
        await route(ctx, desk)
    calendar_id = await choose_calendar(ctx, desk.ticket, policy_id)
    desk.sla.calendar = await load_calendar(ctx, calendar_id)
    desk.pending["calendar_id"] = calendar_id
    started = ticket["created_at"]
    for metric in ("first_response", "resolution"):
        desk.sla.clocks[metric].start(started)
    desk.sla.retarget(desk.ticket["priority"])
    sync(desk.sla.clocks, desk.calendar, desk.ticket["status"], started)
    if policy_id is not None:
        ctx.record_history("ticket", number, "sla_started", {"sla_policy": [None, policy.name]})
    await desk.save()
    return desk
