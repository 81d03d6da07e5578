"""Confirmation round trip for destructive verbs sent to a command address.

``deal won Acme`` by mail does not run at once: the answer asks the owner to reply with
``confirm <code>`` (an 8-character code, short enough to survive any mail client) within
24 hours. The pending line and its use are history rows of the user (``email_confirm:<code>``
then ``email_confirmed:<code>``), so a code works once, only for the user it was made for,
and the whole exchange is on record.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import timedelta
from typing import Any

import kith

VALID_FOR = timedelta(hours=24)
CONFIRM_LINE = re.compile(r"^confirm\s+([0-9a-f]{8})$", re.IGNORECASE)


async def user_history(ctx: kith.Context, user_id: int, action: str) -> list[dict[str, Any]]:
    """The history rows of one action on a user (command address rotations, confirmations)."""
    marks = ctx.kith.db.statements.placeholders(3)
    sql = (  # only placeholders are formatted in; the values are bound
        'SELECT "at", "changes" FROM "history" WHERE "entity" = '  # noqa: S608
        f'{marks[0]} AND "entity_id" = {marks[1]} AND "action" = {marks[2]}'
    )
    return await ctx.fetch(sql, ["user", user_id, action])


async def ask(ctx: kith.Context, user_id: int, line: str, command: str) -> str:
    """Record the pending line; the answer that asks for the confirmation."""
    code = secrets.token_hex(4)
    ctx.record_history("user", user_id, f"email_confirm:{code}", {"line": [None, line]})
    return (
        f"{command} cannot be undone easily, so it waits for your confirmation.\n"
        f"Reply with this line within 24 hours to run it:\n\nconfirm {code}"
    )


async def confirm(ctx: kith.Context, user_id: int, code: str) -> str:
    """The line a confirmation code stands for; refused when unknown, used or expired."""
    code = code.lower()
    rows = await user_history(ctx, user_id, f"email_confirm:{code}")
    if not rows:
        raise kith.invalid("confirm", f"no pending command has the code {code}")
    if await user_history(ctx, user_id, f"email_confirmed:{code}"):
        raise kith.invalid("confirm", f"the code {code} was already used")
    row = rows[0]
    at = row["at"]
    if isinstance(at, str):
        from datetime import datetime

        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=ctx.now().tzinfo)
    if ctx.now() - at > VALID_FOR:
        raise kith.invalid("confirm", f"the code {code} expired: send the command again")
    changes = row["changes"]
    if isinstance(changes, str):
        changes = json.loads(changes)
    return str(changes["line"][1])


def mark_used(ctx: kith.Context, user_id: int, code: str, line: str) -> None:
    """The confirmed command ran: its code never works again."""
    ctx.record_history("user", user_id, f"email_confirmed:{code.lower()}", {"line": [None, line]})
