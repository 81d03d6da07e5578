"""What the ticket's SLA job does when it runs: warnings, breaches and escalation steps that
are due, each once, then the job moved to the next moment.

Warnings and breaches are announced with the moment they happened (the due time), not the
moment the job ran, so a runner that was briefly down still reports the truth. A breach that
is due together with its warning is announced alone (the warning is marked as passed).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import kith

from .clocks import LABELS
from .policy import EscalationStep, raised

if TYPE_CHECKING:
    from ..desk import Desk

MAX_ROUNDS = 10


def _minutes(td: Any) -> int | None:
    return None if td is None else int(td.total_seconds() // 60)


def fire_clocks(desk: Desk, now: datetime) -> bool:
    """Announce the warnings and breaches due by ``now``; True if any was."""
    sla, ctx = desk.sla, desk.ctx
    fired = False
    for clock in sla.tracked():
        due = clock.due_at(sla.calendar)
        warn = clock.warn_at(sla.calendar, sla.policy.warn_share)
        data = {
            "metric": clock.metric,
            "label": LABELS[clock.metric],
            "target_minutes": _minutes(clock.target),
            "due_at": due,
            "policy": sla.policy.name,
            "assignee_id": desk.ticket["assignee_id"],
            "team_id": desk.ticket["team_id"],
        }
        if clock.breached_at is None and due is not None and due <= now:
            clock.breached_at = due
            clock.warned_at = clock.warned_at or due
            ctx.emit("ticket.sla_breached", "ticket", desk.id, **data)
            ctx.record_history(
                "ticket", desk.id, "sla_breached", {clock.metric: [None, due.isoformat()]}
            )
            sla.start_chain("breach", due)
            fired = True
        elif warn is not None and warn <= now:
            clock.warned_at = warn
            remaining = clock.remaining(sla.calendar, now)
            ctx.emit(
                "ticket.sla_warning",
                "ticket",
                desk.id,
                **data,
                remaining_minutes=_minutes(remaining),
            )
            ctx.record_history(
                "ticket",
                desk.id,
                "sla_warning",
                {clock.metric: [None, due.isoformat() if due else None]},
            )
            sla.start_chain("warning", warn)
            fired = True
    return fired


async def _perform(desk: Desk, step: EscalationStep, level: int, trigger: str) -> None:
    ctx = desk.ctx
    done: list[dict[str, Any]] = []
    slack: list[str] = []
    emails: list[str] = []
    for action in step.actions:
        if action.type == "assign_lead":
            team = (
                await ctx.find_one(kith.Team, id=desk.ticket["team_id"])
                if desk.ticket["team_id"] is not None
                else None
            )
            lead = team["lead_id"] if team else None
            if lead is None:
                done.append({"type": "assign_lead", "skipped": "the ticket's team has no lead"})
            else:
                await desk.assign(lead, desk.ticket["team_id"], by=f"escalation L{level}")
                done.append({"type": "assign_lead", "assignee_id": lead})
        elif action.type == "raise_priority":
            before = desk.ticket["priority"]
            after = raised(before)
            await desk.set_priority(after, reason=f"escalation L{level}")
            done.append({"type": "raise_priority", "priority": [before, after]})
        elif action.type == "notify_slack":
            slack.append(action.channel or "")
            done.append({"type": "notify_slack", "channel": action.channel})
        else:
            emails.append(action.to or "")
            done.append({"type": "email", "to": action.to})
    breached = [c.metric for c in desk.sla.tracked() if c.breached_at is not None]
    warned = [c.metric for c in desk.sla.tracked() if c.warned_at is not None]
    ctx.emit(
        "ticket.escalated",
        "ticket",
        desk.id,
        level=level,
        trigger=trigger,
        metrics=breached if trigger == "breach" else warned,
        actions=done,
        slack_channels=slack,
        email_to=emails,
        subject=desk.ticket["subject"],
        priority=desk.ticket["priority"],
        assignee_id=desk.ticket["assignee_id"],
    )
    ctx.record_history(
        "ticket",
        desk.id,
        "escalated",
        {"level": [level - 1 or None, level], "trigger": [None, trigger], "actions": [None, done]},
    )


async def run_steps(desk: Desk, now: datetime) -> bool:
    """Perform the escalation steps due by ``now``; True if any was."""
    fired = False
    for trigger in ("warning", "breach"):
        while True:
            at = desk.sla.next_step_at(trigger)
            chain = desk.sla.live_chain(trigger)
            if at is None or chain is None or at > now:
                break
            step = desk.sla.policy.steps(trigger)[chain.done]
            chain.done += 1
            await _perform(desk, step, chain.done, trigger)
            fired = True
    return fired


async def check(desk: Desk) -> None:
    """The SLA job's work for one ticket."""
    now = desk.ctx.now()
    if desk.ticket["status"] in ("solved", "closed") or desk.current("merged_into_id"):
        await desk.save(in_job=True)
        return
    for _ in range(MAX_ROUNDS):
        fired = fire_clocks(desk, now)
        fired = await run_steps(desk, now) or fired
        if not fired:
            break
    await desk.save(in_job=True)
