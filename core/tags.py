"""Tags: free labels on any record (``vip``, ``renewal-2027``), filterable in every list.

``tag.add {"entity": "contact", "record": 7, "tag": "vip"}`` creates the tag the first time it
is used. Tag names are trimmed, lower-cased and single-spaced, so ``VIP`` and ``vip`` are one
tag. Adding or removing a tag is recorded in the record's history.
"""

# SQL here is assembled from quoted identifiers of table metadata and Params placeholders;
# every value is a bound parameter (S608 cannot see that).
# ruff: noqa: S608

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, field_validator

from .commands import command
from .db.params import Params
from .entities._common import Input, Ref, entities
from .errors import invalid
from .tables import RecordTag, Tag

if TYPE_CHECKING:
    from .context import Context

MAX_TAG = 50
_BAD = re.compile(r"[\x00-\x1f\x7f,]")


def normalise_tag(value: str) -> str:
    """``"  VIP  customer "`` → ``"vip customer"``."""
    name = " ".join(value.split()).lower()
    if not name:
        raise ValueError("give a tag name")
    if len(name) > MAX_TAG:
        raise ValueError(f"must be at most {MAX_TAG} characters")
    if _BAD.search(name):
        raise ValueError("cannot contain commas or control characters")
    return name


async def tags_of(ctx: Context, entity: str, ids: list[int]) -> dict[int, list[str]]:
    """Tag names of each record, sorted."""
    if not ids:
        return {}
    p = Params(ctx.kith.db.dialect)
    rows = await ctx.fetch(
        'SELECT rt."record_id" AS record_id, t."name" AS name FROM "record_tags" rt '
        'JOIN "tags" t ON t."id" = rt."tag_id" '
        f'WHERE rt."entity" = {p(entity)} AND rt."record_id" IN {p.many(ids)} '
        'ORDER BY t."name"',
        p.values,
    )
    out: dict[int, list[str]] = {}
    for r in rows:
        out.setdefault(r["record_id"], []).append(r["name"])
    return out


async def attach_tags(ctx: Context, entity: str, rows: list[dict[str, Any]]) -> None:
    """Set ``tags`` on each output row (one query for all of them)."""
    found = await tags_of(ctx, entity, [r["id"] for r in rows if "id" in r])
    for r in rows:
        r["tags"] = found.get(r.get("id"), [])


class TagChange(Input):
    entity: str = Field(description="contact, organization, deal, lead, ticket…")
    record: Ref = Field(description="The record: id or name")
    tag: str = Field(description="The tag, e.g. 'vip'")

    _tag = field_validator("tag")(normalise_tag)


class TagList(Input):
    entity: str | None = Field(None, description="Only tags used on this entity")


class RecordTagsOut(BaseModel):
    entity: str
    record: int
    tags: list[str]


class TagOut(BaseModel):
    name: str
    records: int


class TagListOut(BaseModel):
    items: list[TagOut]


def _entity(name: str) -> Any:
    known = entities()
    if name not in known:
        raise invalid(
            "entity", f"{name!r} is not an entity; choose from {', '.join(sorted(known))}"
        )
    return known[name]


async def _change(ctx: Context, data: TagChange, add: bool) -> dict[str, Any]:
    e = _entity(data.entity)
    row = await e.resolve(ctx, data.record, field="record", for_update=True)
    before = (await tags_of(ctx, e.name, [row["id"]])).get(row["id"], [])
    tag = await ctx.find_one(Tag, name=data.tag)
    if add and data.tag not in before:
        if tag is None:
            tag = await ctx.insert(Tag, {"name": data.tag}, record_history=False)
        await ctx.insert(
            RecordTag,
            {"tag_id": tag["id"], "entity": e.name, "record_id": row["id"]},
            record_history=False,
        )
        after = sorted([*before, data.tag])
    elif not add and data.tag in before and tag is not None:
        link = await ctx.find_one(RecordTag, tag_id=tag["id"], entity=e.name, record_id=row["id"])
        if link is not None:
            await ctx.delete(RecordTag, link["id"])
        after = [t for t in before if t != data.tag]
    else:
        return {"entity": e.name, "record": row["id"], "tags": before}
    ctx.record_history(
        e.name, row["id"], "tagged" if add else "untagged", {"tags": [before, after]}
    )
    ctx.emit("tag.added" if add else "tag.removed", e.name, row["id"], tag=data.tag)
    return {"entity": e.name, "record": row["id"], "tags": after}


@command("tag.add", input=TagChange, output=RecordTagsOut, permission="tags.write", idempotent=True)
async def add_tag(ctx: Context, data: TagChange) -> dict[str, Any]:
    """Tag a record, e.g. ``{"entity": "contact", "record": 7, "tag": "vip"}``. The tag is
    created on first use; tagging twice changes nothing."""
    return await _change(ctx, data, add=True)


@command(
    "tag.remove", input=TagChange, output=RecordTagsOut, permission="tags.write", idempotent=True
)
async def remove_tag(ctx: Context, data: TagChange) -> dict[str, Any]:
    """Remove a tag from a record (nothing happens if the record does not have it)."""
    return await _change(ctx, data, add=False)


@command("tag.list", input=TagList, output=TagListOut, permission="tags.read", read_only=True)
async def list_tags(ctx: Context, data: TagList) -> dict[str, Any]:
    """List the tags in use, with how many records carry each."""
    p = Params(ctx.kith.db.dialect)
    where = ""
    if data.entity is not None:
        where = f'WHERE rt."entity" = {p(_entity(data.entity).name)} '
    rows = await ctx.fetch(
        'SELECT t."name" AS name, COUNT(rt."id") AS records FROM "tags" t '
        f'LEFT JOIN "record_tags" rt ON rt."tag_id" = t."id" {where}'
        'GROUP BY t."name" ORDER BY t."name"',
        p.values,
    )
    return {"items": [r for r in rows if r["records"] or data.entity is None]}


COMMANDS = [add_tag, remove_tag, list_tags]
