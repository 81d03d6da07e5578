"""Merging two records into one, and undoing it within 30 days.

``contact.merge``, ``organization.merge`` and ``deal.merge`` take a ``survivor`` and a
``loser``. Each field keeps the survivor's value, filled from the loser where the survivor's
is empty (``prefer`` takes the loser's value for the fields it names; custom fields merge key
by key; a contact's lifecycle stage keeps the further one). Every row pointing at the loser
moves to the survivor — the core's references and every plugin's
(``kith_merge_references``) — and a contact's addresses become the survivor's secondary
addresses. The loser is archived. One history entry on each side, one ``*.merged`` event,
and a ``merges`` row that remembers what changed and which rows moved.

``<entity>.unmerge`` (within 30 days) restores the loser, moves back the rows that still
point at the survivor, and reverts the survivor's fields the merge changed — unless they
were edited since: those keep their new value, and the undo reports each such conflict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from ..commands import CommandSpec, command
from ..context import Context
from ..entities._common import Entity, Input, Ref
from ..entities.people import CONTACT, ORGANIZATION
from ..entities.sales import DEAL
from ..errors import FieldError, KithError, not_found
from ..history import jsonable
from ..tables import ContactEmail, DuplicatePair, MergeRecord
from .merge_refs import MergeReference
from .sql import bind, column, typed

UNDO_WINDOW = timedelta(days=30)
LIFECYCLE_ORDER = ["subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist"]
TYPED_REF = re.compile(
    r"^\s*(contact|organization|org|deal|lead|ticket|task|activity)\s*[:#\s]\s*#?(\d+)\s*$", re.I
)


@dataclass(frozen=True)
class Mergeable:
    entity: Entity
    fields: tuple[str, ...]


MERGEABLE = {
    "contact": Mergeable(
        CONTACT,
        (
            "name",
            "email",
            "phone",
            "title",
            "organization_id",
            "owner_id",
            "lifecycle_stage",
            "consent",
            "custom",
        ),
    ),
    "organization": Mergeable(
        ORGANIZATION, ("name", "domain", "industry", "size", "country", "owner_id", "custom")
    ),
    "deal": Mergeable(
        DEAL,
        ("title", "value", "contact_id", "organization_id", "owner_id", "expected_close", "custom"),
    ),
}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def _ref(entity: str, value: Any, field: str) -> Any:
    """``"organization:3"`` given where a contact is expected is a clear error."""
    if isinstance(value, str):
        m = TYPED_REF.match(value)
        if m:
            kind = "organization" if m.group(1).lower() == "org" else m.group(1).lower()
            if kind != entity:
                message = f"{entity}.merge merges two {entity}s; {field} is a {kind} ({value})"
                raise KithError(
                    "invalid_input", message, [FieldError(field, message, "wrong_entity")]
                )
            return int(m.group(2))
    return value


def choose(
    kind: str, survivor: dict[str, Any], loser: dict[str, Any], prefer: dict[str, str]
) -> dict[str, Any]:
    """The survivor's new values: its own, filled or overridden from the loser's."""
    out: dict[str, Any] = {}
    for name in MERGEABLE[kind].fields:
        if name == "value":
            take = prefer.get("value") == "loser" or survivor["value_minor"] == 0
            if take and loser["value_minor"]:
                out["value_minor"], out["currency"] = loser["value_minor"], loser["currency"]
            continue
        mine, theirs = survivor.get(name), loser.get(name)
        if name in ("custom", "consent"):
            merged = (
                {**(mine or {}), **(theirs or {})}
                if prefer.get(name) == "loser"
                else {**(theirs or {}), **(mine or {})}
            )
            out[name] = merged
        elif name == "lifecycle_stage" and name not in prefer:
            rank = {s: i for i, s in enumerate(LIFECYCLE_ORDER)}
            if rank.get(theirs, -1) > rank.get(mine, -1):
                out[name] = theirs
        elif _empty(theirs):
            continue
        elif prefer.get(name) == "loser" or _empty(mine):
            out[name] = theirs
    return out


async def references(ctx: Context, kind: str) -> list[MergeReference]:
    return [ref for _, ref in ctx.kith.hooks.merge_references(kind)]


async def _move(
    ctx: Context, ref: MergeReference, kind: str, source: int, target: int
) -> tuple[list[int], list[int]]:
    """Point ``ref``'s rows from ``source`` to ``target``: (moved ids, kept ids)."""
    st = ctx.kith.db.statements
    table = ref.table._meta.tablename
    col = column(ref.table, ref.column)
    where = f"{col} = ?"
    params: list[Any] = [target, source]
    if ref.entity_column:
        where += f" AND {column(ref.table, ref.entity_column)} = ?"
        params.append(kind)
    guard = ""
    if ref.unique_with:
        same = " AND ".join(
            f'o.{column(ref.table, c)} = "{table}".{column(ref.table, c)}' for c in ref.unique_with
        )
        twin = f"o.{col} = ?"
        guard_params: list[Any] = [target]
        if ref.entity_column:
            twin += f" AND o.{column(ref.table, ref.entity_column)} = ?"
            guard_params.append(kind)
        guard = f' AND NOT EXISTS (SELECT 1 FROM "{table}" AS o WHERE {twin} AND {same})'  # noqa: S608
        params.extend(guard_params)
    moved = await ctx.fetch(
        bind(st, f'UPDATE "{table}" SET {col} = ? WHERE {where}{guard} RETURNING "id"'),  # noqa: S608
        params,
    )
    kept = await ctx.fetch(
        bind(st, f'SELECT "id" FROM "{table}" WHERE {where}'),  # noqa: S608
        params[1 : 3 if ref.entity_column else 2],
    )
    return sorted(r["id"] for r in moved), sorted(r["id"] for r in kept)


