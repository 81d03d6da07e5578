"""CCs, tags and links of a ticket.

Tags live in the core's ``tags`` / ``record_tags`` tables (entity ``ticket``), so the core's
tag search and any future tag commands see them. A tag name is trimmed and lower-cased.
"""

from __future__ import annotations

from typing import Any

import kith

from .refs import mark
from .tables import Cc, Link

# A link's kind says what the *other* ticket is to this one; each link is stored both ways.
REVERSE = {
    "related": "related",
    "duplicate": "duplicate",
    "follow_up": "follow_up_of",
    "follow_up_of": "follow_up",
    "merged": "merged",
}


async def ccs(ctx: kith.Context, ticket_id: int) -> list[str]:
    return [r["email"] for r in await ctx.select(Cc, ticket_id=ticket_id, order_by="id")]


async def add_cc(ctx: kith.Context, ticket_id: int, email: str) -> bool:
    if await ctx.find_one(Cc, ticket_id=ticket_id, email=email) is not None:
        return False
    hit = await ctx.find_one(kith.ContactEmail, email=email)
    await ctx.insert(
        Cc,
        {"ticket_id": ticket_id, "email": email, "contact_id": hit["contact_id"] if hit else None},
        record_history=False,
    )
    return True


async def remove_cc(ctx: kith.Context, ticket_id: int, email: str) -> bool:
    row = await ctx.find_one(Cc, ticket_id=ticket_id, email=email)
    if row is None:
        return False
    await ctx.delete(Cc, row["id"])
    return True


def tag_name(text: str) -> str:
    name = " ".join(text.split()).lower()
    if not name or len(name) > 100:
        raise ValueError("a tag is 1 to 100 characters")
    return name


async def tags(ctx: kith.Context, ticket_id: int) -> list[str]:
    sql = (
        'SELECT t."name" FROM "record_tags" r JOIN "tags" t ON t."id" = r."tag_id" '  # noqa: S608
        f'WHERE r."entity" = \'ticket\' AND r."record_id" = {mark(ctx)[0]} '
        'ORDER BY t."name"'
    )
    return [r["name"] for r in await ctx.fetch(sql, [ticket_id])]


async def add_tag(ctx: kith.Context, ticket_id: int, name: str) -> bool:
    tag = await ctx.find_one(kith.Tag, name=name)
    if tag is None:
        tag = await ctx.insert(kith.Tag, {"name": name}, record_history=False)
    link = await ctx.find_one(
        kith.RecordTag, tag_id=tag["id"], entity="ticket", record_id=ticket_id
    )
    if link is not None:
        return False
    await ctx.insert(
        kith.RecordTag,
        {"tag_id": tag["id"], "entity": "ticket", "record_id": ticket_id},
        record_history=False,
    )
    return True


async def remove_tag(ctx: kith.Context, ticket_id: int, name: str) -> bool:
    tag = await ctx.find_one(kith.Tag, name=name)
    if tag is None:
        return False
    link = await ctx.find_one(
        kith.RecordTag, tag_id=tag["id"], entity="ticket", record_id=ticket_id
    )
    if link is None:
        return False
    await ctx.delete(kith.RecordTag, link["id"])
    return True


async def retag(
    ctx: kith.Context, ticket_id: int, add: list[str], remove: list[str]
) -> dict[str, list[Any]]:
    """Add and remove tags; returns ``{"tags": [before, after]}`` (empty when unchanged)."""
    before = await tags(ctx, ticket_id)
    for name in add:
        await add_tag(ctx, ticket_id, name)
    for name in remove:
        await remove_tag(ctx, ticket_id, name)
    after = await tags(ctx, ticket_id)
    if before == after:
        return {}
    ctx.record_history("ticket", ticket_id, "tagged", {"tags": [before, after]})
    ctx.emit("ticket.tags_changed", "ticket", ticket_id, before=before, after=after)
    return {"tags": [before, after]}


async def link(ctx: kith.Context, ticket_id: int, other_id: int, kind: str) -> bool:
    """Link two tickets (both ways, one row each); False when they already are."""
    if await ctx.find_one(Link, ticket_id=ticket_id, other_id=other_id) is not None:
        return False
    await ctx.insert(
        Link, {"ticket_id": ticket_id, "other_id": other_id, "kind": kind}, record_history=False
    )
    reverse = REVERSE[kind]
    if await ctx.find_one(Link, ticket_id=other_id, other_id=ticket_id) is None:
        await ctx.insert(
            Link,
            {"ticket_id": other_id, "other_id": ticket_id, "kind": reverse},
            record_history=False,
        )
    ctx.record_history(
        "ticket", ticket_id, "linked", {"link": [None, {"ticket": other_id, "kind": kind}]}
    )
    ctx.record_history(
        "ticket", other_id, "linked", {"link": [None, {"ticket": ticket_id, "kind": reverse}]}
    )
    ctx.emit("ticket.linked", "ticket", ticket_id, other=other_id, kind=kind)
    return True


async def links(ctx: kith.Context, ticket_id: int) -> list[dict[str, Any]]:
    rows = await ctx.select(Link, ticket_id=ticket_id, order_by="id")
    return [{"ticket": r["other_id"], "kind": r["kind"]} for r in rows]
