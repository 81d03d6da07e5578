"""Sequences: ordered steps sent to one contact at a time, stopped by what they do.

A step is an ``email`` (subject and text, jinja2 templates checked when the sequence is
saved, sent through ``marketing.send`` and so through the consent gate), a ``wait`` (days),
or a ``task`` for the contact's owner. Each enrollment moves on through the durable job
``marketing.sequence_step``, keyed by the enrollment, so stopping it cancels what was
scheduled. An email step waits for the sequence's sending window (hours in its time zone)
and its daily cap. A reply (mail to ``replies@``), a withdrawn consent, a bounce (the gate
refuses the next email) or a won deal stops the enrollment.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import kith
from pydantic import BaseModel, Field, field_validator

from . import consent
from .mail import render
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


Step = Annotated[EmailStep | WaitStep | TaskStep, Field(discriminator="kind")]


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


async def _sent_today(ctx: kith.Context, seq: dict[str, Any], now: datetime) -> int:
    zone = ZoneInfo(seq["time_zone"])
    start = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    rows = await ctx.select(MarketingSend, sequence_id=seq["id"])
    return sum(1 for r in rows if r["sent_at"] >= start)


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
    entry: dict[str, Any] = {"step": row["step"], "kind": step["kind"], "at": now.isoformat()}
    at = now
    if step["kind"] == "email":
        opens = next_window(seq, now)
        if opens is None and await _sent_today(ctx, seq, now) >= seq["daily_cap"]:
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