async def _move_emails(ctx: Context, survivor: dict, loser: dict) -> dict[str, Any]:
    st = ctx.kith.db.statements
    rows = await ctx.fetch(
        bind(
            st,
            'UPDATE "contact_emails" SET "contact_id" = ?, "is_primary" = ? '
            'WHERE "contact_id" = ? RETURNING "id", "email", "is_primary"',
        ),
        [survivor["id"], st.codec(ContactEmail).encode("is_primary", False), loser["id"]],
    )
    moved = sorted(r["id"] for r in rows)
    loser_primary = next((r["id"] for r in rows if r["email"] == loser.get("email")), None)
    return {
        "table": "contact_emails",
        "ids": moved,
        "primary": loser_primary,
        "emails": sorted(r["email"] for r in rows),
    }


class MergeOut(BaseModel):
    merge: int
    survivor: dict[str, Any]
    loser: int
    changes: dict[str, list[Any]]
    moved: dict[str, int]
    kept: dict[str, int]


class UnmergeOut(BaseModel):
    merge: int
    survivor: dict[str, Any]
    loser: dict[str, Any]
    conflicts: list[dict[str, Any]]


async def merge_records(ctx: Context, kind: str, data: Any) -> dict[str, Any]:
    spec = MERGEABLE[kind]
    e = spec.entity
    survivor_ref = _ref(kind, data.survivor, "survivor")
    loser_ref = _ref(kind, data.loser, "loser")
    survivor = await e.resolve(ctx, survivor_ref, field="survivor", for_update=True)
    loser = await e.resolve(ctx, loser_ref, field="loser")
    if survivor["id"] == loser["id"]:
        message = f"a {kind} cannot be merged with itself (#{survivor['id']})"
        raise KithError("invalid_input", message, [FieldError("loser", message, "same_record")])
    if loser.get("archived_at") is not None:
        message = f"{kind} #{loser['id']} is archived (merged already?); restore it first"
        raise KithError("archived", message, [FieldError("loser", message, "archived")], 409)
    unknown = set(data.prefer) - set(spec.fields)
    if unknown:
        name = sorted(unknown)[0]
        raise KithError(
            "invalid_input",
            f"prefer: {name!r} is not a field a {kind} merge chooses ({', '.join(spec.fields)})",
            [FieldError(f"prefer.{name}", "not a mergeable field", "unknown_field")],
        )
    values = choose(kind, survivor, loser, data.prefer)
    loser_changes: dict[str, Any] = {}
    if kind == "organization" and values.get("domain") and values["domain"] == loser["domain"]:
        loser, loser_changes = await ctx.update(
            e.table, loser, {"domain": None}, record_history=False
        )
    moved: list[dict[str, Any]] = []
    moved_counts: dict[str, int] = {}
    kept_counts: dict[str, int] = {}
    if kind == "contact":
        emails = await _move_emails(ctx, survivor, loser)
        moved.append(emails)
        moved_counts["contact_emails"] = len(emails["ids"])
        if survivor.get("email") is None and emails["primary"] is not None:
            values["email"] = loser["email"]
            await ctx.fetch(
                bind(
                    ctx.kith.db.statements,
                    'UPDATE "contact_emails" SET "is_primary" = ? WHERE "id" = ?',
                ),
                [
                    ctx.kith.db.statements.codec(ContactEmail).encode("is_primary", True),
                    emails["primary"],
                ],
            )
        elif "email" in values:
            del values["email"]
    for ref in await references(ctx, kind):
        ids, kept = await _move(ctx, ref, kind, loser["id"], survivor["id"])
        if ids:
            moved.append(
                {
                    "table": ref.table._meta.tablename,
                    "column": ref.column,
                    "entity_column": ref.entity_column,
                    "ids": ids,
                }
            )
            moved_counts[ref.label] = moved_counts.get(ref.label, 0) + len(ids)
        if kept:
            kept_counts[ref.label] = len(kept)
    survivor, changes = await ctx.update(e.table, survivor, values, record_history=False)
    now = ctx.now()
    loser, _ = await ctx.update(e.table, loser, {"archived_at": now}, record_history=False)
    if kind == "contact" and moved[0]["emails"]:
        changes = {**changes, "emails": [None, moved[0]["emails"]]}
    ctx.record_history(kind, survivor["id"], "merged", {**changes, "merged": [None, loser["id"]]})
    ctx.record_history(
        kind,
        loser["id"],
        "merged",
        {
            **loser_changes,
            "merged_into": [None, survivor["id"]],
            "archived_at": [None, jsonable(now)],
        },
    )
    record = await ctx.insert(
        MergeRecord,
        {
            "entity": kind,
            "survivor_id": survivor["id"],
            "loser_id": loser["id"],
            "changes": {
                "survivor": {k: v for k, v in changes.items() if k != "emails"},
                "loser": loser_changes,
            },
            "moved": moved,
            "kept": [{"reference": k, "count": v} for k, v in kept_counts.items()],
            "actor": ctx.actor.label[:100],
            "actor_user_id": ctx.actor.user_id,
        },
        record_history=False,
    )
    await _close_pairs(ctx, kind, survivor["id"], loser["id"])
    ctx.emit(
        f"{kind}.merged",
        kind,
        survivor["id"],
        survivor=survivor["id"],
        loser=loser["id"],
        merge=record["id"],
        changes=changes,
        moved=moved_counts,
    )
    out = await e.present(ctx, survivor)
    return {
        "merge": record["id"],
        "survivor": e.output.model_validate(out).model_dump(mode="json"),
        "loser": loser["id"],
        "changes": changes,
        "moved": moved_counts,
        "kept": kept_counts,
    }


