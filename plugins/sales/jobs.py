"""Follow-ups: scheduled jobs that turn silence into a task for the owner.

* A deal past its stage's rotting days without activity → ``sales.deal_rotting`` creates a task
  for its owner and emits ``deal.rotting`` (reason ``stale``; the Slack channel nudges).
* An open deal without an open task for ``next_activity_grace_hours`` →
  ``sales.deal_next_step`` does the same (reason ``no_next_activity``).
* A new lead's "Contact …" task not done by its due time → ``sales.lead_contact_due`` emits
  ``lead.contact_overdue``.

Every job has a key (``sales:deal:42:rotting``...), so arming again moves it; moving or closing
a deal, logging an activity or completing the task re-arms or cancels it. Each job re-checks
its condition when it runs, so a late cancel is harmless.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import kith

from .records import OPEN_LEAD_STATUSES, decode, local_time, marks, user_time_zone
from .settings import settings_of

ROTTING = "sales.deal_rotting"
NEXT_STEP = "sales.deal_next_step"
CONTACT_DUE = "sales.lead_contact_due"


def rotting_key(deal_id: int) -> str:
    return f"sales:deal:{deal_id}:rotting"


def next_step_key(deal_id: int) -> str:
    return f"sales:deal:{deal_id}:next-step"


def contact_key(lead_id: int) -> str:
    return f"sales:lead:{lead_id}:contact"


# ---- deals ----------------------------------------------------------------------------------


async def last_touch(ctx: kith.Context, deal: dict[str, Any]) -> datetime:
    """When the deal last changed stage or had an activity, whichever is later."""
    since = deal["stage_changed_at"] or deal["created_at"]
    m = marks(ctx, 1)
    rows = await ctx.fetch(
        f'SELECT MAX("occurred_at") AS at FROM "activities" WHERE "deal_id" = {m[0]} '  # noqa: S608
        'AND "archived_at" IS NULL',
        [deal["id"]],
    )
    latest = decode(ctx, kith.Activity, {"occurred_at": rows[0]["at"]})["occurred_at"]
    return max(since, latest) if latest else since


async def arm_deal(
    ctx: kith.Context, deal: dict[str, Any], stage: dict[str, Any] | None = None
) -> None:
    """(Re)schedule a deal's rotting and next-step checks; cancel them once it is closed."""
    if deal["status"] != "open" or deal["archived_at"] is not None:
        await disarm_deal(ctx, deal["id"])
        return
    stage = stage or await ctx.get(kith.Stage, deal["stage_id"])
    payload = {"deal": deal["id"]}
    if stage["rotting_days"]:
        due = await last_touch(ctx, deal) + timedelta(days=stage["rotting_days"])
        await ctx.schedule(ROTTING, payload, at=due, key=rotting_key(deal["id"]))
    else:
        await ctx.cancel(rotting_key(deal["id"]))
    grace = settings_of(ctx).follow_ups.next_activity_grace_hours
    if grace:
        at = ctx.now() + timedelta(hours=grace)
        await ctx.schedule(NEXT_STEP, payload, at=at, key=next_step_key(deal["id"]))


async def disarm_deal(ctx: kith.Context, deal_id: int) -> None:
    await ctx.cancel(rotting_key(deal_id))
    await ctx.cancel(next_step_key(deal_id))


async def _open_deal(ctx: kith.Context, payload: dict[str, Any]) -> dict[str, Any] | None:
    deal = await ctx.find_one(kith.Deal, id=int(payload["deal"]))
    if deal is None or deal["status"] != "open" or deal["archived_at"] is not None:
        return None
    return deal


async def _nudge(
    ctx: kith.Context, deal: dict[str, Any], stage: dict[str, Any], reason: str, title: str
) -> None:
    task = await ctx.run(
        "task.create",
        {
            "title": title,
            "due": ctx.now(),
            "deal": deal["id"],
            **({"assignee": deal["owner_id"]} if deal["owner_id"] else {}),
        },
    )
    entered = deal["stage_changed_at"] or deal["created_at"]
    ctx.emit(
        "deal.rotting",
        "deal",
        deal["id"],
        reason=reason,
        title=deal["title"],
        stage=stage["name"],
        stage_id=stage["id"],
        days_in_stage=(ctx.now() - entered).days,
        owner_id=deal["owner_id"],
        task_id=task.id,
    )


