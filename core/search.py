"""``find``: one search box across contacts, organizations, deals, leads, tickets — and the
tables plugins add through the ``kith_search_sources`` hook.

The core's five entities are indexed by the database itself (hand-written migration
``kith_0006_search``): SQLite FTS5 tables kept in sync by triggers, and on PostgreSQL GIN
indexes on a ``to_tsvector`` expression (the query repeats that exact expression, so the
planner uses the index). Every word typed must match the start of a word in the record
("lov ada" finds Ada Lovelace). Visibility applies to every source: a record an actor may not
see is never found.
"""

# SQL here is assembled from quoted identifiers of table metadata and Params placeholders;
# every value is a bound parameter (S608 cannot see that).
# ruff: noqa: S608

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from piccolo.table import Table
from pydantic import BaseModel, Field

from .commands import command
from .db.params import Params
from .db.statements import quote
from .entities._common import Input
from .errors import invalid
from .permissions import role_allows
from .visibility import OWNERSHIP, sql_condition

if TYPE_CHECKING:
    from .context import Context

log = logging.getLogger("kith.search")

MAX_TERMS = 8
MAX_TERM = 64
_WORD = re.compile(r"[^\W_]+")


def terms(text: str, field_name: str = "q") -> list[str]:
    """The words of a search, lower-cased; only punctuation is an error naming the field."""
    found = [w.lower()[:MAX_TERM] for w in _WORD.findall(text or "")]
    if not found:
        raise invalid(field_name, "give at least one letter or digit to search for")
    return list(dict.fromkeys(found))[:MAX_TERMS]


@dataclass(frozen=True)
class SearchQuery:
    """What a source gets: the text as typed and its words (lower-case letters and digits)."""

    text: str
    terms: tuple[str, ...]

    @property
    def fts5(self) -> str:
        """An FTS5 MATCH expression: every word as a prefix (``"ada"* "lov"*``)."""
        return " ".join(f'"{t}"*' for t in self.terms)

    @property
    def tsquery(self) -> str:
        """A PostgreSQL ``to_tsquery('simple', …)`` expression: ``ada:* & lov:*``."""
        return " & ".join(f"{t}:*" for t in self.terms)


