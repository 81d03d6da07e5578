"""One ticket's SLA: its policy, calendar, clocks and escalation chains, and what to store.

The clocks live as JSON on ``service_ticket_state``; what queues filter on is copied into
indexed columns (:meth:`TicketSla.columns`). The next moment something must happen — a
warning, a breach, an escalation step — is :meth:`TicketSla.next_check`: the ticket's one
scheduled job (key ``sla:<ticket id>``) is moved to it whenever it changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import kith

from ..tables import Calendar, Holiday, SlaPolicy
from .calendar import ALWAYS, BusinessCalendar, add_business_time
from .clocks import METRICS, Clock, dump_clocks, load_clocks
from .policy import NO_POLICY, Policy, PolicyRules

TRIGGERS = ("warning", "breach")


def week_from_json(raw: Any) -> tuple[tuple[tuple[int, int], ...], ...]:
    return tuple(tuple((int(a), int(b)) for a, b in day) for day in raw)


async def load_calendar(ctx: kith.Context, calendar_id: int | None) -> BusinessCalendar:
    """The business calendar with its holidays (around the clock when ``None``)."""
    if calendar_id is None:
        return ALWAYS
    row = await ctx.get(Calendar, calendar_id, field="calendar")
    days: list[date] = [h["day"] for h in await ctx.select(Holiday, calendar_id=calendar_id)]
    return BusinessCalendar(row["time_zone"], week_from_json(row["hours"]), frozenset(days))


async def load_policy(ctx: kith.Context, policy_id: int | None) -> Policy:
    if policy_id is None:
        return NO_POLICY
    row = await ctx.get(SlaPolicy, policy_id, field="policy")
    return Policy(row["id"], row["name"], PolicyRules.model_validate(row["rules"]))


@dataclass
class Chain:
    """An escalation chain started by the first warning (or breach) of a ticket."""

    since: datetime
    done: int = 0
    ended: bool = False

    def dump(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "done": self.done, "ended": self.ended}

    @classmethod
    def load(cls, raw: dict[str, Any]) -> Chain:
        return cls(datetime.fromisoformat(raw["since"]), int(raw["done"]), bool(raw["ended"]))


@dataclass
class TicketSla:
    policy: Policy
    calendar: BusinessCalendar
    clocks: dict[str, Clock]
    chains: dict[str, Chain] = field(default_factory=dict)

    @classmethod
    async def load(cls, ctx: kith.Context, state: dict[str, Any]) -> TicketSla:
        chains = {k: Chain.load(v) for k, v in (state.get("escalation") or {}).items()}
        return cls(
            await load_policy(ctx, state["policy_id"]),
            await load_calendar(ctx, state["calendar_id"]),
            load_clocks(state.get("clocks")),
            chains,
        )

    # ---- targets -------------------------------------------------------------------------------
    def retarget(self, priority: str) -> None:
        """Targets of ``priority``: due times move as if they had applied from the start."""
        for metric, clock in self.clocks.items():
            clock.target = self.policy.target(priority, metric)

    # ---- what is due ---------------------------------------------------------------------------
    def tracked(self) -> list[Clock]:
        """Running clocks with a target: the ones that can warn or breach now."""
        return [c for c in self.clocks.values() if c.tracked and c.running]

    def condition(self, trigger: str) -> bool:
        """Whether a running clock is still warned (``warning``) or breached (``breach``)."""
        attr = "warned_at" if trigger == "warning" else "breached_at"
        return any(getattr(c, attr) is not None for c in self.tracked())

    def live_chain(self, trigger: str) -> Chain | None:
        chain = self.chains.get(trigger)
        if chain is None or chain.ended:
            return None
        if chain.done >= len(self.policy.steps(trigger)) or not self.condition(trigger):
            chain.ended = True
            return None
        return chain

    def next_step_at(self, trigger: str) -> datetime | None:
        chain = self.live_chain(trigger)
        if chain is None:
            return None
        step = self.policy.steps(trigger)[chain.done]
        return add_business_time(self.calendar, chain.since, timedelta(minutes=step.after))

    def start_chain(self, trigger: str, at: datetime) -> None:
        """A warning or breach happened at ``at``: start a chain unless one is under way."""
        if self.policy.steps(trigger) and self.live_chain(trigger) is None:
            self.chains[trigger] = Chain(since=at)

    def next_check(self) -> datetime | None:
        """The next moment the ticket's SLA job must run (None: nothing to watch)."""
        moments: list[datetime] = []
        for clock in self.tracked():
            if clock.breached_at is None:
                due = clock.due_at(self.calendar)
                if due is not None:
                    moments.append(due)
                warn = clock.warn_at(self.calendar, self.policy.warn_share)
                if warn is not None:
                    moments.append(warn)
        for trigger in TRIGGERS:
            step_at = self.next_step_at(trigger)
            if step_at is not None:
                moments.append(step_at)
        return min(moments, default=None)

    # ---- storage ---------------------------------------------------------------------------------
    def columns(self) -> dict[str, Any]:
        """The state row's SLA columns (clocks JSON and the due times queues filter on)."""
        out: dict[str, Any] = {"clocks": dump_clocks(self.clocks)}
        unbreached: list[datetime] = []
        for metric in METRICS:
            clock = self.clocks[metric]
            due = clock.due_at(self.calendar)
            out[f"{metric}_due_at"] = due
            if due is not None and clock.breached_at is None:
                unbreached.append(due)
        out["next_breach_at"] = min(unbreached, default=None)
        out["breached_at"] = min(
            (c.breached_at for c in self.clocks.values() if c.active and c.breached_at),
            default=None,
        )
        out["escalation"] = {k: v.dump() for k, v in self.chains.items()}
        out["next_check_at"] = self.next_check()
        return out

    def stop_all(self, at: datetime) -> None:
        """The ticket left service (closed, merged): no clock counts any more."""
        for clock in self.clocks.values():
            clock.pause(self.calendar, at)
            clock.active = False
        for chain in self.chains.values():
            chain.ended = True
