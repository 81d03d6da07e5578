"""Sequences: ordered steps sent to one contact at a time, stopped by what they do.

A step is an ``email`` (subject and text, jinja2 templates checked when the sequence is
saved, sent through ``marketing.send`` and so through the consent gate), a ``wait`` (days),
a ``task`` for the contact's owner, or a ``branch`` on a reply: wait up to N days for one,
then go on to one step if they replied and another if they did not.

Each enrollment moves on through the durable job ``marketing.sequence_step``, keyed by the
enrollment, so stopping it cancels what was scheduled. An email step waits for the
sequence's sending window (hours in its time zone) and its daily caps (the sequence's, and
the plugin's cap on all marketing mail a day). A reply (mail to ``replies@``) decides a
branch waiting for one and otherwise stops the enrollment; a withdrawn consent, a bounce
(the gate refuses the next email) or a won deal stops it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import kith
from pydantic import BaseModel, Field, field_validator

from . import consent
from .mail import render
from .settings import marketing_settings
from .tables import MarketingEnrollment, MarketingSend, MarketingSequence

STEP_JOB = "marketing.sequence_step"
SAMPLE = {
    "contact": {
        "name": "Ada Lovelace",
        "first_name": "Ada",
        "email": "ada@example.com",
        "title": "Engineer",
    }
}


class EmailStep(BaseModel):
    kind: Literal["email"]
    subject: str = Field(min_length=1, max_length=500)
    text: str = Field(min_length=1, max_length=100_000)


class WaitStep(BaseModel):
    kind: Literal["wait"]
    days: float = Field(gt=0, le=365)


class TaskStep(BaseModel):
    kind: Literal["task"]
    title: str = Field(min_length=1, max_length=300)
    due_days: float = Field(1, ge=0, le=365)


class BranchStep(BaseModel):
    kind: Literal["branch"]
    on: Literal["reply"] = Field("reply", description="What the branch waits for")
    within_days: float = Field(3, gt=0, le=90, description="How long to wait for it")
    replied: int | Literal["stop"] = Field(
        "stop", description="They replied: go to this step (numbered from 1), or stop"
    )
    no_reply: int | Literal["next", "stop"] = Field(
        "next", description="No reply in time: go to this step, the next one, or stop"
    )


Step = Annotated[EmailStep | WaitStep | TaskStep | BranchStep, Field(discriminator="kind")]


class SequenceIn(kith.Input):
    name: str = Field(min_length=1, max_length=200)
    purpose: str = Field(max_length=50, description="The consent its emails need")
    steps: list[Step] = Field(min_length=1, max_length=50)
    window_start: int = Field(8, ge=0, le=23, description="Send from this hour…")
    window_end: int = Field(18, ge=1, le=24, description="…until this hour")
    time_zone: str = Field("UTC", max_length=50)
    daily_cap: int = Field(500, ge=1, le=100_000, description="Emails a day")

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone (e.g. Europe/Paris)") from None
        return value


class SequenceOut(BaseModel):
    id: int
    name: str
    purpose: str
    steps: list[dict[str, Any]]
    window_start: int
    window_end: int
    time_zone: str
    daily_cap: int


class Enroll(kith.Input):
    sequence: str = Field(max_length=200, description="The sequence's name")
    contact: int


class EnrollmentOut(BaseModel):
    id: int
    sequence: str
    contact: int
    status: str
    step: int
    stopped_reason: str | None
    log: list[dict[str, Any]]


class Stop(kith.Input):
    enrollment: int
    reason: str = Field("stopped by staff", max_length=200)


class EnrollmentsIn(kith.Input):
    sequence: str | None = Field(None, max_length=200)
    contact: int | None = None
    status: str | None = Field(None, pattern="^(active|completed|stopped)$")


class EnrollmentList(BaseModel):
    items: list[EnrollmentOut]


def sequence_out(row: dict[str, Any]) -> SequenceOut:
    return SequenceOut(**{k: row[k] for k in SequenceOut.model_fields})


async def _sequence(ctx: kith.Context, name: str, field: str = "sequence") -> dict[str, Any]:
    row = await ctx.find_one(MarketingSequence, name=name)
    if row is None or row["archived_at"] is not None:
        raise kith.not_found("sequence", name, field)
    return row


async def _enrollment_out(ctx: kith.Context, row: dict[str, Any]) -> EnrollmentOut:
    seq = await ctx.find_one(MarketingSequence, id=row["sequence_id"])
    return EnrollmentOut(
        id=row["id"],
        sequence=seq["name"] if seq else "?",
        contact=row["contact_id"],
        status=row["status"],
        step=row["step"],
        stopped_reason=row["stopped_reason"],
        log=row["log"] or [],
    )


@kith.command(
    "sequence.create", input=SequenceIn, output=SequenceOut, permission="sequences.manage"
)
async def create(ctx: kith.Context, data: SequenceIn) -> SequenceOut:
    """Define a sequence: its steps (email, wait, task), the consent its emails need, its
    sending window and daily cap. Templates must render (checked now, on a sample contact)."""
    consent.check_purpose(ctx, data.purpose)
    if data.window_end <= data.window_start:
        raise kith.invalid("window_end", "must be after window_start")
    for i, step in enumerate(data.steps):
        if isinstance(step, EmailStep):
            render(f"steps.{i}.subject", step.subject, SAMPLE)
            render(f"steps.{i}.text", step.text, SAMPLE)
        if isinstance(step, BranchStep):
            for name in ("replied", "no_reply"):
                target = getattr(step, name)
                if isinstance(target, int) and not i + 1 < target <= len(data.steps):
                    raise kith.invalid(
                        f"steps.{i}.{name}",
                        f"step {target} is not a later step of this sequence (it has "
                        f"{len(data.steps)}; a branch goes forward, so a sequence never loops)",
                    )
    if await ctx.find_one(MarketingSequence, name=data.name) is not None:
        raise kith.invalid("name", f"a sequence is already called {data.name}", "taken")
    row = await ctx.insert(MarketingSequence, data.model_dump(mode="json"))
    ctx.emit("sequence.created", "sequence", row["id"], sequence=data.name)
    return sequence_out(row)


@kith.command("sequence.enroll", input=Enroll, output=EnrollmentOut, permission="sequences.write")
async def enroll(ctx: kith.Context, data: Enroll) -> EnrollmentOut:
    """Enroll a contact in a sequence (once at a time); the first step runs at once."""
    seq = await _sequence(ctx, data.sequence)
    await consent.contact_row(ctx, data.contact)
    for row in await ctx.select(MarketingEnrollment, contact_id=data.contact, status="active"):
        if row["sequence_id"] == seq["id"]:
            raise kith.invalid("contact", f"already in {seq['name']} (enrollment {row['id']})")
    row = await ctx.insert(
        MarketingEnrollment,
        {"sequence_id": seq["id"], "contact_id": data.contact, "status": "active", "step": 0},
        record_history=False,
    )
    ctx.record_history("contact", data.contact, "enrolled", {"sequence": [None, seq["name"]]})
    ctx.emit(
        "sequence.enrolled", "contact", data.contact, sequence=seq["name"], enrollment=row["id"]
    )
    await ctx.schedule(STEP_JOB, {"enrollment": row["id"]}, key=f"sequence:{row['id']}")
    return await _enrollment_out(ctx, row)


async def stop_enrollment(ctx: kith.Context, row: dict[str, Any], reason: str) -> dict[str, Any]:
    """Stop an active enrollment and cancel its scheduled step."""
    if row["status"] != "active":
        return row
    row, _ = await ctx.update(
        MarketingEnrollment,
        row,
        {"status": "stopped", "stopped_reason": reason[:200]},
        record_history=False,
    )
    await ctx.cancel(f"sequence:{row['id']}")
    ctx.record_history("contact", row["contact_id"], "unenrolled", {"reason": [None, reason]})
    ctx.emit("sequence.stopped", "contact", row["contact_id"], enrollment=row["id"], reason=reason)
    return row


@kith.command("sequence.stop", input=Stop, output=EnrollmentOut, permission="sequences.write")
async def stop(ctx: kith.Context, data: Stop) -> EnrollmentOut:
    """Stop an enrollment: nothing more is sent."""
    row = await ctx.find_one(MarketingEnrollment, id=data.enrollment)
    if row is None:
        raise kith.not_found("enrollment", data.enrollment, "enrollment")
    return await _enrollment_out(ctx, await stop_enrollment(ctx, row, data.reason))


class StopFor(kith.Input):
    contact: int
    reason: str = Field(max_length=200)
    purpose: str | None = Field(None, max_length=50, description="Only sequences needing it")


@kith.command(
    "sequence.stop_for", input=StopFor, output=EnrollmentList, permission="sequences.write"
)
async def stop_for(ctx: kith.Context, data: StopFor) -> EnrollmentList:
    """Stop a contact's active enrollments (a reply, an unsubscribe, a won deal)."""
    out = []
    for row in await ctx.select(MarketingEnrollment, contact_id=data.contact, status="active"):
        if data.purpose is not None:
            seq = await ctx.find_one(MarketingSequence, id=row["sequence_id"])
            if seq is None or seq["purpose"] != data.purpose:
                continue
        out.append(await _enrollment_out(ctx, await stop_enrollment(ctx, row, data.reason)))
    return EnrollmentList(items=out)


