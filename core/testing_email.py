"""Test helpers for mail: an outbound SMTP sink and an SMTP sender (for plugin authors).

``MailSink`` is a real aiosmtpd server on a free loopback port that records every message;
point the email channel's relay at it (``outbound_host``/``outbound_port``)::

    async with MailSink() as sink:
        ...  # run jobs
        assert sink.messages[0]["Subject"] == "Hello"

``send_smtp(port, raw, sender, recipients)`` speaks SMTP (smtplib, in a thread) to a server
such as the email channel's and returns the server's reply (code, text), refusals included.
"""

from __future__ import annotations

import asyncio
import smtplib
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


class _Recorder:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.sink.fail_next > 0:
            self.sink.fail_next -= 1
            return "451 4.3.0 Sink told to fail"
        raw = envelope.original_content or b""
        msg = message_from_bytes(
            raw if isinstance(raw, bytes) else raw.encode(), policy=policy.default
        )
        assert isinstance(msg, EmailMessage)
        self.sink.messages.append(msg)
        self.sink.envelopes.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos)})
        return "250 OK"


class MailSink:
    """A recording SMTP server on 127.0.0.1 (``port`` is set once entered)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[dict[str, Any]] = []
        self.fail_next = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> MailSink:
        loop = asyncio.get_running_loop()
        handler = _Recorder(self)
        self._server = await loop.create_server(
            lambda: SMTP(handler, enable_SMTPUTF8=True), host="127.0.0.1", port=0
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def _send(port: int, raw: bytes, sender: str, recipients: list[str]) -> tuple[int, str]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        try:
            refused = client.sendmail(sender, recipients, raw)
        except smtplib.SMTPRecipientsRefused as err:
            code, text = next(iter(err.recipients.values()))
            return code, text.decode()
        except smtplib.SMTPDataError as err:
            return err.smtp_code, err.smtp_error.decode()
        except smtplib.SMTPResponseException as err:
            return err.smtp_code, err.smtp_error.decode()
        if refused:
            code, text = next(iter(refused.values()))
            return code, text.decode()
        code, text = client.noop()
        return 250, "OK"


async def send_smtp(port: int, raw: bytes, sender: str, recipients: list[str]) -> tuple[int, str]:
    """Send ``raw`` over a real SMTP session; returns the final reply (250 when accepted)."""
    return await asyncio.to_thread(_send, port, raw, sender, recipients)
