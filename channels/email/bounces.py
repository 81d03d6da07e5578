"""Hard bounces: the failed address is marked undeliverable on its contact."""

from __future__ import annotations

import kith
from pydantic import BaseModel, Field


class Bounce(kith.Input):
    address: kith.Email
    status: str = Field("5.0.0", max_length=20, description="The DSN status, e.g. 5.1.1")


class BounceOut(BaseModel):
    contact: int | None
    undeliverable: bool


@kith.command("email.bounce", input=Bounce, output=BounceOut, permission="email.admin")
async def bounce(ctx: kith.Context, data: Bounce) -> BounceOut:
    """Record a delivery failure: a permanent one (status 5.x.x) marks the contact's address
    undeliverable (recorded in the contact's history); a temporary one changes nothing."""
    row = await ctx.find_one(kith.ContactEmail, email=data.address)
    if row is None:
        return BounceOut(contact=None, undeliverable=False)
    if not data.status.startswith("5"):
        return BounceOut(contact=row["contact_id"], undeliverable=bool(row["undeliverable"]))
    if not row["undeliverable"]:
        await ctx.update(kith.ContactEmail, row, {"undeliverable": True}, record_history=False)
        ctx.record_history(
            "contact",
            row["contact_id"],
            "email_undeliverable",
            {"undeliverable": [None, data.address], "status": [None, data.status]},
        )
    return BounceOut(contact=row["contact_id"], undeliverable=True)
