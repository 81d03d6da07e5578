"""Duplicates as commands, a nightly scan, and a warning when a record is created.

* ``duplicates.find`` (read-only): pairs with scores and reasons, for a whole entity or for one
  record.
* ``duplicates.dismiss``: "these two are different people"; the pair is not flagged again.
* ``duplicates.scan`` (a job, every night at ``NIGHTLY_HOUR`` UTC, scheduled by the process
  that runs jobs): records new pairs in ``duplicate_pairs`` and emits ``duplicates.found``.
* On create: after ``contact.created`` / ``organization.created`` the core checks the new
  record and, when it looks like others, records the pairs and emits
  ``contact.duplicate_suspected`` (or ``organization.…``) with a sentence such as
  "Jane Roe looks like Jane R. #12" and the creator's actor label, for channels to show the
  person who created it. The check runs after commit, off the create's path: a create is
  never slowed down or refused by it. Imports send no per-record events, so their rows are
  flagged by the nightly scan.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from ..commands import CommandSpec, command
from ..context import Context
from ..entities._common import Input, Ref
from ..entities.people import CONTACT, ORGANIZATION
from ..events import Event
from ..hookspecs import hookimpl
from ..jobs import job
from ..permissions import SYSTEM
from ..tables import DuplicatePair, Job
from .duplicates import find_pairs, pair_statuses, present, ranked

if TYPE_CHECKING:
    from ..runtime import Kith

NIGHTLY_HOUR = 2
SCAN_KEY = "duplicates.scan"
CHECK_MIN_SCORE = 70
ENTITIES = {
    "contact": CONTACT,
    "contacts": CONTACT,
    "organization": ORGANIZATION,
    "organizations": ORGANIZATION,
}
EntityName = Literal["contacts", "organizations", "contact", "organization"]


class FindInput(Input):
    entity: EntityName = "contacts"
    record: Ref | None = Field(None, description="Only the duplicates of this record")
    min_score: int = Field(60, ge=0, le=100)
    limit: int = Field(50, ge=1, le=1000)
    include_dismissed: bool = False


class RecordLabel(BaseModel):
    id: int
    label: str


class DuplicatePairOut(BaseModel):
    a: RecordLabel
    b: RecordLabel
    score: int
    reasons: list[str]
    status: str


class DuplicatesOut(BaseModel):
    entity: str
    total: int
    pairs: list[DuplicatePairOut]


async def _find(
    ctx: Context, entity: str, record: int | None, min_score: int, include_dismissed: bool
) -> tuple[list[dict[str, Any]], int]:
    pairs, labels = await find_pairs(ctx.kith, entity, record)
    statuses = await pair_statuses(
        ctx.kith, entity, None if record is None else [(p.a, p.b) for p in pairs.values()]
    )
    out = []
    for pair in ranked(pairs.values(), min_score):
        status = statuses.get((pair.a, pair.b), "new")
        if status == "dismissed" and not include_dismissed:
            continue
        out.append(present(pair, labels, status))
    return out, len(out)


@command(
    "duplicates.find",
    input=FindInput,
    output=DuplicatesOut,
    permission="duplicates.read",
    read_only=True,
)
async def find_duplicates(ctx: Context, data: FindInput) -> dict[str, Any]:
    """Contacts or organizations that look like the same one, best matches first, each pair
    with a score (0-100) and the reasons (same e-mail address, same phone, similar name at
    the same organization, same domain…)."""
    e = ENTITIES[data.entity]
    ctx.actor.require(f"{e.area}.read", "duplicates.find")
    record = (await e.resolve(ctx, data.record, field="record"))["id"] if data.record else None
    pairs, total = await _find(ctx, e.name, record, data.min_score, data.include_dismissed)
    return {"entity": e.name, "total": total, "pairs": pairs[: data.limit]}


class DismissInput(Input):
    entity: EntityName = "contacts"
    a: int = Field(description="One record of the pair")
    b: int = Field(description="The other")


@command(
    "duplicates.dismiss",
    input=DismissInput,
    output=DuplicatePairOut,
    permission="duplicates.write",
    idempotent=True,
)
async def dismiss_pair(ctx: Context, data: DismissInput) -> dict[str, Any]:
    """Say that two records are not duplicates: the pair is no longer listed or flagged."""
    e = ENTITIES[data.entity]
    ctx.actor.require(f"{e.area}.write", "duplicates.dismiss")
    a = await ctx.get(e.table, data.a, field="a")
    b = await ctx.get(e.table, data.b, field="b")
    low, high = sorted((a["id"], b["id"]))
    pair = await _upsert_pair(ctx, e.name, low, high, 0, [], status="dismissed")
    ctx.record_history(e.name, low, "duplicate_dismissed", {"not_duplicate_of": [None, high]})
    ctx.emit("duplicates.dismissed", e.name, low, other=high)
    labels = {a["id"]: a.get("name", ""), b["id"]: b.get("name", "")}
    return {
        "a": {"id": low, "label": labels[low]},
        "b": {"id": high, "label": labels[high]},
        "score": pair["score"],
        "reasons": pair["reasons"],
        "status": "dismissed",
    }


async def _upsert_pair(
    ctx: Context,
    entity: str,
    low: int,
    high: int,
    score: int,
    reasons: list[str],
    status: str = "open",
) -> dict[str, Any]:
    existing = await ctx.find_one(DuplicatePair, entity=entity, record_id=low, other_id=high)
    now = ctx.now()
    if existing is None:
        return await ctx.insert(
            DuplicatePair,
            {
                "entity": entity,
                "record_id": low,
                "other_id": high,
                "score": score,
                "reasons": reasons,
                "status": status,
                "found_at": now,
                "updated_at": now,
            },
            record_history=False,
        )
    changes: dict[str, Any] = {"updated_at": now}
    if status == "dismissed":
        changes["status"] = "dismissed"
    if reasons:
        changes.update(score=score, reasons=reasons)
    row, _ = await ctx.update(DuplicatePair, existing, changes, record_history=False)
    return row


async def flag_new(ctx: Context, entity: str, pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Record the pairs not seen before (open); returns those."""
    keys = [(p["a"]["id"], p["b"]["id"]) for p in pairs]
    known = await pair_statuses(ctx.kith, entity, keys if len(keys) < 500 else None)
    new = []
    for p in pairs:
        key = (p["a"]["id"], p["b"]["id"])
        if key in known:
            continue
        await _upsert_pair(ctx, entity, *key, p["score"], p["reasons"])
        new.append(p)
    return new


