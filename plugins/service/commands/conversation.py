"""The conversation on a ticket: public replies, internal comments, customer messages."""

from __future__ import annotations

from typing import Any, Literal

import kith
from pydantic import ConfigDict, Field

from ..desk import Desk
from ..intake import intake
from ..refs import resolve
from ..relations import add_cc, ccs, link
from ..schemas import Body, Channel, MessageOut, MessageResult, Priority, ticket_view
from ..tables import Message


class Reply(kith.Input):
    ticket: kith.Ref
    body: str = Body
    cc: list[kith.Email] = Field(default_factory=list, max_length=50, description="Copy them in")
    status: Literal["open", "pending", "solved"] | None = Field(
        None, description="Set the status in the same action (e.g. pending: waiting on them)"
    )
    acknowledgement: bool = Field(
        False, description="An automatic acknowledgement: never counts as the first response"
    )


class Comment(kith.Input):
    ticket: kith.Ref
    body: str = Body


class CustomerMessage(kith.Input):
    model_config = ConfigDict(populate_by_name=True)

    ticket: kith.Ref | None = Field(None, description="Omit to open a new ticket")
    sender: kith.Email = Field(alias="from", description="The customer's email address")
    body: str = Body
    subject: str | None = Field(None, min_length=1, max_length=500)
    cc: list[kith.Email] = Field(default_factory=list, max_length=50)
    message_id: str | None = Field(
        None, max_length=500, description="The email's Message-ID: a message is recorded once"
    )
    channel: Channel = "email"
    priority: Priority = "normal"
    team: kith.Ref | None = Field(None, description="For a new ticket: its team")


def _channel(ctx: kith.Context) -> str:
    return ctx.actor.via.split(":", 1)[0][:20] or "api"


def _result(desk: Desk, message: dict[str, Any], notice: str | None = None) -> MessageResult:
    return MessageResult(
        ticket=ticket_view(desk.ticket, desk.state),
        message=MessageOut.model_validate(message),
        notice=notice or desk.notice,
    )


def _refuse_closed(desk: Desk) -> None:
    if desk.ticket["status"] == "closed":
        raise kith.KithError(
            "closed",
            f"Ticket #{desk.id} is closed; a new message from the customer opens a follow-up.",
            [kith.FieldError("ticket", "is closed", "closed")],
            status=409,
        )


async def _recipients(ctx: kith.Context, desk: Desk) -> tuple[str | None, list[str]]:
    requester = (
        await ctx.find_one(kith.Contact, id=desk.ticket["requester_id"])
        if desk.ticket["requester_id"]
        else None
    )
    return (requester or {}).get("email"), await ccs(ctx, desk.id)


@kith.command("ticket.reply", input=Reply, output=MessageResult, permission="tickets.write")
async def reply(ctx: kith.Context, data: Reply) -> MessageResult:
    """Reply to the requester (public: the email channel sends it to them and the CCs).

    The first public reply by an agent meets the first-response target, and each later one
    meets the next-response target. On a merged ticket the reply goes to the ticket it was
    merged into, and the answer says so."""
    desk = await Desk.load(ctx, data.ticket, follow_merge=True)
    _refuse_closed(desk)
    for email in data.cc:
        await add_cc(ctx, desk.id, email)
    message = await desk.add_message(
        "reply",
        data.body,
        public=True,
        author_user_id=ctx.actor.user_id,
        cc=data.cc,
        channel=_channel(ctx),
    )
    if ctx.actor.user_id is not None and not data.acknowledgement:
        desk.agent_replied()
    if data.status is not None:
        await desk.set_status(data.status)
    elif desk.ticket["status"] == "new":
        await desk.set_status("open")
    to, cc = await _recipients(ctx, desk)
    ctx.emit(
        "ticket.replied",
        "ticket",
        desk.id,
        message=message["id"],
        body=data.body,
        to=to,
        cc=cc,
        subject=desk.ticket["subject"],
        author_user_id=ctx.actor.user_id,
        acknowledgement=data.acknowledgement,
        redirected_from=desk.redirected_from,
    )
    await desk.save()
    return _result(desk, message)


