"""Fixtures for the marketing plugin: mail to a real SMTP sink, the public pages over HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from kith.settings import PluginsFile
from kith.testing_email import MailSink
from kith.web import create_app

PUBLIC = "http://kith.test"


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
                "maildir": str(tmp_path / "maildir"),
            },
            "marketing": {"public_url": PUBLIC, "form_rate_per_minute": 5},
        }
    )


@pytest.fixture
async def http(kith_app) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(kith_app, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4711))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
        yield client


def link_in(message, path: str) -> str:
    """The ``/m/<path>/<token>`` link of a message, as a path."""
    body = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(rf"{re.escape(PUBLIC)}(/m/{path}/[A-Za-z0-9_.-]+)", body)
    assert found, body
    return found.group(1)


CONTACT_FORM = {
    "slug": "demo-request",
    "title": "Ask for a demo",
    "fields": [
        {"key": "name", "label": "Your name", "maps_to": "contact.name", "required": True},
        {"key": "email", "label": "Work email", "maps_to": "contact.email", "kind": "email"},
        {"key": "company", "label": "Company", "maps_to": "company"},
        {"key": "message", "label": "Anything else?", "maps_to": "message", "kind": "textarea"},
    ],
    "purposes": ["newsletter"],
    "consent_text": "Send me the monthly newsletter. Unsubscribe at any time.",
}


@pytest.fixture
async def smtp_port(kith_app) -> AsyncIterator[int]:
    from kith.channels.email.server import start_server

    server = await start_server(kith_app, port=0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


WELCOME = {
    "name": "Welcome",
    "purpose": "newsletter",
    "steps": [
        {"kind": "email", "subject": "Welcome, {{ contact.first_name }}", "text": "Glad you came."},
        {"kind": "wait", "days": 3},
        {"kind": "email", "subject": "How is it going?", "text": "Any questions?"},
        {"kind": "task", "title": "Call to check in", "due_days": 1},
    ],
    "window_start": 0,
    "window_end": 24,
}