class CheckInput(Input):
    entity: EntityName
    record: int
    created_by: str | None = Field(None, description="Who created the record (actor label)")


@command("duplicates.check", input=CheckInput, output=DuplicatesOut, permission="duplicates.write")
async def check_record(ctx: Context, data: CheckInput) -> dict[str, Any]:
    """Check one record for duplicates; new likely pairs are flagged and announced with
    <entity>.duplicate_suspected ("looks like Ada Lovelace #12")."""
    e = ENTITIES[data.entity]
    pairs, total = await _find(ctx, e.name, data.record, CHECK_MIN_SCORE, False)
    new = await flag_new(ctx, e.name, pairs)
    if new:
        me = next(p[side] for p in new for side in ("a", "b") if p[side]["id"] == data.record)
        others = [p["b"] if p["a"]["id"] == data.record else p["a"] for p in new]
        looks = ", ".join(f"{o['label']} #{o['id']}" for o in others[:3])
        ctx.emit(
            f"{e.name}.duplicate_suspected",
            e.name,
            data.record,
            message=f"{me['label']} looks like {looks}",
            candidates=[
                {
                    **(p["b"] if p["a"]["id"] == data.record else p["a"]),
                    "score": p["score"],
                    "reasons": p["reasons"],
                }
                for p in new
            ],
            created_by=data.created_by,
        )
    return {"entity": e.name, "total": total, "pairs": pairs}


@hookimpl(trylast=True)
async def kith_on_event(event: Event, kith: Kith) -> None:
    """After a contact or an organization is created, check it for duplicates."""
    if event.name not in ("contact.created", "organization.created") or event.entity_id is None:
        return
    entity = event.name.split(".")[0]
    pairs, _ = await find_pairs(kith, entity, event.entity_id)
    if any(p.score >= CHECK_MIN_SCORE for p in pairs.values()):
        await kith.run(
            "duplicates.check",
            {"entity": entity, "record": event.entity_id, "created_by": event.actor},
            SYSTEM,
        )


def next_night(now: datetime) -> datetime:
    run = datetime.combine(now.date(), time(NIGHTLY_HOUR), tzinfo=now.tzinfo)
    return run if run > now else run + timedelta(days=1)


@job(SCAN_KEY, max_attempts=3, lease=timedelta(minutes=30))
async def scan_job(ctx: Context, payload: dict[str, Any]) -> None:
    """Find duplicate contacts and organizations; flag the new pairs; run again tomorrow."""
    for entity in ("contact", "organization"):
        pairs, total = await _find(ctx, entity, None, CHECK_MIN_SCORE, False)
        new = await flag_new(ctx, entity, pairs)
        if new:
            ctx.emit("duplicates.found", entity, None, new=len(new), total=total, pairs=new[:20])
    await ctx.schedule(SCAN_KEY, {}, at=next_night(ctx.now()), key=SCAN_KEY)


async def _schedule(ctx: Context, data: Any) -> None:
    """Schedule the nightly duplicate scan."""
    await ctx.schedule(SCAN_KEY, {}, at=next_night(ctx.now()), key=SCAN_KEY)


SCHEDULE_SPEC = CommandSpec(
    "duplicates.schedule",
    _schedule,
    Input,
    None,
    "duplicates.admin",
    description="Schedule the nightly duplicate scan.",
)


async def ensure_nightly_scan(kith: Kith) -> bool:
    """Schedule the nightly scan unless it is scheduled already; True when it scheduled."""
    st = kith.db.statements
    rows = await kith.db.fetch(st.select_where(Job, ["key", "status"]), [SCAN_KEY, "scheduled"])
    if rows:
        return False
    async with kith.db.transaction() as tx:
        ctx = Context(kith, SYSTEM, SCHEDULE_SPEC, tx)
        await _schedule(ctx, None)
        ctx.flush()
    kith.jobs.wake()
    return True


@hookimpl(trylast=True)
async def kith_startup(kith: Kith) -> None:
    """A process that runs jobs makes sure tonight's duplicate scan is scheduled."""
    if kith.jobs._task is not None:
        await ensure_nightly_scan(kith)


COMMANDS = [find_duplicates, dismiss_pair, check_record]
JOBS = [scan_job]
