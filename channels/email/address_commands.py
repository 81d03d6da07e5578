"""Commands for users' private command addresses: show one, rotate one."""

from __future__ import annotations

import kith
from pydantic import BaseModel

from .for_users import ROTATED, command_address, command_local, rotations
from .settings import email_settings


class UserRef(kith.Input):
    user: kith.Ref = "me"


class CommandAddress(BaseModel):
    user_id: int
    address: str


async def _user(ctx: kith.Context, ref: kith.Ref) -> dict:
    user = await ctx.run("user.get", {"user": ref})
    if ctx.actor.user_id != user.id and ctx.actor.role not in ("admin", "system"):
        raise kith.forbidden("only the user or an admin may see or change a command address")
    return user.model_dump()


@kith.command(
    "email.command_address", input=UserRef, output=CommandAddress,
    permission="email.read", read_only=True,
)  # fmt: skip
async def show_address(ctx: kith.Context, data: UserRef) -> CommandAddress:
    """A user's private command address: mail /kith verbs to it (yours, or any as an admin)."""
    user = await _user(ctx, data.user)
    return CommandAddress(user_id=user["id"], address=await command_address(ctx, user["id"]))


@kith.command(
    "email.rotate_address", input=UserRef, output=CommandAddress, permission="email.write"
)
async def rotate_address(ctx: kith.Context, data: UserRef) -> CommandAddress:
    """Give a user a new command address; the old one stops working at once."""
    user = await _user(ctx, data.user)
    version = await rotations(ctx, user["id"]) + 1  # the history row is written at commit
    ctx.record_history("user", user["id"], ROTATED, {"version": [version - 1, version]})
    ctx.emit("user.command_address_rotated", "user", user["id"])
    local = command_local(ctx.kith, user["id"], version)
    return CommandAddress(user_id=user["id"], address=f"{local}@{email_settings(ctx).domain}")
