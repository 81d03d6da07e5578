"""Segments: saved filters over contacts whose membership Kith keeps.

A segment is the filter language of ``contact.list`` (fields, custom fields, tags, dates,
lifecycle stage), plus consent (``{"newsletter": "granted"}``), inactivity ("no activity
logged for 30 days"), a lead score ("a lead of theirs scores 50 or more"), activity of given
kinds ("a meeting or a call in the last 14 days") and sequences ("enrolled in Welcome").

``segment.refresh`` (and a job every 15 minutes while segments exist) recomputes the members
with one query per condition and a set difference against the stored members; each contact
that enters or leaves emits ``segment.entered`` / ``segment.exited`` (which automations can
start from: enroll in a sequence on entry).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import kith
from pydantic import BaseModel, Field

from . import consent
from .tables import MarketingSegment, MarketingSegmentMember, MarketingSequence

REFRESH_JOB = "marketing.segments_refresh"
EVENTS_PER_REFRESH = 10_000  # beyond this, one summary event instead of one per contact


ACTIVITY_KINDS = ("call", "email", "meeting", "note")


class ActivityCondition(BaseModel):
    kinds: list[str] = Field(min_length=1, max_length=4, description="call, email, meeting, note")
    within_days: int = Field(30, ge=1, le=3650)
    direction: str | None = Field(None, pattern="^(inbound|outbound)$", description="For emails")


class SequenceCondition(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    status: str = Field("any", pattern="^(any|active|completed|stopped)$")


class SegmentIn(kith.Input):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    filter: dict[str, Any] = Field(
        default_factory=dict, max_length=30, description="As in contact.list"
    )
    consent: dict[str, str] = Field(
        default_factory=dict, max_length=10, description="purpose → pending|granted|withdrawn"
    )
    inactive_days: int | None = Field(None, ge=1, le=3650, description="No activity for N days")
    min_score: int | None = Field(
        None, ge=-100_000, le=100_000, description="A lead of theirs scores at least this"
    )
    activity: ActivityCondition | None = Field(None, description="Had activity of these kinds")
    sequence: SequenceCondition | None = Field(None, description="Enrolled in a sequence")


class SegmentOut(BaseModel):
    id: int
    name: str
    description: str
    filter: dict[str, Any]
    consent: dict[str, str]
    inactive_days: int | None
    min_score: int | None = None
    activity: dict[str, Any] | None = None
    sequence: dict[str, Any] | None = None
    member_count: int
    computed_at: datetime | None


class SegmentRef(kith.Input):
    segment: str = Field(max_length=200, description="The segment's name")


class RefreshIn(kith.Input):
    segment: str | None = Field(None, max_length=200, description="None: every segment")


class RefreshOut(BaseModel):
    segments: int
    entered: int
    exited: int


class MembersIn(kith.Input):
    segment: str = Field(max_length=200)
    after: int = Field(0, ge=0, description="Contact id to continue after")
    limit: int = Field(100, ge=1, le=1000)


class MembersOut(BaseModel):
    segment: str
    member_count: int
    contacts: list[int]
    next_after: int | None


class SegmentList(BaseModel):
    items: list[SegmentOut]


CONDITIONS = ("min_score", "activity", "sequence")


def segment_out(row: dict[str, Any]) -> SegmentOut:
    stored = {k: v for k, v in row.items() if k in SegmentOut.model_fields}
    return SegmentOut(**stored, **(row.get("conditions") or {}))


def _stored(data: SegmentIn) -> dict[str, Any]:
    """The row: the conditions added since the first version live in one JSON column."""
    values = data.model_dump(mode="json")
    conditions = {k: values.pop(k) for k in CONDITIONS}
    values["conditions"] = {k: v for k, v in conditions.items() if v is not None}
    return values


async def _segment(ctx: kith.Context, name: str, field: str = "segment") -> dict[str, Any]:
    row = await ctx.find_one(MarketingSegment, name=name)
    if row is None or row["archived_at"] is not None:
        raise kith.not_found("segment", name, field)
    return row


async def members_of(ctx: kith.Context, row: dict[str, Any]) -> set[int]:
    """Who belongs to the segment now."""
    ids = set(await kith.matching_ids(ctx, "contact", row["filter"] or {}))
    for purpose, status in (row["consent"] or {}).items():
        ids &= await _column(
            ctx, "marketing_consents", "contact_id", {"purpose": purpose, "status": status}
        )
    if row["inactive_days"]:
        since = ctx.now() - timedelta(days=row["inactive_days"])
        recent = {"occurred_at": {"gte": since.isoformat()}}
        ids -= set(await kith.matching_ids(ctx, "activity", recent, column="contact_id"))
    conditions = row.get("conditions") or {}
    if ids and conditions.get("min_score") is not None:
        scored = {"score": {"gte": conditions["min_score"]}}
        ids &= set(await kith.matching_ids(ctx, "lead", scored, column="contact_id"))
    if ids and conditions.get("activity"):
        wanted = conditions["activity"]
        since = ctx.now() - timedelta(days=wanted["within_days"])
        done: dict[str, Any] = {"occurred_at": {"gte": since.isoformat()}, "kind": wanted["kinds"]}
        if wanted.get("direction"):
            done["direction"] = wanted["direction"]
        ids &= set(await kith.matching_ids(ctx, "activity", done, column="contact_id"))
    if ids and conditions.get("sequence"):
        wanted = conditions["sequence"]
        seq = await ctx.find_one(MarketingSequence, name=wanted["name"])
        equals: dict[str, Any] = {"sequence_id": seq["id"] if seq else 0}
        if wanted.get("status", "any") != "any":
            equals["status"] = wanted["status"]
        ids &= await _column(ctx, "marketing_enrollments", "contact_id", equals)
    return ids


async def _column(ctx: kith.Context, table: str, column: str, equals: dict[str, Any]) -> set[int]:
    """One integer column of this plugin's own table where columns equal values (names are
    fixed here, values are bound)."""
    marks = ctx.kith.db.statements.placeholders(len(equals))
    where = " AND ".join(f'"{k}" = {m}' for k, m in zip(equals, marks, strict=True))
    sql = f'SELECT "{column}" AS v FROM "{table}" WHERE {where}'  # noqa: S608 - fixed names
    return {r["v"] for r in await ctx.fetch(sql, list(equals.values()))}


async def _check_conditions(ctx: kith.Context, data: SegmentIn) -> None:
    if data.activity is not None:
        for i, kind in enumerate(data.activity.kinds):
            if kind not in ACTIVITY_KINDS:
                raise kith.invalid(
                    f"activity.kinds.{i}", f"{kind!r} is not one of {', '.join(ACTIVITY_KINDS)}"
                )
    if data.sequence is not None:
        seq = await ctx.find_one(MarketingSequence, name=data.sequence.name)
        if seq is None or seq["archived_at"] is not None:
            raise kith.not_found("sequence", data.sequence.name, "sequence.name")


def _check(ctx: kith.Context, data: SegmentIn) -> None:
    for purpose, status in data.consent.items():
        consent.check_purpose(ctx, purpose, f"consent.{purpose}")
        if status not in consent.STATUSES:
            raise kith.invalid(f"consent.{purpose}", f"use one of {', '.join(consent.STATUSES)}")


async def refresh_one(ctx: kith.Context, row: dict[str, Any]) -> tuple[int, int]:
    """Recompute a segment's members; ``(entered, exited)``."""
    now_members = await members_of(ctx, row)
    stored = await _column(
        ctx, "marketing_segment_members", "contact_id", {"segment_id": row["id"]}
    )
    entered = sorted(now_members - stored)
    exited = sorted(stored - now_members)
    if exited:
        gone = {
            r["contact_id"]: r["id"]
            for r in await ctx.select(MarketingSegmentMember, segment_id=row["id"])
            if r["contact_id"] in set(exited)
        }
        for contact_id in exited:
            await ctx.delete(MarketingSegmentMember, gone[contact_id])
    for contact_id in entered:
        await ctx.insert(
            MarketingSegmentMember,
            {"segment_id": row["id"], "contact_id": contact_id, "entered_at": ctx.now()},
            record_history=False,
        )
    if len(entered) + len(exited) <= EVENTS_PER_REFRESH:
        for contact_id in entered:
            ctx.emit("segment.entered", "contact", contact_id, segment=row["name"])
        for contact_id in exited:
            ctx.emit("segment.exited", "contact", contact_id, segment=row["name"])
    else:
        ctx.emit("segment.changed", "segment", row["id"], entered=len(entered), exited=len(exited))
    await ctx.update(
        MarketingSegment,
        row,
        {"member_count": len(now_members), "computed_at": ctx.now()},
        record_history=False,
    )
    return len(entered), len(exited)