async def _close_pairs(ctx: Context, kind: str, a: int, b: int) -> None:
    low, high = sorted((a, b))
    pair = await ctx.find_one(DuplicatePair, entity=kind, record_id=low, other_id=high)
    if pair is not None and pair["status"] != "merged":
        await ctx.update(
            DuplicatePair, pair, {"status": "merged", "updated_at": ctx.now()}, record_history=False
        )


async def _merge_row(ctx: Context, kind: str, data: Any) -> dict[str, Any]:
    if data.merge is not None:
        row = await ctx.find_one(MergeRecord, id=data.merge)
        if row is None or row["entity"] != kind:
            raise not_found(f"{kind} merge", data.merge, "merge")
        return row
    ref = getattr(data, kind)
    if ref is None:
        raise KithError(
            "invalid_input",
            f"Say which merge to undo: the merged {kind} (the loser) or the merge's id.",
            [FieldError(kind, "give the merged record or the merge id", "missing")],
        )
    loser = await MERGEABLE[kind].entity.resolve(ctx, _ref(kind, ref, kind), field=kind)
    rows = await ctx.select(
        MergeRecord, order_by="id", descending=True, entity=kind, loser_id=loser["id"]
    )
    rows = [r for r in rows if r["undone_at"] is None]
    if not rows:
        raise KithError(
            "not_found",
            f"{kind.capitalize()} #{loser['id']} was not merged into another (or the merge was "
            "undone already).",
            [FieldError(kind, "no merge to undo", "not_found")],
            status=404,
        )
    return rows[0]


