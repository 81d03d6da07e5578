"""The inbound SMTP server (aiosmtpd) in Kith's own event loop.

Each accepted message is stored by ``email.receive`` (committed) before ``250`` is sent.
Refusals: other domains (``550`` no relay), too many recipients (``452``), too big
(``552``), a sender over its per-minute rate (``451``), storage failure (``451``).

Exposed beyond loopback, it can offer STARTTLS (``smtp_tls_cert`` + ``smtp_tls_key``; with
``smtp_require_starttls`` nothing but EHLO/STARTTLS/QUIT works before TLS) and require AUTH
(``smtp_auth_username`` + ``smtp_auth_password``, PLAIN or LOGIN, over TLS when TLS is on;
``530`` without it, ``535`` for wrong credentials).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
import time
from collections import defaultdict, deque
from typing import Any

import kith
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from .settings import EmailSettings, email_settings

log = logging.getLogger("kith.channels.email")
ACTOR = kith.Actor(user_id=None, role="system", name="SMTP", via="email:smtp")


class Handler:
    """aiosmtpd handler: checks recipients and rates, stores the message."""

    def __init__(self, app: kith.Kith, settings: EmailSettings) -> None:
        self.app = app
        self.settings = settings
        self.recent: dict[str, deque[float]] = defaultdict(deque)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        domain = address.rsplit("@", 1)[-1].lower()
        if domain != self.settings.domain.lower():
            return "550 5.7.1 Relaying denied: not our domain"
        if len(envelope.rcpt_tos) >= self.settings.max_recipients:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def _over_rate(self, sender: str) -> bool:
        now = time.monotonic()
        seen = self.recent[sender.lower()]
        while seen and seen[0] < now - 60:
            seen.popleft()
        if len(seen) >= self.settings.max_per_sender_minute:
            return True
        seen.append(now)
        return False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if len(raw) > self.settings.max_message_bytes:
            return "552 5.3.4 Message too big"
        sender = str(envelope.mail_from or "")
        if self._over_rate(sender):
            return "451 4.7.1 Too many messages from this sender; try again later"
        try:
            stored = await self.app.run(
                "email.receive",
                {
                    "raw": raw.decode("latin-1"),
                    "sender": sender,
                    "recipients": list(envelope.rcpt_tos),
                },
                ACTOR,
            )
        except Exception:
            log.exception("could not store an inbound message")
            return "451 4.3.0 Could not store the message; try again later"
        return f"250 OK stored as {stored.id}"


def tls_context(settings: EmailSettings) -> ssl.SSLContext | None:
    """The server-side TLS context for STARTTLS, or ``None`` when no certificate is set."""
    if not settings.smtp_tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.smtp_tls_cert, settings.smtp_tls_key or None)
    return context


def authenticator(settings: EmailSettings) -> Any:
    """Checks AUTH PLAIN/LOGIN against the configured name and password (constant time)."""
    username = (settings.smtp_auth_username or "").encode()
    password = (settings.smtp_auth_password or "").encode()

    def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any):
        ok = (
            isinstance(data, LoginPassword)
            and hmac.compare_digest(data.login, username)
            and hmac.compare_digest(data.password, password)
        )
        if not ok:
            log.warning("SMTP AUTH refused (%s) from %s", mechanism, session.peer)
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535

    return check


def smtp_options(settings: EmailSettings) -> dict[str, Any]:
    """aiosmtpd's TLS and AUTH options from the settings (none: plain SMTP, no AUTH)."""
    options: dict[str, Any] = {}
    context = tls_context(settings)
    if context is not None:
        options.update(tls_context=context, require_starttls=settings.smtp_require_starttls)
    elif settings.smtp_require_starttls:
        raise kith.invalid("smtp_require_starttls", "set smtp_tls_cert and smtp_tls_key first")
    if settings.smtp_auth_username:
        if not settings.smtp_auth_password:
            raise kith.invalid("smtp_auth_password", "AUTH needs a password as well as a name")
        options.update(
            authenticator=authenticator(settings),
            auth_required=True,
            auth_require_tls=context is not None,
        )
    return options


async def start_server(app: kith.Kith, port: int | None = None) -> asyncio.Server:
    """Listen on ``smtp_host:smtp_port`` in the running loop."""
    settings = email_settings(app)
    handler = Handler(app, settings)
    options = smtp_options(settings)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            data_size_limit=settings.max_message_bytes,
            enable_SMTPUTF8=True,
            hostname=settings.domain,
            ident="Kith",
            **options,
        ),
        host=settings.smtp_host,
        port=settings.smtp_port if port is None else port,
    )
    return server