@kith.command("segment.create", input=SegmentIn, output=SegmentOut, permission="segments.manage")
async def create(ctx: kith.Context, data: SegmentIn) -> SegmentOut:
    """Save a segment (a filter as in ``contact.list``, consent, inactivity, a lead score,
    recent activity of some kinds, a sequence) and compute its members at once. A filter on
    an unknown field, an unknown activity kind or sequence is refused, naming it."""
    _check(ctx, data)
    await _check_conditions(ctx, data)
    if await ctx.find_one(MarketingSegment, name=data.name) is not None:
        raise kith.invalid("name", f"a segment is already called {data.name}", "taken")
    row = await ctx.insert(MarketingSegment, _stored(data))
    ctx.emit("segment.created", "segment", row["id"], segment=data.name)
    await refresh_one(ctx, row)
    await plan_refresh(ctx)
    return segment_out(await _segment(ctx, data.name))


@kith.command("segment.refresh", input=RefreshIn, output=RefreshOut, permission="segments.write")
async def refresh(ctx: kith.Context, data: RefreshIn) -> RefreshOut:
    """Recompute one segment's members, or every segment's."""
    if data.segment is not None:
        rows = [await _segment(ctx, data.segment)]
    else:
        rows = [
            r for r in await ctx.select(MarketingSegment, order_by="id") if r["archived_at"] is None
        ]
    entered = exited = 0
    for row in rows:
        e, x = await refresh_one(ctx, row)
        entered, exited = entered + e, exited + x
    return RefreshOut(segments=len(rows), entered=entered, exited=exited)


