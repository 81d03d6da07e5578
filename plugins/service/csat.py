"""Customer satisfaction: a signed rating request after a solve, and the rating itself.

The request is an event (``ticket.csat_requested``) carrying two links, one per rating;
the email channel mails them. Mail scanners open every link, so a link only shows a page
(``csat.show``) whose form POSTs the rating (``csat.record``). Links are signed with the
installation's secret key (:func:`kith.sign_token`, purpose ``csat``) and expire.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import kith

from .settings import service_settings
from .tables import Csat

if TYPE_CHECKING:
    from .desk import Desk

PURPOSE = "csat"
RATINGS = ("good", "bad")


def sign(app: kith.Kith, survey_id: int, ticket_id: int, expires_at: datetime) -> str:
    """The token of a rating request."""
    return kith.sign_token(app, PURPOSE, {"s": survey_id, "t": ticket_id}, expires_at=expires_at)


def verify(app: kith.Kith, token: str, now: datetime) -> tuple[int, int]:
    """``(survey id, ticket id)`` of a valid token; ``invalid_token`` otherwise."""
    data = kith.verify_token(app, PURPOSE, token, now=now)
    try:
        return int(data["s"]), int(data["t"])
    except (KeyError, TypeError, ValueError):
        raise kith.KithError(
            "invalid_token",
            "This link is not a rating link.",
            [kith.FieldError("token", "is not a rating link", "invalid_token")],
        ) from None


def links(base_url: str, token: str) -> dict[str, str]:
    """One link per rating: ``<csat_url>/<token>?rating=good``."""
    base = base_url.rstrip("/")
    return {r: f"{base}/{quote(token, safe='.')}?rating={r}" for r in RATINGS}


async def request_rating(ctx: kith.Context, desk: Desk) -> dict[str, Any] | None:
    """Create the rating request of a solved ticket (once) and emit it."""
    if await ctx.find_one(Csat, ticket_id=desk.id) is not None:
        return None
    requester = (
        await ctx.find_one(kith.Contact, id=desk.ticket["requester_id"])
        if desk.ticket["requester_id"] is not None
        else None
    )
    if requester is None or not requester.get("email"):
        return None
    now = ctx.now()
    row = await ctx.insert(
        Csat,
        {
            "ticket_id": desk.id,
            "requester_id": requester["id"],
            "agent_id": desk.ticket["assignee_id"],
            "team_id": desk.ticket["team_id"],
            "requested_at": now,
        },
        record_history=False,
    )
    settings = service_settings(ctx)
    expires = now + timedelta(days=settings.csat_link_days)
    token = sign(ctx.kith, row["id"], desk.id, expires)
    ctx.record_history("ticket", desk.id, "csat_requested", {"survey": [None, row["id"]]})
    ctx.emit(
        "ticket.csat_requested",
        "ticket",
        desk.id,
        survey=row["id"],
        to=requester["email"],
        requester=requester["name"],
        subject=desk.ticket["subject"],
        token=token,
        links=links(settings.csat_url, token),
        expires_at=expires,
    )
    return row


def month_of(at: datetime) -> str:
    return at.strftime("%Y-%m")
