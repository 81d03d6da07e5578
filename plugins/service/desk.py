"""The ticket a command works on: its core row, its service state and its SLA, changed
together and saved once.

Commands load a :class:`Desk` (locking the ticket row), call its methods — each one changes
the core row with history, emits the one event for that change and moves the SLA clocks —
and end with :meth:`Desk.save`, which writes the state row and moves the ticket's SLA job.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import kith

from .refs import lock_row, ticket_id
from .settings import service_settings
from .sla.calendar import BusinessCalendar
from .sla.clocks import sync
from .sla.engine import TicketSla, load_calendar
from .tables import Csat, Message, TicketState

SLA_JOB = "service.sla"
AUTO_CLOSE_JOB = "service.auto_close"
CSAT_JOB = "service.csat_request"
STATUSES = ("new", "open", "pending", "solved", "closed")
# status → the statuses it may change to (anything else is refused, e.g. pending → new)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("open", "pending", "solved"),
    "open": ("pending", "solved"),
    "pending": ("open", "solved"),
    "solved": ("open", "pending", "closed"),
    "closed": (),
}


def check_transition(ticket: dict[str, Any], new: str) -> None:
    old = ticket["status"]
    if new in TRANSITIONS[old]:
        return
    if old == "closed":
        reason = "closed tickets stay closed; a new customer message opens a follow-up ticket"
    elif new == "new":
        reason = "a ticket is new only until someone works on it"
    elif new == "closed":
        reason = "only a solved ticket can be closed"
    else:
        reason = f"allowed from {old}: {', '.join(TRANSITIONS[old])}"
    raise kith.KithError(
        "invalid_transition",
        f"Ticket #{ticket['id']} cannot go from {old} to {new}: {reason}.",
        [kith.FieldError("status", f"cannot go from {old} to {new}", "invalid_transition")],
        status=409,
    )


class Desk:
    """One ticket being worked on inside one command."""

    def __init__(
        self, ctx: kith.Context, ticket: dict[str, Any], state: dict[str, Any], sla: TicketSla
    ) -> None:
        self.ctx = ctx
        self.ticket = ticket
        self.state = state
        self.sla = sla
        self.redirected_from: int | None = None
        self.pending: dict[str, Any] = {}

    # ---- loading -----------------------------------------------------------------------------
    @classmethod
    async def load(
        cls,
        ctx: kith.Context,
        ref: Any,
        *,
        field: str = "ticket",
        follow_merge: bool = False,
    ) -> Desk:
        """The ticket ``ref`` names, locked. With ``follow_merge`` a merged ticket gives its
        survivor (``redirected_from`` says which was asked for); without, it is refused."""
        number = await ticket_id(ctx, ref, field)
        ticket = await lock_row(ctx, kith.Ticket, number, field)
        state = await ctx.find_one(TicketState, ticket_id=number)
        if state is None:
            from .intake import intake

            return await intake(ctx, number)
        desk = cls(ctx, ticket, state, await TicketSla.load(ctx, state))
        survivor = state["merged_into_id"]
        if survivor is not None:
            if not follow_merge:
                raise kith.KithError(
                    "merged",
                    f"Ticket #{number} was merged into #{survivor}: work on #{survivor}.",
                    [kith.FieldError(field, f"was merged into #{survivor}", "merged")],
                    status=409,
                )
            desk = await cls.load(ctx, survivor, field=field)
            desk.redirected_from = number
        if ticket["archived_at"] is not None and desk.redirected_from is None:
            raise kith.KithError(
                "archived",
                f"Ticket #{number} is archived; restore it before working on it.",
                [kith.FieldError(field, "is archived", "archived")],
                status=409,
            )
        return desk

    def current(self, key: str) -> Any:
        """A state column as it will be saved (pending change, else stored)."""
        return self.pending[key] if key in self.pending else self.state[key]

    @property
    def id(self) -> int:
        return int(self.ticket["id"])

    @property
    def calendar(self) -> BusinessCalendar:
        return self.sla.calendar

    @property
    def notice(self) -> str | None:
        if self.redirected_from is None:
            return None
        return (
            f"Ticket #{self.redirected_from} was merged into #{self.id}; this went to #{self.id}."
        )

    # ---- changes -------------------------------------------------------------------------------
    async def _update(self, changes: dict[str, Any], action: str) -> dict[str, list[Any]]:
        self.ticket, diff = await self.ctx.update(kith.Ticket, self.ticket, changes, action=action)
        return diff

    async def set_status(self, new: str) -> bool:
        """Change the status (refusing nonsense), with its SLA, auto-close and CSAT effects."""
        old = self.ticket["status"]
        if new == old:
            return False
        check_transition(self.ticket, new)
        ctx, now, clocks = self.ctx, self.ctx.now(), self.sla.clocks
        await self._update({"status": new}, action="status_changed")
        ctx.emit("ticket.status_changed", "ticket", self.id, before=old, after=new)
        settings = service_settings(ctx)
        if new == "solved":
            clocks["resolution"].meet(self.calendar, now)
            self.pending["solved_at"] = now
            await ctx.schedule(
                AUTO_CLOSE_JOB,
                {"ticket": self.id},
                at=now + timedelta(days=settings.auto_close_days),
                key=f"autoclose:{self.id}",
            )
            if await ctx.find_one(Csat, ticket_id=self.id) is None:
                await ctx.schedule(
                    CSAT_JOB,
                    {"ticket": self.id},
                    at=now + timedelta(minutes=settings.csat_delay_minutes),
                    key=f"csat:{self.id}",
                )
        elif old == "solved":
            clocks["resolution"].unmeet()
            self.pending["solved_at"] = None
            await ctx.cancel(f"autoclose:{self.id}")
            await ctx.cancel(f"csat:{self.id}")
        if new == "closed":
            self.pending["closed_at"] = now
            self.sla.stop_all(now)
        return True

    async def set_priority(self, new: str, *, reason: str | None = None) -> bool:
        """Change the priority; the SLA due times are recomputed from the ticket's start."""
        old = self.ticket["priority"]
        if new == old:
            return False
        await self._update({"priority": new}, action="priority_changed")
        data: dict[str, Any] = {"before": old, "after": new}
        if reason:
            data["reason"] = reason
        self.ctx.emit("ticket.priority_changed", "ticket", self.id, **data)
        self.sla.retarget(new)
        return True

    async def assign(self, assignee_id: int | None, team_id: int | None, *, by: str) -> bool:
        """Give the ticket to ``assignee_id`` in ``team_id``; ``by`` (who or which rule chose)
        goes into history and the ``ticket.assigned`` event."""
        changes = {}
        if assignee_id != self.ticket["assignee_id"]:
            changes["assignee_id"] = assignee_id
        if team_id != self.ticket["team_id"]:
            changes["team_id"] = team_id
        if not changes:
            return False
        before = dict(self.ticket)
        self.ticket, diff = await self.ctx.update(
            kith.Ticket, self.ticket, changes, record_history=False
        )
        self.ctx.record_history("ticket", self.id, "assigned", {**diff, "by": [None, by]})
        self.ctx.emit(
            "ticket.assigned",
            "ticket",
            self.id,
            assignee_id=self.ticket["assignee_id"],
            team_id=self.ticket["team_id"],
            before={"assignee_id": before["assignee_id"], "team_id": before["team_id"]},
            by=by,
        )
        if "team_id" in changes:
            await self.recalendar()
        if assignee_id is not None and self.ticket["status"] == "new":
            await self.set_status("open")
        return True

    async def recalendar(self, calendar_id: int | None = None, *, choose: bool = True) -> None:
        """Switch to the calendar that now applies; time counted so far stays counted."""
        if choose:
            from .intake import choose_calendar

            calendar_id = await choose_calendar(self.ctx, self.ticket, self.state["policy_id"])
        if calendar_id == self.current("calendar_id") and choose:
            return
        now = self.ctx.now()
        for clock in self.sla.clocks.values():
            clock.rebase(self.sla.calendar, now)
        self.sla.calendar = await load_calendar(self.ctx, calendar_id)
        self.pending["calendar_id"] = calendar_id

    def agent_replied(self) -> None:
        """A public agent reply: it meets the first response and any next response."""
        now = self.ctx.now()
        first, following = self.sla.clocks["first_response"], self.sla.clocks["next_response"]
        if first.active:
            first.meet(self.calendar, now)
            self.pending["first_response_at"] = now
        if following.active:
            following.meet(self.calendar, now)

    def customer_wrote(self) -> None:
        """A customer message after the first response starts the next-response clock
        (unless one is already counting from an earlier unanswered message)."""
        first, following = self.sla.clocks["first_response"], self.sla.clocks["next_response"]
        if not first.active and first.met_at is not None and not following.active:
            following.start(self.ctx.now())

    async def add_message(
        self,
        kind: str,
        body: str,
        *,
        public: bool,
        author_user_id: int | None = None,
        author_contact_id: int | None = None,
        cc: list[str] | None = None,
        channel: str = "api",
        external_id: str | None = None,
    ) -> dict[str, Any]:
        """Record a customer message, a public reply or an internal comment."""
        row = await self.ctx.insert(
            Message,
            {
                "ticket_id": self.id,
                "kind": kind,
                "public": public,
                "author_user_id": author_user_id,
                "author_contact_id": author_contact_id,
                "body": body,
                "cc": cc or [],
                "channel": channel,
                "external_id": external_id,
            },
            record_history=False,
        )
        action = {"customer": "customer_message", "reply": "replied", "comment": "commented"}
        self.ctx.record_history(
            "ticket",
            self.id,
            action[kind],
            {"message": [None, row["id"]], "public": [None, public]},
        )
        return row

    # ---- saving ----------------------------------------------------------------------------------
    async def save(self, *, in_job: bool = False) -> None:
        """Write the state row and move the SLA job to the next moment (or cancel it)."""
        ctx, now = self.ctx, self.ctx.now()
        if self.ticket["archived_at"] is not None:
            for clock in self.sla.clocks.values():
                clock.pause(self.calendar, now)
        elif self.ticket["status"] != "closed" and self.current("merged_into_id") is None:
            sync(self.sla.clocks, self.calendar, self.ticket["status"], now)
        columns = self.sla.columns()
        previous = self.state.get("next_check_at")
        self.state, _ = await ctx.update(
            TicketState, self.state, {**columns, **self.pending}, record_history=False
        )
        self.pending = {}
        next_check = columns["next_check_at"]
        if next_check == previous and not in_job:
            return
        key = f"sla:{self.id}"
        if next_check is not None:
            await ctx.schedule(SLA_JOB, {"ticket": self.id}, at=next_check, key=key)
        elif previous is not None:
            await ctx.cancel(key)