@kith.job(ROTTING)
async def deal_rotting(ctx: kith.Context, payload: dict[str, Any]) -> None:
    """A deal sat in its stage past the stage's rotting days without any activity."""
    deal = await _open_deal(ctx, payload)
    if deal is None:
        return
    stage = await ctx.get(kith.Stage, deal["stage_id"])
    if not stage["rotting_days"]:
        return
    due = await last_touch(ctx, deal) + timedelta(days=stage["rotting_days"])
    if due > ctx.now():  # touched since it was armed: check again later
        await ctx.schedule(ROTTING, payload, at=due, key=rotting_key(deal["id"]))
        return
    title = f"{deal['title']} is rotting in {stage['name']}: plan the next step"
    await _nudge(ctx, deal, stage, "stale", title)


@kith.job(NEXT_STEP)
async def deal_next_step(ctx: kith.Context, payload: dict[str, Any]) -> None:
    """An open deal has no open task (no next step planned)."""
    deal = await _open_deal(ctx, payload)
    if deal is None:
        return
    m = marks(ctx, 1)
    rows = await ctx.fetch(
        f'SELECT COUNT(*) AS n FROM "tasks" WHERE "record_type" = \'deal\' '  # noqa: S608
        f'AND "record_id" = {m[0]} AND "status" = \'open\' AND "archived_at" IS NULL',
        [deal["id"]],
    )
    if int(rows[0]["n"]):
        return
    stage = await ctx.get(kith.Stage, deal["stage_id"])
    await _nudge(ctx, deal, stage, "no_next_activity", f"Plan the next step for {deal['title']}")


# ---- leads ----------------------------------------------------------------------------------


async def plan_contact(
    ctx: kith.Context, lead: dict[str, Any], owner_id: int | None, time_zone: str | None = None
) -> tuple[int, datetime, str] | None:
    """Give the owner a "Contact …" task due in ``contact_within_hours`` (shown in their
    time zone) and schedule the overdue check. ``None`` when there is no owner or it is off."""
    hours = settings_of(ctx).follow_ups.contact_within_hours
    if not hours or owner_id is None:
        return None
    due = ctx.now() + timedelta(hours=hours)
    who = lead["name"] + (f" ({lead['company']})" if lead.get("company") else "")
    task = await ctx.run(
        "task.create",
        {"title": f"Contact {who}", "due": due, "assignee": owner_id, "lead": lead["id"]},
    )
    await ctx.schedule(
        CONTACT_DUE, {"lead": lead["id"], "task": task.id}, at=due, key=contact_key(lead["id"])
    )
    time_zone = time_zone or await user_time_zone(ctx, owner_id)
    return task.id, due, local_time(due, time_zone)


async def contact_task(ctx: kith.Context, lead_id: int) -> dict[str, Any] | None:
    """The open "Contact …" task the lead's routing created, if any."""
    m = marks(ctx, 1)
    rows = await ctx.fetch(
        'SELECT "contact_task_id" FROM "sales_assignments" WHERE "lead_id" = '  # noqa: S608
        f'{m[0]} AND "contact_task_id" IS NOT NULL ORDER BY "id" DESC LIMIT 1',
        [lead_id],
    )
    if not rows:
        return None
    task = await ctx.find_one(kith.Task, id=rows[0]["contact_task_id"])
    return task if task is not None and task["status"] == "open" else None


async def close_contact_task(ctx: kith.Context, lead_id: int, *, done: bool) -> int | None:
    """Complete (or cancel) a lead's contact task and stop its reminder."""
    await ctx.cancel(contact_key(lead_id))
    task = await contact_task(ctx, lead_id)
    if task is None:
        return None
    if done:
        await ctx.run("task.complete", {"task": task["id"]})
    else:
        await ctx.update(
            kith.Task, task, {"status": "cancelled", "completed_at": ctx.now()}, action="cancelled"
        )
    return task["id"]


@kith.job(CONTACT_DUE)
async def lead_contact_due(ctx: kith.Context, payload: dict[str, Any]) -> None:
    """A new lead's contact task is past due and the lead is still untouched."""
    lead = await ctx.find_one(kith.Lead, id=int(payload["lead"]))
    task = await ctx.find_one(kith.Task, id=int(payload["task"]))
    if lead is None or task is None or task["status"] != "open":
        return
    if lead["status"] not in OPEN_LEAD_STATUSES or lead["archived_at"] is not None:
        return
    ctx.emit(
        "lead.contact_overdue",
        "lead",
        lead["id"],
        lead_name=lead["name"],
        owner_id=task["assignee_id"],
        task_id=task["id"],
        due_at=task["due_at"],
    )


JOBS = [deal_rotting, deal_next_step, lead_contact_due]
