"""Fixtures for the email channel's tests: an outbound sink, the SMTP server, a sender."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kith.channels.email.server import start_server
from kith.settings import PluginsFile
from kith.testing_email import MailSink, send_smtp


@pytest.fixture
async def sink() -> AsyncIterator[MailSink]:
    async with MailSink() as s:
        yield s


@pytest.fixture
def kith_plugins_file(sink: MailSink, tmp_path: Path) -> PluginsFile:
    return PluginsFile(
        settings={
            "email": {
                "domain": "example.com",
                "outbound_host": "127.0.0.1",
                "outbound_port": sink.port,
                "max_message_bytes": 200_000,
                "max_per_sender_minute": 1000,
                "maildir": str(tmp_path / "maildir"),
            }
        }
    )


@pytest.fixture
async def smtp_port(kith_app) -> AsyncIterator[int]:
    server = await start_server(kith_app, port=0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


@pytest.fixture
def deliver(smtp_port):
    async def send(raw: bytes, sender: str = "ada@customer.org", to=("support@example.com",)):
        return await send_smtp(smtp_port, raw, sender, list(to))

    return send
