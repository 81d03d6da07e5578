"""``contact.erase``: the right to erasure (GDPR art. 17) for one person.

What identifies the person is scrubbed everywhere Kith keeps it, in one transaction: the
contact's personal fields (the record stays as a tombstone, archived, so counts, deals and
reports keep adding up), their email addresses, the subjects and bodies of their
activities, the before/after values of their history and of their activities' history,
merge snapshots and duplicate pairs that involve them. Plugins scrub what they hold through
``kith_erase_contact`` (mail bodies and raw messages, webhook payloads, automation run logs,
consent proof and form submissions...). What stays: ids, dates, kinds, amounts, counts.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..commands import CommandSpec, command
from ..context import Context
from ..entities._common import Input
from ..errors import invalid, not_found
from ..tables import Activity, Contact, ContactEmail, DuplicatePair, History, MergeRecord

ERASED = "(erased)"
SCRUBBED = {"erased": [None, True]}


class EraseIn(Input):
    contact: int
    confirm: str = Field(description="Type the contact's id again: erasure cannot be undone")


class EraseOut(BaseModel):
    contact: int
    addresses: int
    activities: int
    history_rows: int


async def _scrub_history(ctx: Context, entity: str, ids: list[int]) -> int:
    if not ids:
        return 0
    st = ctx.kith.db.statements
    codec = st.codec(History)
    marks = st.placeholders(2 + len(ids))
    rows = await ctx.fetch(
        f'UPDATE "history" SET "changes" = {marks[0]} WHERE "entity" = {marks[1]} '  # noqa: S608
        f'AND "entity_id" IN ({", ".join(marks[2:])}) RETURNING "id"',
        [codec.encode("changes", SCRUBBED), entity, *ids],
    )
    return len(rows)


@command(
    "contact.erase", input=EraseIn, output=EraseOut, permission="contacts.admin", destructive=True
)
async def erase(ctx: Context, data: EraseIn) -> EraseOut:
    """Erase everything that identifies a person (GDPR): personal fields, addresses,
    activity and mail text, history values, plugin data; the record stays as an archived
    tombstone so counts and reports still add up. Cannot be undone."""
    if data.confirm.strip().lstrip("#") != str(data.contact):
        raise invalid("confirm", f"type the contact's id ({data.contact}) to confirm")
    contact = await ctx.find_one(Contact, id=data.contact)
    if contact is None:
        raise not_found("contact", data.contact, "contact")
    emails = await ctx.select(ContactEmail, contact_id=data.contact)
    addresses = sorted(
        {e["email"] for e in emails} | ({contact["email"]} if contact["email"] else set())
    )
    for row in emails:
        await ctx.delete(ContactEmail, row["id"])
    tombstone: dict[str, Any] = {
        "name": f"Erased contact #{data.contact}",
        "email": None,
        "phone": None,
        "title": None,
        "custom": {},
        "consent": {},
    }
    if contact["archived_at"] is None:
        tombstone["archived_at"] = ctx.now()
    await ctx.update(Contact, contact, tombstone, record_history=False)
    activities = await ctx.select(Activity, contact_id=data.contact)
    for act in activities:
        await ctx.update(
            Activity, act, {"subject": ERASED, "body": ERASED, "custom": {}}, record_history=False
        )
    scrubbed = await _scrub_history(ctx, "contact", [data.contact])
    scrubbed += await _scrub_history(ctx, "activity", [a["id"] for a in activities])
    for field in ("survivor_id", "loser_id"):
        for merge in await ctx.select(MergeRecord, entity="contact", **{field: data.contact}):
            await ctx.update(
                MergeRecord,
                merge,
                {"changes": SCRUBBED, "kept": [], "moved": []},
                record_history=False,
            )
    for field in ("record_id", "other_id"):
        for pair in await ctx.select(DuplicatePair, entity="contact", **{field: data.contact}):
            await ctx.delete(DuplicatePair, pair["id"])
    await ctx.kith.hooks.erase_contact(ctx, data.contact, addresses)
    ctx.record_history("contact", data.contact, "erased", {"erased": [None, True]})
    ctx.emit("contact.erased", "contact", data.contact)
    return EraseOut(
        contact=data.contact,
        addresses=len(addresses),
        activities=len(activities),
        history_rows=scrubbed,
    )


COMMANDS: list[CommandSpec] = [erase]
