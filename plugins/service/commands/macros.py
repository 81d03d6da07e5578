"""Macros: a saved reply (or internal note) with placeholders that can also set the status,
priority, tags and assignee — one action for a whole routine answer."""

from __future__ import annotations

from typing import Any, Literal

import kith
from pydantic import BaseModel, Field, field_validator

from ..desk import Desk
from ..macros import check, context_for, render
from ..refs import ticket_id
from ..relations import tag_name
from ..tables import Macro


class MacroActions(BaseModel):
    status: Literal["open", "pending", "solved"] | None = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    add_tags: list[str] = Field(default_factory=list, max_length=20)
    remove_tags: list[str] = Field(default_factory=list, max_length=20)
    assignee: kith.Ref | None = Field(None, description="A user, or 'me' (who applies it)")

    @field_validator("add_tags", "remove_tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return [tag_name(v) for v in value]


class MacroCreate(kith.Input):
    name: kith.Name
    body: str | None = Field(None, max_length=100_000, description="Placeholders: {{ ... }}")
    public: bool = Field(True, description="A public reply (true) or an internal comment")
    actions: MacroActions = Field(default_factory=MacroActions)


class MacroUpdate(kith.Input):
    macro: kith.Ref
    name: kith.Name | None = None
    body: str | None = Field(None, max_length=100_000)
    public: bool | None = None
    actions: MacroActions | None = None


class MacroRef(kith.Input):
    macro: kith.Ref


class MacroApply(kith.Input):
    ticket: kith.Ref
    macro: kith.Ref


class MacroOut(BaseModel):
    id: int
    name: str
    body: str | None
    public: bool
    actions: dict[str, Any]
    archived_at: Any = None


class MacroList(BaseModel):
    macros: list[MacroOut]


class Applied(BaseModel):
    ticket: int
    macro: str
    text: str | None
    done: list[str]
    notice: str | None = None


async def find_macro(ctx: kith.Context, ref: Any, field: str = "macro") -> dict[str, Any]:
    text = str(ref).strip().lstrip("#")
    row = (
        await ctx.find_one(Macro, id=int(text))
        if text.isdigit()
        else await ctx.find_one(Macro, name=str(ref).strip())
    )
    if row is None or row["archived_at"] is not None:
        raise kith.not_found("macro", ref, field)
    return row


def _checked(body: str | None, actions: MacroActions) -> None:
    if body is not None:
        check(body)
    elif actions == MacroActions():
        raise kith.invalid("body", "a macro needs a body or at least one action")


@kith.command("macro.create", input=MacroCreate, output=MacroOut, permission="service.manage")
async def create_macro(ctx: kith.Context, data: MacroCreate) -> MacroOut:
    """Save a macro. Its body may use {{ ticket.id }}, {{ ticket.subject }},
    {{ requester.first_name }}, {{ agent.name }}, {{ organization.name }}… (rendered in a
    sandbox; an unknown placeholder is refused here, not discovered by a customer)."""
    _checked(data.body, data.actions)
    if await ctx.find_one(Macro, name=data.name) is not None:
        raise kith.invalid("name", f"there is already a macro called {data.name!r}")
    row = await ctx.insert(
        Macro,
        {
            "name": data.name,
            "body": data.body,
            "public": data.public,
            "actions": data.actions.model_dump(exclude_defaults=True),
        },
    )
    ctx.emit("macro.created", "macro", row["id"], macro=row["name"])
    return MacroOut.model_validate(row)


@kith.command("macro.update", input=MacroUpdate, output=MacroOut, permission="service.manage")
async def update_macro(ctx: kith.Context, data: MacroUpdate) -> MacroOut:
    """Change a macro's name, body, reply kind or actions."""
    row = await find_macro(ctx, data.macro)
    given = data.model_fields_set
    changes: dict[str, Any] = {}
    if data.name is not None:
        changes["name"] = data.name
    if "body" in given:
        changes["body"] = data.body
    if data.public is not None:
        changes["public"] = data.public
    if data.actions is not None:
        changes["actions"] = data.actions.model_dump(exclude_defaults=True)
    actions = MacroActions.model_validate(changes.get("actions", row["actions"]))
    _checked(changes.get("body", row["body"]), actions)
    row, diff = await ctx.update(Macro, row, changes)
    if diff:
        ctx.emit("macro.updated", "macro", row["id"], changes=diff)
    return MacroOut.model_validate(row)


@kith.command(
    "macro.archive",
    input=MacroRef,
    output=MacroOut,
    permission="service.manage",
    idempotent=True,
    destructive=True,
)
async def archive_macro(ctx: kith.Context, data: MacroRef) -> MacroOut:
    """Archive a macro (it disappears from the list; tickets keep what it wrote)."""
    row = await find_macro(ctx, data.macro)
    row, _ = await ctx.update(Macro, row, {"archived_at": ctx.now()}, action="archived")
    ctx.emit("macro.archived", "macro", row["id"])
    return MacroOut.model_validate(row)


class NoInput(kith.Input):
    pass


@kith.command(
    "macro.list", input=NoInput, output=MacroList, permission="tickets.read", read_only=True
)
async def list_macros(ctx: kith.Context, data: NoInput) -> MacroList:
    """The macros agents can apply."""
    rows = [r for r in await ctx.select(Macro, order_by="name") if r["archived_at"] is None]
    return MacroList(macros=[MacroOut.model_validate(r) for r in rows])


@kith.command(
    "macro.preview", input=MacroApply, output=Applied, permission="tickets.read", read_only=True
)
async def preview_macro(ctx: kith.Context, data: MacroApply) -> Applied:
    """What a macro would write on a ticket, without doing anything."""
    macro = await find_macro(ctx, data.macro)
    ticket = await ctx.get(kith.Ticket, await ticket_id(ctx, data.ticket), field="ticket")
    text = render(macro["body"], await context_for(ctx, ticket)) if macro["body"] else None
    return Applied(ticket=ticket["id"], macro=macro["name"], text=text, done=[])


@kith.command("macro.apply", input=MacroApply, output=Applied, permission="tickets.write")
async def apply_macro(ctx: kith.Context, data: MacroApply) -> Applied:
    """Apply a macro to a ticket in one action: assign, set the priority, tag, then post the
    rendered reply (or internal comment) and set the status. Each step is the ticket
    command it stands for, so every rule and event still applies; history names the
    macro."""
    macro = await find_macro(ctx, data.macro)
    actions = MacroActions.model_validate(macro["actions"] or {})
    desk = await Desk.load(ctx, data.ticket, follow_merge=True)
    number, done = desk.id, []
    if actions.assignee is not None:
        await ctx.run("ticket.assign", {"ticket": number, "assignee": actions.assignee})
        done.append("assigned")
    if actions.priority is not None:
        await ctx.run("ticket.set_priority", {"ticket": number, "priority": actions.priority})
        done.append(f"priority {actions.priority}")
    if actions.add_tags or actions.remove_tags:
        await ctx.run(
            "ticket.tag",
            {"ticket": number, "add": actions.add_tags, "remove": actions.remove_tags},
        )
        done.append("tagged")
    text = None
    if macro["body"]:
        ticket = await ctx.get(kith.Ticket, number)
        text = render(macro["body"], await context_for(ctx, ticket))
        if macro["public"]:
            payload: dict[str, Any] = {"ticket": number, "body": text}
            if actions.status is not None:
                payload["status"] = actions.status
            await ctx.run("ticket.reply", payload)
            done.append("replied")
        else:
            await ctx.run("ticket.comment", {"ticket": number, "body": text})
            done.append("commented")
    if actions.status is not None and not (macro["body"] and macro["public"]):
        await ctx.run("ticket.set_status", {"ticket": number, "status": actions.status})
    if actions.status is not None:
        done.append(f"status {actions.status}")
    ctx.record_history("ticket", number, "macro_applied", {"macro": [None, macro["name"]]})
    return Applied(ticket=number, macro=macro["name"], text=text, done=done, notice=desk.notice)