@kith.command("ticket.comment", input=Comment, output=MessageResult, permission="tickets.write")
async def comment(ctx: kith.Context, data: Comment) -> MessageResult:
    """Add an internal comment: agents see it, the customer never does, and it does not
    count as a response."""
    desk = await Desk.load(ctx, data.ticket, follow_merge=True)
    message = await desk.add_message(
        "comment",
        data.body,
        public=False,
        author_user_id=ctx.actor.user_id,
        channel=_channel(ctx),
    )
    ctx.emit(
        "ticket.commented",
        "ticket",
        desk.id,
        message=message["id"],
        author_user_id=ctx.actor.user_id,
        redirected_from=desk.redirected_from,
    )
    await desk.save()
    return _result(desk, message)


async def _contact_for(ctx: kith.Context, email: str) -> dict[str, Any]:
    try:
        return await resolve(ctx, "contact", email, "from")
    except kith.KithError as err:
        if err.code != "not_found":
            raise
    out = await ctx.run("contact.create", {"name": email.split("@")[0], "email": email})
    return out.model_dump()


async def _open(ctx: kith.Context, data: CustomerMessage, subject: str) -> Desk:
    payload: dict[str, Any] = {
        "subject": subject,
        "requester": data.sender,
        "priority": data.priority,
        "channel": data.channel,
    }
    if data.team is not None:
        payload["team"] = data.team
    created = await ctx.run("ticket.create", payload)
    return await intake(ctx, created.id)


@kith.command(
    "ticket.customer_message",
    input=CustomerMessage,
    output=MessageResult,
    permission="tickets.write",
)
async def customer_message(ctx: kith.Context, data: CustomerMessage) -> MessageResult:
    """Record a message from a customer (the email channel calls this for each mail).

    Without ``ticket`` it opens a new ticket. On a pending or solved ticket it reopens it;
    on a closed one it opens a follow-up ticket linked to it; on a merged one it goes to the
    survivor. A ``message_id`` seen before is not recorded twice."""
    if data.message_id:
        seen = await ctx.find_one(Message, external_id=data.message_id)
        if seen is not None:
            desk = await Desk.load(ctx, seen["ticket_id"], follow_merge=True)
            result = _result(desk, seen, "This message was recorded already.")
            result.duplicate = True
            return result
    notice = None
    follow_up_of = None
    if data.ticket is None:
        if not data.subject:
            raise kith.invalid("subject", "is required to open a new ticket")
        desk = await _open(ctx, data, data.subject)
    else:
        desk = await Desk.load(ctx, data.ticket, follow_merge=True)
        if desk.ticket["status"] == "closed":
            follow_up_of = desk.id
            desk = await _open(ctx, data, data.subject or desk.ticket["subject"])
            await link(ctx, follow_up_of, desk.id, "follow_up")
            notice = (
                f"Ticket #{follow_up_of} is closed; this message opened follow-up ticket "
                f"#{desk.id}."
            )
    contact = await _contact_for(ctx, data.sender)
    for email in data.cc:
        await add_cc(ctx, desk.id, email)
    message = await desk.add_message(
        "customer",
        data.body,
        public=True,
        author_contact_id=contact["id"],
        cc=data.cc,
        channel=data.channel,
        external_id=data.message_id,
    )
    reopened = desk.ticket["status"] == "solved"
    if desk.ticket["status"] in ("pending", "solved"):
        await desk.set_status("open")
    desk.customer_wrote()
    ctx.emit(
        "ticket.message_received",
        "ticket",
        desk.id,
        message=message["id"],
        sender=data.sender,
        contact=contact["id"],
        reopened=reopened,
        follow_up_of=follow_up_of,
        redirected_from=desk.redirected_from,
    )
    await desk.save()
    return _result(desk, message, notice)
