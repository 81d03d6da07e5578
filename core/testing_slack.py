"""Test helpers for Slack (for plugin authors too): a local stand-in for Slack's Web API and
signed requests, so a plugin's Slack verbs are tested through bolt for real, offline.

``SlackStandIn`` answers Web API methods (``/api/<method>``: ``auth.test``, ``users.info``,
``chat.postMessage``…) and ``response_url`` posts, recording each call; point the Slack
channel's ``api_url`` setting at ``stand_in.api_url``. ``sign_request(body, secret)`` gives
the ``X-Slack-Signature`` / ``X-Slack-Request-Timestamp`` headers Slack would send::

    async with SlackStandIn() as slack:
        headers = sign_request("command=/kith&text=help&user_id=U1", secret)
        ...  # POST /slack/events with those headers
        assert slack.called("chat.postMessage")
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qs


class SlackStandIn:
    """Answers Slack Web API methods (``/api/<method>``) and ``response_url`` posts
    (``/respond/<id>``), recording each call as ``(path, params)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.emails: dict[str, str] = {}
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        _, path, _ = lines[0].split(" ", 2)
        headers = {k.lower(): v for k, v in (ln.split(": ", 1) for ln in lines[1:] if ln)}
        raw = await reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("content-type", "").startswith("application/json"):
            params = json.loads(raw or b"{}")
        else:
            params = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        path, _, query = path.partition("?")
        params |= {k: v[0] for k, v in parse_qs(query).items()}
        self.calls.append((path, params))
        answer: dict[str, Any] = {"ok": True}
        if path.endswith("/auth.test"):
            answer |= {"user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "team": "Kith"}
        elif path.endswith("/users.info"):
            user = params.get("user", "")
            email = self.emails.get(user)
            answer = {"ok": True, "user": {"id": user, "profile": {"email": email}}}
        elif path.endswith("/chat.postMessage"):
            answer |= {"channel": params.get("channel"), "ts": "1700000000.000100"}
        data = json.dumps(answer).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
            + data
        )
        await writer.drain()
        writer.close()

    async def __aenter__(self) -> SlackStandIn:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    def called(self, method: str) -> list[dict[str, Any]]:
        return [p for path, p in self.calls if path.endswith("/" + method)]


def sign_request(body: str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack signs ``body`` with (``v0=`` HMAC-SHA256 of ``v0:<ts>:<body>``)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}
