"""The plugin's jobs: one SLA watch per ticket, auto-close, the CSAT request."""

from __future__ import annotations

from typing import Any

import kith

from .csat import request_rating
from .desk import AUTO_CLOSE_JOB, CSAT_JOB, SLA_JOB, Desk
from .sla.watch import check


async def _desk(ctx: kith.Context, payload: dict[str, Any]) -> Desk | None:
    """The ticket of a job, or None when it is gone from service (archived, merged)."""
    ticket = await ctx.find_one(kith.Ticket, id=payload["ticket"])
    if ticket is None or ticket["archived_at"] is not None:
        return None
    try:
        return await Desk.load(ctx, ticket["id"])
    except kith.KithError as err:
        if err.code in ("merged", "archived"):
            return None
        raise


@kith.job(SLA_JOB, max_attempts=10, backoff_base_s=10)
async def watch_sla(ctx: kith.Context, payload: dict[str, Any]) -> None:
    """Announce the SLA warnings and breaches of a ticket that are due, run its escalation
    steps, and move this job to the ticket's next SLA moment."""
    desk = await _desk(ctx, payload)
    if desk is not None:
        await check(desk)


@kith.job(AUTO_CLOSE_JOB)
async def auto_close(ctx: kith.Context, payload: dict[str, Any]) -> None:
    """Close a ticket that stayed solved for the configured number of days."""
    desk = await _desk(ctx, payload)
    if desk is not None and desk.ticket["status"] == "solved":
        await desk.set_status("closed")
        await desk.save()


@kith.job(CSAT_JOB)
async def csat_request(ctx: kith.Context, payload: dict[str, Any]) -> None:
    """Ask the requester of a solved ticket for a rating (``ticket.csat_requested``)."""
    desk = await _desk(ctx, payload)
    if desk is not None and desk.ticket["status"] in ("solved", "closed"):
        await request_rating(ctx, desk)


JOBS = [watch_sla, auto_close, csat_request]
