"""Who a note mentions: people (``<@U024BE7LH>`` as Slack writes an escaped mention,
``@ben`` — a first name or the part of an email before the ``@`` —, or
``@ana@example.com``) and records (``@deal:42``, ``@ticket:311``, ``@lead:7``,
``@contact:12``, ``@org:3``), whose owner is then the one mentioned."""

from __future__ import annotations

import re
from typing import Any

import kith

SLACK_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,30})(?:\|[^>]*)?>")
EMAIL_MENTION = re.compile(r"(?<![\w.])@([\w.+-]+@[\w-]+(?:\.[\w-]+)+)")
HANDLE_MENTION = re.compile(r"(?<![\w.<@])@([A-Za-z][\w-]{0,40}(?:\.[\w-]+)*)(?![\w@:])")
RECORD_MENTION = re.compile(
    r"(?<![\w.])@(deal|ticket|lead|contact|org|organization):#?(\d{1,12})\b", re.IGNORECASE
)
# which column names the person a record belongs to
OWNER_COLUMN = {"ticket": "assignee_id"}
MAX_MENTIONS = 20  # a note naming everyone notifies no one past this


async def mentioned_users(app: kith.Kith, body: str) -> dict[int, str]:
    """The Kith users ``body`` mentions → why (``"you"`` or the record that is theirs)."""
    found: dict[int, str] = {}
    refs: list[tuple[str, Any]] = [(m, "you") for m in SLACK_MENTION.findall(body)]
    refs += [(m, "you") for m in EMAIL_MENTION.findall(body)]
    for ref, why in refs[:MAX_MENTIONS]:
        try:
            user = await app.run("user.get", {"user": ref}, kith.SYSTEM)
        except kith.KithError:
            continue
        found.setdefault(user.id, why)
    for handle in HANDLE_MENTION.findall(body)[:MAX_MENTIONS]:
        user = await _by_handle(app, handle)
        if user is not None:
            found.setdefault(user.id, "you")
    for kind, number in RECORD_MENTION.findall(body)[:MAX_MENTIONS]:
        entity = "organization" if kind.lower() in ("org", "organization") else kind.lower()
        try:
            record = await app.run(f"{entity}.get", {entity: int(number)}, kith.SYSTEM)
        except kith.KithError:
            continue
        owner = getattr(record, OWNER_COLUMN.get(entity, "owner_id"), None)
        if owner is not None:
            label = getattr(record, "title", None) or getattr(record, "subject", None)
            label = label or getattr(record, "name", None) or f"#{number}"
            found.setdefault(int(owner), f"your {entity} {label}")
    return found


async def _by_handle(app: kith.Kith, handle: str) -> Any:
    """The one user whose first name or email name is ``handle`` (``@ben``), else ``None``:
    a loose match on names would DM the wrong person."""
    try:
        user = await app.run("user.get", {"user": handle}, kith.SYSTEM)
    except kith.KithError:
        return None
    wanted = handle.lower()
    first_name = (user.name or "").split(" ")[0].lower()
    local_part = (user.email or "").split("@")[0].lower()
    return user if wanted in (first_name, local_part) else None
