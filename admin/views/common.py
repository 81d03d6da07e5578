"""Helpers the page modules share: option lists for filters and forms."""

from __future__ import annotations

from typing import Any

from ..auth import WebSession
from ..web import Pages


async def options(pages: Pages, sess: WebSession, command: str, **payload: Any) -> list[Any]:
    """The first page of a list command's items (for a filter's choices), or nothing when
    the user's role cannot list them."""
    if not pages.can(sess, command):
        return []
    result = await pages.run(sess, command, {"limit": 200, **payload})
    return list(result.items)


def clean(params: dict[str, Any]) -> dict[str, Any]:
    """Drop empty query parameters."""
    return {k: v for k, v in params.items() if v not in (None, "")}
