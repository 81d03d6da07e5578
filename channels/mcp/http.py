"""Streamable HTTP at ``/mcp``: bearer-token authentication in front of the SDK's transport.

Every request must carry ``Authorization: Bearer kith_…``; :func:`kith.authenticate_token`
turns it into the token's actor (``via="mcp:token:<id>"``, its role, teams and scopes), the
same function the REST API's guard uses; a missing or bad token is a 401 problem+json. The
transport is stateless (each POST stands alone, answered with JSON), so every request is
authenticated by its own token and no session can outlive a revoked one.

The SDK's session manager needs a running task group; it is started on the first request, in
a task of its own, and stopped by the plugin's ``kith_shutdown``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from weakref import WeakKeyDictionary

from kith import Kith, KithError, authenticate_token
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import Receive, Scope, Send

from .server import ACTOR_KEY, actor_from_request, build_server

log = logging.getLogger("kith.mcp")
MAX_BODY_BYTES = 4 * 1024 * 1024
_apps: WeakKeyDictionary[Kith, list[McpHttpApp]] = WeakKeyDictionary()


def _bearer(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            auth_scheme, _, token = value.decode("latin-1").strip().partition(" ")
            return token.strip() or None if auth_scheme.lower() == "bearer" else None
    return None


async def _problem(send: Send, err: KithError) -> None:
    """Answer ``err`` as problem+json (the shape of every Kith HTTP error)."""
    body = json.dumps(
        {
            "type": f"urn:kith:problem:{err.code}",
            "title": err.code.replace("_", " ").capitalize(),
            "status": err.status,
            "detail": err.message,
            "code": err.code,
            "fields": [f.as_dict() for f in err.fields],
            "instance": "/mcp",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if err.status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="kith"'))
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class McpHttpApp:
    """The ASGI app mounted at ``/mcp`` for one :class:`Kith`."""

    def __init__(self, kith: Kith, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.kith = kith
        self.manager = StreamableHTTPSessionManager(
            app=build_server(kith, actor_from_request),
            json_response=True,
            stateless=True,
            max_request_body_size=max_body_bytes,
        )
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        _apps.setdefault(kith, []).append(self)
        # the stateless transport logs "Terminating session: None" after every request
        transport_log = logging.getLogger("mcp.server.streamable_http")
        if transport_log.level == logging.NOTSET:
            transport_log.setLevel(logging.WARNING)

    async def _serve(self) -> None:
        async with self.manager.run():
            self._ready.set()
            await self._stop.wait()

    async def _ensure_running(self) -> None:
        if self._ready.is_set():
            return
        async with self._lock:
            if self._task is None:
                self._task = asyncio.create_task(self._serve(), name="kith-mcp-sessions")
            ready = asyncio.create_task(self._ready.wait())
            done, _ = await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
            if ready not in done:
                ready.cancel()
                self._task.result()  # raises what stopped the session manager
                raise RuntimeError("the MCP session manager stopped")

    async def close(self) -> None:
        """Stop the session manager (at shutdown)."""
        self._stop.set()
        if self._task is not None:
            try:
                await self._task
            except Exception:
                log.exception("the MCP session manager failed")
            self._task = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # MCP has no WebSocket transport
            await send({"type": "websocket.close", "code": 1003})
            return
        if scope["type"] != "http":
            return
        try:
            actor = await authenticate_token(self.kith, _bearer(scope), "mcp")
        except KithError as err:
            await _problem(send, err)
            return
        await self._ensure_running()
        await self.manager.handle_request({**scope, ACTOR_KEY: actor}, receive, send)


async def close_all(kith: Kith) -> None:
    """Stop the session managers of ``kith``'s ``/mcp`` apps."""
    for app in _apps.pop(kith, []):
        await app.close()


def mount(kith: Kith) -> Any:
    """The litestar handler mounting :class:`McpHttpApp` at ``/mcp``; with the REST API
    enabled, requests count against the same per-token rate limit as ``/api/v1`` and have
    the same body size cap (``[plugins.api]`` settings)."""
    from litestar.handlers import asgi

    middleware: list[Any] = []
    max_body_bytes = MAX_BODY_BYTES
    if kith.plugin("api") is not None:
        from kith.channels.api.auth import rate_limit_config

        api_settings = kith.plugin_settings("api")
        middleware.append(rate_limit_config(api_settings).middleware)
        max_body_bytes = api_settings.max_body_bytes
    app = McpHttpApp(kith, max_body_bytes)

    @asgi("/mcp", is_mount=True, copy_scope=True, middleware=middleware)
    async def mcp_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        """MCP over streamable HTTP (bearer token required)."""
        await app(scope, receive, send)

    return mcp_endpoint