@kith.command(
    "sequence.enrollments",
    input=EnrollmentsIn,
    output=EnrollmentList,
    permission="sequences.read",
    read_only=True,
)
async def enrollments(ctx: kith.Context, data: EnrollmentsIn) -> EnrollmentList:
    """Enrollments, by sequence, contact or status, with each one's step log."""
    filters: dict[str, Any] = {}
    if data.sequence is not None:
        filters["sequence_id"] = (await _sequence(ctx, data.sequence))["id"]
    if data.contact is not None:
        filters["contact_id"] = data.contact
    if data.status is not None:
        filters["status"] = data.status
    rows = await ctx.select(MarketingEnrollment, order_by="id", limit=500, **filters)
    return EnrollmentList(items=[await _enrollment_out(ctx, r) for r in rows])


def next_window(seq: dict[str, Any], now: datetime) -> datetime | None:
    """``None`` when ``now`` is inside the sending window, else when it next opens."""
    zone = ZoneInfo(seq["time_zone"])
    local = now.astimezone(zone)
    if seq["window_start"] <= local.hour < seq["window_end"]:
        return None
    day = local.date() if local.hour < seq["window_start"] else local.date() + timedelta(days=1)
    return datetime.combine(day, time(seq["window_start"]), tzinfo=zone)


