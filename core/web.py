"""The litestar application served by ``kith run``.

Channels and plugins add their routes through the ``kith_routes`` hook (the REST API channel
``kith.channels.api`` does, as a bundled plugin named ``api``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, MediaType, Request, Response, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException

from . import __version__
from .runtime import Kith

INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kith</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:4rem auto;
padding:0 1rem;color:#1f2933}}h1{{margin-bottom:.2rem}}
code{{background:#eef2f6;padding:.1rem .3rem;border-radius:4px}}
.muted{{color:#52606d}}</style></head>
<body><h1>Kith is running</h1>
<p class="muted">version {version} · database: {database}</p>
<p>Kith is driven from the command line, Slack and email. Try:</p>
<p><code>kith call contact.create
'{{"name":"Ada Lovelace","email":"ada@example.com"}}' --as you@example.com</code></p>
<p>Health: <a href="/health">/health</a> · Commands: <code>kith commands</code></p>
</body></html>"""


def _routing_problem(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """No route, or a method a route does not take: answered as problem+json (RFC 9457),
    the shape every Kith HTTP error has (channels render their own errors the same way)."""
    code = "not_found" if exc.status_code == 404 else "method_not_allowed"
    detail = (
        f"There is nothing at {request.url.path}."
        if exc.status_code == 404
        else f"{request.method} is not allowed on {request.url.path}."
    )
    return Response(
        content={
            "type": f"urn:kith:problem:{code}",
            "title": exc.detail,
            "status": exc.status_code,
            "detail": detail,
            "code": code,
            "fields": [],
            "instance": request.url.path,
        },
        status_code=exc.status_code,
        media_type="application/problem+json",
        headers=exc.headers,
    )


def create_app(kith: Kith, *, manage_lifecycle: bool = True, run_jobs: bool = True) -> Litestar:
    """Build the HTTP app around ``kith``; with ``manage_lifecycle`` the app starts and stops
    Kith in its lifespan (``kith run``), otherwise the caller owns it (tests). ``run_jobs``
    (``kith run`` without ``--no-worker``) also runs jobs or leads their scheduler."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if manage_lifecycle:
            await kith.start(run_jobs=run_jobs)
        try:
            yield
        finally:
            if manage_lifecycle:
                await kith.stop()

    @get("/health", media_type=MediaType.JSON, sync_to_thread=False)
    def health() -> dict[str, Any]:
        """Liveness: the process answers and knows its database."""
        return {
            "status": "ok",
            "version": __version__,
            "database": kith.db.dialect,
            "commands": len(kith.registry),
            "plugins": [p.name for p in kith.plugins],
        }

    @get("/", media_type=MediaType.HTML, sync_to_thread=False, include_in_schema=False)
    def index() -> str:
        return INDEX.format(version=__version__, database=kith.db.dialect)

    return Litestar(
        # plugins' and channels' routes (the REST API at /api/v1): the kith_routes hook
        route_handlers=[health, index, *kith.hooks.routes()],
        lifespan=[lifespan],
        state=State({"kith": kith}),
        exception_handlers={
            NotFoundException: _routing_problem,
            MethodNotAllowedException: _routing_problem,
        },
        debug=False,
    )
