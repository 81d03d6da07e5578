"""Which handler takes mail for an address (hook ``kith_inbound_email``).

A handler is ``async def handler(ctx, message) -> dict``: ``ctx`` is the ``email.parse``
job's context (commands through ``ctx.run``), ``message`` the parsed mail plus ``row`` (its
``email_messages`` row id) and ``recipient``. It returns what it did (``{"ticket": 12}``),
stored on the row. The next issue adds ``leads@``, ``log@`` and command addresses by
implementing the hook for those local parts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import kith

InboundHandler = Callable[[kith.Context, dict[str, Any]], Awaitable[dict[str, Any]]]


def handler_for(app: kith.Kith, address: str) -> InboundHandler | None:
    """The handler named by the first plugin that knows ``address`` (``None``: nobody)."""
    local, _, domain = address.lower().partition("@")
    return app.hooks.pm.hook.kith_inbound_email(address=address.lower(), local=local, domain=domain)