async def unmerge_records(ctx: Context, kind: str, data: Any) -> dict[str, Any]:
    e = MERGEABLE[kind].entity
    st = ctx.kith.db.statements
    record = await _merge_row(ctx, kind, data)
    if record["undone_at"] is not None:
        raise KithError("conflict", f"Merge #{record['id']} was undone already.", status=409)
    if ctx.now() - record["created_at"] > UNDO_WINDOW:
        raise KithError(
            "undo_expired",
            f"Merge #{record['id']} is older than 30 days and can no longer be undone.",
            status=409,
        )
    survivor = await ctx.get(e.table, record["survivor_id"], field="survivor", for_update=True)
    loser = await ctx.get(e.table, record["loser_id"], field="loser")
    conflicts: list[dict[str, Any]] = []
    revert: dict[str, Any] = {}
    for name, (before, after) in record["changes"].get("survivor", {}).items():
        now_value = jsonable(survivor.get(name))
        if now_value == after:
            revert[name] = typed(e.table, name, before)
        else:
            conflicts.append(
                {
                    "field": name,
                    "merged": after,
                    "now": now_value,
                    "before": before,
                    "reason": "edited since the merge; the new value stays",
                }
            )
    for move in record["moved"]:
        table = move["table"]
        if not move["ids"]:
            continue
        marks = ", ".join("?" for _ in move["ids"])
        if table == "contact_emails":
            back = await ctx.fetch(
                bind(
                    st,
                    f'UPDATE "contact_emails" SET "contact_id" = ?, "is_primary" = '  # noqa: S608
                    f'("id" = ?) WHERE "contact_id" = ? AND "id" IN ({marks}) RETURNING "id"',
                ),
                [loser["id"], move["primary"] or 0, survivor["id"], *move["ids"]],
            )
        else:
            ref_table = next(
                (r.table for r in await references(ctx, kind) if r.table._meta.tablename == table),
                None,
            )
            if ref_table is None:
                conflicts.append(
                    {"row": table, "reason": "no plugin names this table any more; left as is"}
                )
                continue
            col = column(ref_table, move["column"])
            back = await ctx.fetch(
                bind(
                    st,
                    f'UPDATE "{table}" SET {col} = ? WHERE {col} = ? '  # noqa: S608
                    f'AND "id" IN ({marks}) RETURNING "id"',
                ),
                [loser["id"], survivor["id"], *move["ids"]],
            )
        gone = sorted(set(move["ids"]) - {r["id"] for r in back})
        for row_id in gone:
            conflicts.append(
                {
                    "row": f"{table} #{row_id}",
                    "reason": f"no longer points at {kind} #{survivor['id']}; left as is",
                }
            )
    survivor, reverted = await ctx.update(e.table, survivor, revert, record_history=False)
    loser_values: dict[str, Any] = {"archived_at": None}
    for name, (before, _after) in record["changes"].get("loser", {}).items():
        loser_values[name] = typed(e.table, name, before)
    loser, restored = await ctx.update(e.table, loser, loser_values, record_history=False)
    ctx.record_history(
        kind, survivor["id"], "unmerged", {**reverted, "unmerged": [loser["id"], None]}
    )
    ctx.record_history(
        kind, loser["id"], "unmerged", {**restored, "merged_into": [survivor["id"], None]}
    )
    await ctx.update(
        MergeRecord,
        record,
        {"undone_at": ctx.now(), "undo_conflicts": conflicts},
        record_history=False,
    )
    ctx.emit(
        f"{kind}.unmerged",
        kind,
        survivor["id"],
        survivor=survivor["id"],
        loser=loser["id"],
        merge=record["id"],
        conflicts=conflicts,
    )
    return {
        "merge": record["id"],
        "survivor": e.output.model_validate(await e.present(ctx, survivor)).model_dump(mode="json"),
        "loser": e.output.model_validate(await e.present(ctx, loser)).model_dump(mode="json"),
        "conflicts": conflicts,
    }


Prefer = dict[str, Literal["survivor", "loser"]]


class MergeInput(Input):
    survivor: Ref = Field(description="The record that stays")
    loser: Ref = Field(description="The record merged into it (archived)")
    prefer: Prefer = Field(
        default_factory=dict,
        description="Per field, whose value wins (default: the survivor's, unless empty)",
    )


def _commands(kind: str) -> list[CommandSpec]:
    e = MERGEABLE[kind].entity
    write = f"{e.area}.write"

    async def merge(ctx: Context, data: MergeInput) -> dict[str, Any]:
        return await merge_records(ctx, kind, data)

    merge.__doc__ = (
        f"Merge two {kind}s: the loser's related records move to the survivor, empty fields "
        f"are filled from the loser (or taken from it where 'prefer' says so), the loser is "
        f"archived. Undo within 30 days with {kind}.unmerge."
    )
    unmerge_input = create_model(
        f"{kind.capitalize()}Unmerge",
        __base__=Input,
        **{
            kind: (Ref | None, Field(None, description=f"The merged {kind} (the loser)")),
            "merge": (int | None, Field(None, description="Or the merge's id")),
        },
    )

    async def unmerge(ctx: Context, data: Any) -> dict[str, Any]:
        return await unmerge_records(ctx, kind, data)

    unmerge.__doc__ = (
        f"Undo {'an' if kind[0] in 'aeiou' else 'a'} {kind} merge (within 30 days): the loser "
        "is restored and the records the merge moved go back to it; fields edited since keep "
        "their new value and are reported as conflicts."
    )
    return [
        command(
            f"{kind}.merge", input=MergeInput, output=MergeOut, permission=write, destructive=True
        )(merge),
        command(f"{kind}.unmerge", input=unmerge_input, output=UnmergeOut, permission=write)(
            unmerge
        ),
    ]


COMMANDS = [spec for kind in MERGEABLE for spec in _commands(kind)]
