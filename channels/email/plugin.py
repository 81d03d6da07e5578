"""The email channel's hook implementations (bundled plugin ``email``)."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import kith
from pydantic import BaseModel

from . import (
    address_commands,
    bounces,
    commands,
    for_users,
    refusals,
    replies,
    support,
    timeline,
)
from .jobs import JOBS
from .server import start_server
from .settings import EmailSettings, email_settings

log = logging.getLogger("kith.channels.email")
LISTEN_ENV = "KITH_SMTP_LISTEN"
_servers: dict[int, asyncio.Server] = {}


@kith.hookimpl
def kith_settings_model() -> type[BaseModel]:
    """``[plugins.email]`` in plugins.toml (defaults from ``KITH_*`` variables)."""
    return EmailSettings


@kith.hookimpl
def kith_tables() -> list[str]:
    """The ``email_messages`` table."""
    return ["kith.channels.email.piccolo_app"]


@kith.hookimpl
def kith_commands() -> list[kith.CommandSpec]:
    """``email.receive``, ``email.send``, ``email.ticket_mail``, ``email.bounce``."""
    return kith.commands_in(commands, replies, bounces, address_commands, refusals)


@kith.hookimpl
def kith_jobs() -> list[kith.JobSpec]:
    """``email.parse`` and ``email.deliver``."""
    return list(JOBS)


@kith.hookimpl(trylast=True)
def kith_inbound_email(local: str) -> Any:
    """``support@`` opens and continues tickets; ``log@``, ``leads@`` and users' command
    addresses (``kith+<id>.<code>@``) serve our own users."""
    app = kith.current()
    settings = email_settings(app)
    if local == settings.support_address:
        return support.handle
    if local == settings.log_address:
        return for_users.log_mail
    if local == settings.leads_address:
        return for_users.lead_mail
    if local.startswith(settings.command_prefix + "+"):
        return for_users.command_mail
    return None


@kith.hookimpl
async def kith_on_event(event: kith.Event) -> None:
    """Public replies and CSAT requests become outbound mail."""
    await replies.on_event(event)


@kith.hookimpl
async def kith_timeline_items(
    ctx: kith.Context, entity: str, record_id: int, before: Any, limit: int
) -> list[dict[str, Any]]:
    """Every message in and out on its ticket's and contact's timelines (``email``)."""
    return await timeline.items(ctx, entity, record_id, before, limit)


@kith.hookimpl
async def kith_startup(kith: kith.Kith) -> None:
    """``kith run`` / ``kith smtp`` set ``KITH_SMTP_LISTEN=1``: start the SMTP server."""
    if os.environ.get(LISTEN_ENV) == "1":
        server = await start_server(kith)
        _servers[id(kith)] = server
        settings = email_settings(kith)
        log.info("SMTP on %s:%s for @%s", settings.smtp_host, settings.smtp_port, settings.domain)


@kith.hookimpl
async def kith_shutdown(kith: kith.Kith) -> None:
    """Stop the SMTP server."""
    server = _servers.pop(id(kith), None)
    if server is not None:
        server.close()
        await server.wait_closed()


@kith.hookimpl
def kith_events() -> list[kith.EventSpec]:
    """The events this plugin emits (the event catalog, docs/events.md)."""
    return [
        kith.EventSpec(
            "user.command_address_rotated", "user", "a user's private command address was replaced"
        ),
    ]


@kith.hookimpl
async def kith_erase_contact(ctx: kith.Context, contact_id: int, addresses: list[str]) -> None:
    """Mail to and from an erased person: raw bytes, text, attachments and headers go."""
    from .tables import EmailMessage

    rows = {r["id"]: r for r in await ctx.select(EmailMessage, contact_id=contact_id)}
    for address in addresses:
        rows.update({r["id"]: r for r in await ctx.select(EmailMessage, sender=address)})
    for row in rows.values():
        await ctx.update(
            EmailMessage,
            row,
            {"raw": "", "text": "(erased)", "html": None, "subject": "(erased)",
             "sender": "erased", "recipients": [], "attachments": [], "headers": {},
             "thread_refs": ""},
            record_history=False,
        )  # fmt: skip
