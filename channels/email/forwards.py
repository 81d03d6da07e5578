"""The original inside a forward: attached (``message/rfc822``) or inline, as Gmail, Outlook
and Apple Mail write it. ``None`` when the text holds no forward Kith can read."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from typing import Any

MARKERS = re.compile(
    r"^\s*(-{5,}\s*Forwarded message\s*-{5,}|-{3,}\s*Original Message\s*-{3,}|"
    r"Begin forwarded message:|_{20,})\s*$",
    re.I | re.M,
)
HEADER = re.compile(r"^\s*\*?(From|Date|Sent|Subject|To|Cc)\s*:\*?\s*(.*)$", re.I)


def _address(value: str) -> tuple[str, str]:
    name, address = parseaddr(value.replace("mailto:", ""))
    if "@" not in address:  # "Jane Roe [jane@x.com]" (Outlook)
        found = re.search(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", value)
        address = found.group(0) if found else ""
        name = value.split("[")[0].split("<")[0].strip().strip('"')
    return name.strip().strip('"'), address.lower()


def _date(value: str) -> str | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.isoformat() if when.tzinfo is not None else None  # no zone: unknown


def _recipients(value: str) -> list[str]:
    return [a for a in (_address(p)[1] for p in re.split(r"[,;]", value)) if a]


def inline(text: str) -> dict[str, Any] | None:
    """The forwarded original written into the body after a marker line."""
    match = MARKERS.search(text)
    if not match:
        return None
    lines = text[match.end() :].lstrip("\n").splitlines()
    headers: dict[str, str] = {}
    i = 0
    while i < len(lines) and lines[i].strip():
        found = HEADER.match(lines[i])
        if not found:
            break
        headers[found.group(1).lower()] = found.group(2).strip()
        i += 1
    if "from" not in headers:
        return None
    name, sender = _address(headers["from"])
    if not sender:
        return None
    when = headers.get("date") or headers.get("sent") or ""
    return {
        "sender": sender,
        "sender_name": name,
        "date": _date(when),
        "date_text": when,
        "subject": headers.get("subject", ""),
        "to": _recipients(headers.get("to", "")),
        "cc": _recipients(headers.get("cc", "")),
        "body": "\n".join(lines[i:]).strip(),
    }


def attached(inner: EmailMessage, content: str) -> dict[str, Any]:
    """The original of an attached forward, read from its own headers."""
    name, sender = parseaddr(str(inner.get("From", "") or ""))
    to = [a.lower() for _, a in _all(inner, "To")]
    cc = [a.lower() for _, a in _all(inner, "Cc")]
    when = str(inner.get("Date", "") or "")
    return {
        "sender": sender.lower(),
        "sender_name": name,
        "date": _date(when),
        "date_text": when,
        "subject": str(inner.get("Subject", "") or ""),
        "to": to,
        "cc": cc,
        "body": content.strip(),
    }


def _all(msg: EmailMessage, header: str) -> list[tuple[str, str]]:
    from email.utils import getaddresses

    return [(n, a) for n, a in getaddresses([str(v) for v in msg.get_all(header, [])]) if a]
