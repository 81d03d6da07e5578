"""Parse raw mail with ``email.policy.default``: text, HTML, attachments, noise flags.

Never raises on bad input it can read around: undecodable parts are decoded with
replacement characters and flagged. The caller keeps the raw bytes either way.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import Any

from . import forwards

_TAGS = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.S | re.I)
_BREAKS = re.compile(r"<\s*(br|/p|/div|/tr|/h[1-6]|/li)\s*/?>", re.I)
_ANY_TAG = re.compile(r"<[^>]+>")


def html_to_text(markup: str) -> str:
    """Readable text from HTML (paragraphs and line breaks kept)."""
    text = _TAGS.sub("", markup)
    text = _BREAKS.sub("\n", text)
    text = _ANY_TAG.sub("", text)
    text = html_lib.unescape(text)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _content(part: EmailMessage, flags: list[str]) -> str:
    try:
        value = part.get_content()
        return value if isinstance(value, str) else ""
    except (LookupError, UnicodeError, ValueError):
        flags.append("bad_charset")
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def trim_quoted(text: str) -> str:
    """The new part of a reply: quoted history (Gmail/Outlook style) and signature cut."""
    out: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(">"):
            break
        if re.match(r"^On .{5,200} wrote:$", stripped) or re.match(
            r"^-{2,}\s*Original Message\s*-{2,}$", stripped, re.I
        ):
            break
        if re.match(r"^From: .+", stripped) and out and not out[-1].strip():
            break
        if stripped == "--":
            break
        out.append(line)
    trimmed = "\n".join(out).strip()
    return trimmed or text.strip()


def _noise(msg: EmailMessage, sender: str) -> list[str]:
    flags = []
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if auto and auto != "no":
        flags.append("autoreply")
    if str(msg.get("Precedence", "")).strip().lower() in ("bulk", "junk", "list"):
        flags.append("bulk")
    if msg.get("X-Autoreply") or msg.get("X-Autorespond") or msg.get("List-Id"):
        flags.append("autoreply")
    local = sender.split("@", 1)[0].lower()
    ctype = msg.get_content_type()
    report = str(msg.get_param("report-type", "", header="content-type") or "").lower()
    if local in ("mailer-daemon", "postmaster") or (
        ctype == "multipart/report" and report == "delivery-status"
    ):
        flags.append("bounce")
    return sorted(set(flags))


def _dsn(msg: EmailMessage) -> list[dict[str, str]]:
    """Failed recipients of a delivery status notification."""
    failed = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in part.get_payload():
            if not isinstance(block, EmailMessage) and not hasattr(block, "get"):
                continue
            action = str(block.get("Action", "")).lower()
            recipient = str(block.get("Final-Recipient", "") or block.get("Original-Recipient", ""))
            status = str(block.get("Status", ""))
            if recipient and action == "failed":
                address = recipient.split(";", 1)[-1].strip().lower()
                failed.append({"address": address, "status": status})
    return failed


def parse(raw: bytes) -> dict[str, Any]:
    """Everything Kith keeps of a message, as plain data."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    flags: list[str] = []
    try:
        subject = str(msg.get("Subject", "") or "")
    except (LookupError, UnicodeError, ValueError):
        subject, flags = "", [*flags, "bad_subject"]
    sender_name, sender = parseaddr(str(msg.get("From", "") or ""))
    sender = sender.lower()
    cc = [a.lower() for _, a in getaddresses([str(v) for v in msg.get_all("Cc", [])]) if a]
    text_parts: list[str] = []
    html_parts: list[str] = []
    attachments: list[dict[str, Any]] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        if (
            ctype == "message/rfc822"
            or (disposition in ("attachment", "inline") and filename)
            or part.get_content_maintype() not in ("text",)
        ):
            if part.get_content_maintype() == "message":
                continue
            payload = part.get_payload(decode=True) or b""
            attachments.append(
                {
                    "filename": filename or "",
                    "content_type": ctype,
                    "size": len(payload),
                    "sha256": hashlib.sha256(payload).hexdigest(),
                    "inline": disposition == "inline" or bool(part.get("Content-ID")),
                    "content_id": str(part.get("Content-ID", "") or "").strip("<>"),
                }
            )
            continue
        if ctype == "text/plain":
            text_parts.append(_content(part, flags))
        elif ctype == "text/html":
            html_parts.append(_content(part, flags))
    original: dict[str, Any] | None = None
    forwarded = [p for p in msg.walk() if p.get_content_type() == "message/rfc822"]
    for fwd in forwarded:
        inner = fwd.get_payload()
        if isinstance(inner, list) and inner:
            inner_msg = inner[0]
            flags.append("forward")
            body = inner_msg.get_body(preferencelist=("plain", "html"))
            if body is not None:
                content = _content(body, flags)
                if body.get_content_type() == "text/html":
                    content = html_to_text(content)
                if original is None and isinstance(inner_msg, EmailMessage):
                    original = forwards.attached(inner_msg, content)
                text_parts.append(
                    f"---------- Forwarded message ----------\nFrom: {inner_msg.get('From', '')}"
                    f"\nSubject: {inner_msg.get('Subject', '')}\n\n{content}"
                )
    html = "\n".join(html_parts) or None
    text = "\n".join(t for t in text_parts if t) or (html_to_text(html) if html else "")
    refs = str(msg.get("References", "") or "").split()
    noise = _noise(msg, sender)
    if original is None:
        original = forwards.inline(text)
        if original is not None:
            flags.append("forward")
    to = [a.lower() for _, a in getaddresses([str(v) for v in msg.get_all("To", [])]) if a]
    results = " ".join(str(v) for v in msg.get_all("Authentication-Results", []))
    auth = None
    if results:
        auth = "pass" if re.search(r"\b(dkim|spf)=pass\b", results, re.I) else "fail"
    return {
        "message_id": str(msg.get("Message-ID", "") or "").strip() or None,
        "in_reply_to": str(msg.get("In-Reply-To", "") or "").strip() or None,
        "references": refs,
        "subject": subject.strip(),
        "sender": sender,
        "sender_name": sender_name,
        "cc": cc,
        "to": to,
        "date": forwards._date(str(msg.get("Date", "") or "")),
        "auth": auth,
        "forwarded": original,
        "text": text.strip(),
        "body": trim_quoted(text),
        "html": html,
        "attachments": attachments,
        "flags": sorted(set(flags + noise)),
        "bounced": _dsn(msg) if "bounce" in noise else [],
    }