@kith.command(
    "segment.get", input=SegmentRef, output=SegmentOut, permission="segments.read", read_only=True
)
async def get(ctx: kith.Context, data: SegmentRef) -> SegmentOut:
    """A segment, with its member count and when it was computed."""
    return segment_out(await _segment(ctx, data.segment))


@kith.command(
    "segment.list", input=kith.Input, output=SegmentList, permission="segments.read", read_only=True
)
async def list_segments(ctx: kith.Context, data: kith.Input) -> SegmentList:
    """Every segment with its member count."""
    rows = await ctx.select(MarketingSegment, order_by="name")
    return SegmentList(items=[segment_out(r) for r in rows if r["archived_at"] is None])


@kith.command(
    "segment.members",
    input=MembersIn,
    output=MembersOut,
    permission="segments.read",
    read_only=True,
)
async def members(ctx: kith.Context, data: MembersIn) -> MembersOut:
    """A page of a segment's member contact ids (pass ``next_after`` back as ``after``)."""
    row = await _segment(ctx, data.segment)
    ids = sorted(
        r["contact_id"]
        for r in await ctx.select(MarketingSegmentMember, segment_id=row["id"])
        if r["contact_id"] > data.after
    )
    page = ids[: data.limit]
    more = len(ids) > data.limit
    return MembersOut(
        segment=row["name"],
        member_count=row["member_count"],
        contacts=page,
        next_after=page[-1] if more and page else None,
    )


REFRESH_EVERY = timedelta(minutes=15)


async def plan_refresh(ctx: kith.Context) -> None:
    """Keep the next refresh scheduled (one job, keyed): only while segments exist."""
    await ctx.schedule(REFRESH_JOB, {}, at=ctx.now() + REFRESH_EVERY, key=REFRESH_JOB)


@kith.job(REFRESH_JOB, max_attempts=2)
async def refresh_job(ctx: kith.Context, payload: dict[str, Any]) -> None:
    """Recompute every segment, then plan the next refresh in 15 minutes."""
    result = await ctx.run("segment.refresh", {})
    if result.segments:
        await plan_refresh(ctx)


JOBS = [refresh_job]
