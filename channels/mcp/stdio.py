"""``kith mcp``: the MCP server over stdio, for a client that starts Kith itself.

The process acts as one actor for its whole life, chosen when it starts:

* ``KITH_TOKEN=kith_…`` — the token's user with the token's scopes (a ``read`` token sees
  only read-only tools), exactly like ``/mcp`` over HTTP; or
* ``--as EMAIL`` (or ``KITH_AS``) — that user with their role, no scopes (like ``kith call``).

Giving both is an error: the token would silently lose its scopes otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from kith import Actor, Kith, KithError, authenticate_token
from mcp.server.stdio import stdio_server

from .server import build_server


async def stdio_actor(
    kith: Kith,
    token: str | None,
    as_email: str | None,
    find_user: Callable[[Kith, str], Awaitable[Actor]],
) -> Actor:
    """The actor of a ``kith mcp`` process: from ``KITH_TOKEN`` or from ``--as EMAIL``
    (looked up with ``find_user``, the CLI's ``--as``)."""
    if token and as_email:
        raise KithError(
            "invalid_input",
            "Give either KITH_TOKEN or --as EMAIL (KITH_AS) to kith mcp, not both.",
        )
    if token:
        return await authenticate_token(kith, token, "mcp")
    if not as_email:
        raise KithError(
            "invalid_input",
            "kith mcp needs to know who it acts as: set KITH_TOKEN=kith_… or give --as EMAIL.",
        )
    return dataclasses.replace(await find_user(kith, as_email), via="mcp")


async def serve_stdio(kith: Kith, actor: Actor) -> None:
    """Serve MCP on stdin/stdout as ``actor`` until the client closes stdin."""

    def resolve(_ctx: Any) -> Actor:
        return actor

    server = build_server(kith, resolve)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
    await kith.drain()
