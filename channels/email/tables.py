"""The email channel's table: every message in and out, raw bytes first.

``email_messages`` holds one row per message. Inbound rows are written (raw bytes, as
latin-1 text so any byte survives) by ``email.receive`` before the SMTP server answers
``250``; parsing is a job that fills in the rest. Outbound rows are written by ``email.send``
and the reply hook, and sent by a job with retries.
"""

from __future__ import annotations

from piccolo.columns import JSON, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class EmailMessage(Table, tablename="email_messages"):
    direction = Varchar(length=3)  # "in" | "out"
    status = Varchar(length=20, index=True)
    message_id = Varchar(length=500, null=True, default=None, index=True)
    in_reply_to = Varchar(length=500, null=True, default=None)
    thread_refs = Text(default="")
    sender = Varchar(length=320, default="")
    recipients = JSON(default="[]")
    subject = Text(default="")
    raw = Text(default="")
    text = Text(default="")
    html = Text(null=True, default=None)
    attachments = JSON(default="[]")
    headers = JSON(default="{}")
    handler = Varchar(length=50, null=True, default=None)
    # the address an automatic reply (a ticket's acknowledgement) went to: the per-sender limit
    auto_reply_to = Varchar(length=320, null=True, default=None, index=True)
    ticket_id = Integer(null=True, default=None, index=True)
    contact_id = Integer(null=True, default=None, index=True)
    flags = JSON(default="[]")
    error = Text(null=True, default=None)
    attempts = Integer(default=0)
    created_at = Timestamptz(default=None)
    updated_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


EMAIL_TABLES = [EmailMessage]