SearchFunction = Callable[["Context", SearchQuery, int], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class SearchSource:
    """A table ``find`` searches. Plugins return these from ``kith_search_sources``.

    Declarative: ``table`` (a piccolo Table), ``columns`` matched (every word must appear in
    one of them, case-insensitive), ``label`` (and optional ``detail``) column shown, and
    ``area`` whose ``read`` permission an actor needs (default: ``<entity>s``). Rows with an
    ``archived_at`` column set are skipped. When ``entity`` has a visibility setting and the
    table has its owner column (``owner_id``...), visibility applies. Or give ``search``, an
    async function ``(ctx, query, limit) -> [{"id", "label", "detail", "score"}]`` that does
    it your way (apply visibility yourself through ``ctx.actor``).
    """

    entity: str
    table: type[Table] | None = None
    columns: tuple[str, ...] = ()
    label: str = "name"
    detail: str | None = None
    area: str | None = None
    search: SearchFunction | None = field(default=None, compare=False)


@dataclass(frozen=True)
class FtsIndex:
    """How one core entity is indexed for full-text search."""

    entity: str
    table: str
    columns: tuple[str, ...]
    label: str
    detail: str | None
    area: str


# The migration kith_0006_search creates exactly these (a test compares them).
FTS: dict[str, FtsIndex] = {
    i.entity: i
    for i in (
        FtsIndex(
            "contact", "contacts", ("name", "email", "phone", "title"), "name", "email", "contacts"
        ),
        FtsIndex(
            "organization",
            "organizations",
            ("name", "domain", "industry"),
            "name",
            "domain",
            "organizations",
        ),
        FtsIndex("deal", "deals", ("title",), "title", None, "deals"),
        FtsIndex("lead", "leads", ("name", "email", "company"), "name", "company", "leads"),
        FtsIndex("ticket", "tickets", ("subject",), "subject", None, "tickets"),
    )
}


def pg_document(columns: tuple[str, ...], alias: str = "") -> str:
    """The ``tsvector`` expression indexed on PostgreSQL for ``columns``: punctuation becomes
    spaces first, so ``ada@example.com`` is the words ada, example, com (as on SQLite)."""
    prefix = f"{quote(alias)}." if alias else ""
    text = " || ' ' || ".join(f"coalesce({prefix}{quote(c)}, '')" for c in columns)
    return f"to_tsvector('simple'::regconfig, regexp_replace({text}, '[^[:alnum:]]+', ' ', 'g'))"


def text_condition(
    ctx: Context, entity: str, query: SearchQuery, p: Params, alias: str = ""
) -> str | None:
    """A condition matching the rows of a core entity that contain every word of ``query``,
    through its full-text index; ``None`` when the entity has none."""
    index = FTS.get(entity)
    if index is None:
        return None
    prefix = f"{quote(alias)}." if alias else ""
    if ctx.kith.db.dialect == "postgres":
        return f"{pg_document(index.columns, alias)} @@ to_tsquery('simple', {p(query.tsquery)})"
    fts = quote(f"{index.table}_fts")
    return f'{prefix}"id" IN (SELECT rowid FROM {fts} WHERE {fts} MATCH {p(query.fts5)})'


async def _index_branch(ctx: Context, index: FtsIndex, p: Params, match: str, limit: str) -> str:
    """One ``SELECT`` of the core's search union: the best ``limit`` rows of ``index`` that
    match and that the actor may see (``match`` and ``limit`` are shared placeholders)."""
    visible = await sql_condition(ctx, index.entity, p, alias="t")
    detail = f"t.{quote(index.detail)}" if index.detail else "NULL"
    extra = f"AND {visible}" if visible else ""
    entity = f"'{index.entity}'"  # a name from FTS above, never user text
    if ctx.kith.db.dialect == "postgres":
        doc = pg_document(index.columns, "t")
        return (
            f'SELECT {entity} AS entity, t."id" AS id, t.{quote(index.label)} AS label, '
            f"{detail} AS detail, ts_rank({doc}, to_tsquery('simple', {match})) AS score "
            f"FROM {quote(index.table)} t "
            f"WHERE t.\"archived_at\" IS NULL AND {doc} @@ to_tsquery('simple', {match}) {extra} "
            f'ORDER BY score DESC, t."id" DESC LIMIT {limit}'
        )
    fts = quote(f"{index.table}_fts")
    return (
        f'SELECT {entity} AS entity, t."id" AS id, t.{quote(index.label)} AS label, '
        f"{detail} AS detail, -bm25({fts}) AS score "
        f'FROM {fts} JOIN {quote(index.table)} t ON t."id" = {fts}.rowid '
        f'WHERE {fts} MATCH {match} AND t."archived_at" IS NULL {extra} '
        f'ORDER BY bm25({fts}), t."id" DESC LIMIT {limit}'
    )


async def _search_indexes(
    ctx: Context, indexes: list[FtsIndex], query: SearchQuery, limit: int
) -> list[dict[str, Any]]:
    """Search the core's indexes in one statement (a UNION ALL of one branch each)."""
    if not indexes:
        return []
    p = Params(ctx.kith.db.dialect)
    match = p(query.tsquery if ctx.kith.db.dialect == "postgres" else query.fts5)
    top = p(limit)
    branches = [await _index_branch(ctx, index, p, match, top) for index in indexes]
    sql = " UNION ALL ".join(f"SELECT * FROM ({b}) AS b{i}" for i, b in enumerate(branches))
    rows = await ctx.fetch(sql, p.values)
    return [{**r, "score": float(r["score"] or 0)} for r in rows]


async def _search_source(
    ctx: Context, source: SearchSource, query: SearchQuery, limit: int
) -> list[dict[str, Any]]:
    if source.search is not None:
        hits = await source.search(ctx, query, limit)
        return [{**h, "entity": source.entity, "score": float(h.get("score") or 0)} for h in hits]
    assert source.table is not None
    codec = ctx.kith.db.statements.codec(source.table)
    for c in (*source.columns, source.label, *([source.detail] if source.detail else [])):
        if c not in codec.column_set:
            raise ValueError(f"search source {source.entity}: {codec.tablename} has no column {c}")
    p = Params(ctx.kith.db.dialect)
    conds = []
    for t in query.terms:
        pattern = p(f"%{t}%")
        conds.append(
            "(" + " OR ".join(f"lower({quote(c)}) LIKE {pattern}" for c in source.columns) + ")"
        )
    if "archived_at" in codec.column_set:
        conds.append('"archived_at" IS NULL')
    own = OWNERSHIP.get(source.entity)
    if own is not None and set(own.owner_columns) <= codec.column_set:
        visible = await sql_condition(ctx, source.entity, p)
        if visible:
            conds.append(visible)
    detail = quote(source.detail) if source.detail else "NULL"
    sql = (
        f'SELECT "id" AS id, {quote(source.label)} AS label, {detail} AS detail '
        f"FROM {quote(codec.tablename)} WHERE {' AND '.join(conds)} "
        f'ORDER BY "id" DESC LIMIT {p(limit)}'
    )
    rows = await ctx.fetch(sql, p.values)
    return [{**r, "entity": source.entity, "score": 0.0} for r in rows]


# ---- the command -----------------------------------------------------------------------------


class FindInput(Input):
    q: str = Field(min_length=1, max_length=200, description="Words to find, e.g. 'ada lovelace'")
    entities: list[str] | None = Field(
        None, max_length=20, description="Only these entities (default: all sources)"
    )
    limit: int = Field(20, ge=1, le=100, description="At most this many results (≤ 100)")


class FindHit(BaseModel):
    entity: str
    id: int | str
    label: str | None
    detail: str | None = None
    score: float


class FindOut(BaseModel):
    items: list[FindHit]


def sources(ctx: Context) -> list[tuple[str, FtsIndex | SearchSource]]:
    """Every source ``find`` searches: the core's indexes, then the plugins'."""
    out: list[tuple[str, FtsIndex | SearchSource]] = [(e, i) for e, i in FTS.items()]
    out.extend((s.entity, s) for s in ctx.kith.hooks.search_sources())
    return out


@command("find", input=FindInput, output=FindOut, permission="search.read", read_only=True)
async def find(ctx: Context, data: FindInput) -> dict[str, Any]:
    """Find records by what people remember of them — a name, part of an email, a deal or a
    ticket subject — across contacts, organizations, deals, leads, tickets and the tables
    plugins add. Every word must start a word of the record. Best matches first; only
    records the actor may see."""
    query = SearchQuery(data.q, tuple(terms(data.q)))
    available = sources(ctx)
    if data.entities is not None:
        known = {e for e, _ in available}
        unknown = [e for e in data.entities if e not in known]
        if unknown:
            raise invalid(
                "entities",
                f"{', '.join(unknown)}: not searchable; choose from {', '.join(sorted(known))}",
            )
        available = [(e, s) for e, s in available if e in data.entities]
    allowed = [
        (e, s) for e, s in available if role_allows(ctx.actor.role, f"{s.area or e + 's'}.read")
    ]
    indexes = [s for _, s in allowed if isinstance(s, FtsIndex)]
    hits = await _search_indexes(ctx, indexes, query, data.limit)
    for entity, source in allowed:
        if isinstance(source, SearchSource):
            try:
                hits.extend(await _search_source(ctx, source, query, data.limit))
            except Exception:
                log.exception("search source %s failed", entity)
    hits.sort(key=lambda h: -h["score"])
    return {"items": hits[: data.limit]}


COMMANDS = [find]
