"""The MCP channel registered as a bundled plugin (``mcp``): ``/mcp`` on ``kith run``.

``[plugins.mcp] enabled = false`` in ``plugins.toml`` turns it off. ``kith mcp`` (stdio)
is in :mod:`kith.channels.mcp.stdio`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import kith

if TYPE_CHECKING:
    from kith import Kith


@kith.hookimpl
def kith_routes(kith: Kith) -> list[Any]:
    """Mount MCP over streamable HTTP at ``/mcp`` (same bearer tokens as the REST API)."""
    from .http import mount

    return [mount(kith)]


@kith.hookimpl
async def kith_shutdown(kith: Kith) -> None:
    """Stop the ``/mcp`` session managers."""
    from .http import close_all

    await close_all(kith)
