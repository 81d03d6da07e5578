"""``email.refusals``: how many inbound messages were refused lately, and why (spoofed
command mail, unknown addresses, failed DKIM/SPF, strangers writing to log@…)."""

from __future__ import annotations

from datetime import timedelta

import kith
from pydantic import BaseModel, Field

from .tables import EmailMessage


class RefusalsIn(kith.Input):
    days: int = Field(7, ge=1, le=365)


class RefusalsOut(BaseModel):
    days: int
    total: int
    by_reason: dict[str, int]


@kith.command(
    "email.refusals",
    input=RefusalsIn,
    output=RefusalsOut,
    permission="email.admin",
    read_only=True,
)
async def refusals(ctx: kith.Context, data: RefusalsIn) -> RefusalsOut:
    """Inbound messages refused in the last ``days`` days, counted by reason."""
    st = ctx.kith.db.statements
    marks = st.placeholders(2)
    since = st.codec(EmailMessage).encode("created_at", ctx.now() - timedelta(days=data.days))
    rows = await ctx.fetch(
        'SELECT "error" AS reason, COUNT(*) AS n FROM "email_messages" '  # noqa: S608
        f'WHERE "status" = {marks[0]} AND "created_at" >= {marks[1]} GROUP BY "error"',
        ["refused", since],
    )
    by_reason = {str(r["reason"] or "unknown"): int(r["n"]) for r in rows}
    return RefusalsOut(days=data.days, total=sum(by_reason.values()), by_reason=by_reason)