async def sent_since(ctx: kith.Context, start: datetime, sequence_id: int | None = None) -> int:
    """Marketing emails sent since ``start`` (by one sequence, or all): an index range."""
    statements = ctx.kith.db.statements
    codec = statements.codec(MarketingSend)
    marks = statements.placeholders(2, 1)
    sql = f'SELECT COUNT(*) AS n FROM "marketing_sends" WHERE "sent_at" >= {marks[0]}'  # noqa: S608
    params: list[Any] = [codec.encode("sent_at", start)]
    if sequence_id is not None:
        sql += f' AND "sequence_id" = {marks[1]}'
        params.append(sequence_id)
    rows = await ctx.fetch(sql, params)
    return int(rows[0]["n"]) if rows else 0


async def over_cap(ctx: kith.Context, seq: dict[str, Any], now: datetime) -> bool:
    """Has today's mail reached the sequence's cap, or the cap on all marketing mail?"""
    zone = ZoneInfo(seq["time_zone"])
    start = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    if await sent_since(ctx, start, seq["id"]) >= seq["daily_cap"]:
        return True
    sender_cap = marketing_settings(ctx).sender_daily_cap
    return await sent_since(ctx, now - timedelta(days=1)) >= sender_cap


def _last(log: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    return next((e for e in reversed(log) if all(e.get(k) == v for k, v in match.items())), None)


async def _goto(
    ctx: kith.Context, row: dict[str, Any], target: int | str, entry: dict[str, Any], key: str
) -> None:
    """Leave a branch for ``target``: a step number (from 1), ``next`` or ``stop``."""
    log = [*(row["log"] or []), entry][-100:]
    if target == "stop":
        row, _ = await ctx.update(MarketingEnrollment, row, {"log": log}, record_history=False)
        await stop_enrollment(ctx, row, f"branch: {entry['took']}")
        return
    step = row["step"] + 1 if target == "next" else int(target) - 1
    await ctx.update(MarketingEnrollment, row, {"step": step, "log": log}, record_history=False)
    await ctx.schedule(STEP_JOB, {"enrollment": row["id"]}, key=key)


async def run_branch(
    ctx: kith.Context, row: dict[str, Any], step: dict[str, Any], key: str
) -> None:
    """A reply branch: wait for the reply (or the deadline), then take a way."""
    now, log = ctx.now(), row["log"] or []
    started = _last(log, step=row["step"], kind="branch")
    if started is None:  # just arrived: wait until the deadline (a reply comes sooner)
        until = now + timedelta(days=float(step["within_days"]))
        entry = {"step": row["step"], "kind": "branch", "at": now.isoformat(),
                 "until": until.isoformat()}  # fmt: skip
        await ctx.update(
            MarketingEnrollment, row, {"log": [*log, entry][-100:]}, record_history=False
        )
        await ctx.schedule(STEP_JOB, {"enrollment": row["id"]}, at=until, key=key)
        return
    reply = _last(log, kind="reply")
    if reply is not None and reply["at"] >= started["at"]:
        took = {"step": row["step"], "kind": "branch_taken", "took": "replied",
                "at": now.isoformat()}  # fmt: skip
        await _goto(ctx, row, step["replied"], took, key)
    elif now >= datetime.fromisoformat(started["until"]):
        took = {"step": row["step"], "kind": "branch_taken", "took": "no reply",
                "at": now.isoformat()}  # fmt: skip
        await _goto(ctx, row, step["no_reply"], took, key)
    else:  # woken early (a retry): wait on
        await ctx.schedule(
            STEP_JOB, {"enrollment": row["id"]}, at=datetime.fromisoformat(started["until"]),
            key=key,
        )  # fmt: skip


class Replied(kith.Input):
    contact: int


class RepliedOut(BaseModel):
    stopped: list[int]
    branched: list[int]


@kith.command("sequence.replied", input=Replied, output=RepliedOut, permission="sequences.write")
async def replied(ctx: kith.Context, data: Replied) -> RepliedOut:
    """The contact replied: an enrollment waiting in a reply branch takes its "replied" way
    at once; every other active enrollment of theirs stops (reason ``replied``)."""
    out = RepliedOut(stopped=[], branched=[])
    for row in await ctx.select(MarketingEnrollment, contact_id=data.contact, status="active"):
        seq = await ctx.find_one(MarketingSequence, id=row["sequence_id"])
        steps = (seq or {}).get("steps") or []
        step = steps[row["step"]] if row["step"] < len(steps) else {}
        if step.get("kind") == "branch" and step.get("on", "reply") == "reply":
            entry = {"kind": "reply", "at": ctx.now().isoformat()}
            row, _ = await ctx.update(
                MarketingEnrollment,
                row,
                {"log": [*(row["log"] or []), entry][-100:]},
                record_history=False,
            )
            await ctx.schedule(STEP_JOB, {"enrollment": row["id"]}, key=f"sequence:{row['id']}")
            out.branched.append(row["id"])
        else:
            await stop_enrollment(ctx, row, "replied")
            out.stopped.append(row["id"])
    return out


@kith.job(STEP_JOB, max_attempts=5, backoff_base_s=60.0)
async def step_job(ctx: kith.Context, payload: dict[str, Any]) -> None:
    """Run an enrollment's next step and schedule the one after."""
    row = await ctx.find_one(MarketingEnrollment, id=int(payload["enrollment"]))
    if row is None or row["status"] != "active":
        return
    seq = await ctx.find_one(MarketingSequence, id=row["sequence_id"])
    if seq is None or seq["archived_at"] is not None:
        await stop_enrollment(ctx, row, "the sequence was archived")
        return
    steps = seq["steps"] or []
    if row["step"] >= len(steps):
        await ctx.update(MarketingEnrollment, row, {"status": "completed"}, record_history=False)
        ctx.emit("sequence.completed", "contact", row["contact_id"], enrollment=row["id"])
        return
    step, now, key = steps[row["step"]], ctx.now(), f"sequence:{row['id']}"
    if step["kind"] == "branch":
        await run_branch(ctx, row, step, key)
        return
    entry: dict[str, Any] = {"step": row["step"], "kind": step["kind"], "at": now.isoformat()}
    at = now
    if step["kind"] == "email":
        opens = next_window(seq, now)
        if opens is None and await over_cap(ctx, seq, now):
            opens = next_window(seq, now + timedelta(days=1)) or now + timedelta(days=1)
        if opens is not None:
            await ctx.schedule(STEP_JOB, {"enrollment": row["id"]}, at=opens, key=key)
            return
        allowed, reason, _ = await consent.may_send(ctx, row["contact_id"], seq["purpose"])
        if not allowed:
            await stop_enrollment(ctx, row, reason)
            return
        sent = await ctx.run(
            "marketing.send",
            {
                "contact": row["contact_id"],
                "purpose": seq["purpose"],
                "subject": step["subject"],
                "text": step["text"],
                "reply_to_replies": True,
            },
        )
        await ctx.insert(
            MarketingSend,
            {
                "sequence_id": seq["id"],
                "enrollment_id": row["id"],
                "contact_id": row["contact_id"],
                "email_id": sent.email,
                "sent_at": now,
            },
            record_history=False,
        )
        entry["email"] = sent.email
    elif step["kind"] == "wait":
        at = now + timedelta(days=float(step["days"]))
    else:
        contact = await consent.contact_row(ctx, row["contact_id"])
        task: dict[str, Any] = {
            "title": step["title"][:300],
            "contact": row["contact_id"],
            "due": (now + timedelta(days=float(step.get("due_days", 1)))).isoformat(),
        }
        if contact.get("owner_id"):
            task["assignee"] = contact["owner_id"]
        entry["task"] = (await ctx.run("task.create", task)).id
    await ctx.update(
        MarketingEnrollment,
        row,
        {"step": row["step"] + 1, "log": [*(row["log"] or []), entry][-100:]},
        record_history=False,
    )
    await ctx.schedule(STEP_JOB, {"enrollment": row["id"]}, at=at, key=key)


JOBS = [step_job]
