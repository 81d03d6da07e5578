"""Small per-application caches of rows that are read on every command and rarely change
(custom field definitions, stored settings).

Each :class:`Kith` has its own entry (tests run many applications in one process). An entry
is reloaded when this process changes the data (``invalidate``, again after the commit) and
after ``ttl`` seconds, so a change made by another process is seen within that time. A
command that changed the data reads through its own transaction until it commits, so it sees
its own change and nobody else sees it before the commit.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from .context import Context
    from .runtime import Kith

T = TypeVar("T")
Fetch = Callable[[str, list[Any]], Awaitable[list[dict[str, Any]]]]
Loader = Callable[["Kith", Fetch], Awaitable[T]]


class KithCache(Generic[T]):
    """A value loaded from the database once per application, with invalidation."""

    def __init__(self, name: str, loader: Loader[T], ttl: float = 5.0) -> None:
        self.name = name
        self._loader = loader
        self._ttl = ttl
        self._entries: weakref.WeakKeyDictionary[Kith, tuple[float, T]] = (
            weakref.WeakKeyDictionary()
        )
        self._generation: weakref.WeakKeyDictionary[Kith, int] = weakref.WeakKeyDictionary()

    def _dirty(self, ctx: Context) -> bool:
        return self.name in getattr(ctx.root, "_kith_dirty_caches", ())

    async def get(self, ctx: Context) -> T:
        """The value, as ``ctx``'s command should see it."""
        kith = ctx.kith
        if self._dirty(ctx):
            return await self._loader(kith, ctx.fetch)
        entry = self._entries.get(kith)
        now = time.monotonic()
        if entry is not None and now - entry[0] < self._ttl:
            return entry[1]
        generation = self._generation.get(kith, 0)
        # Through the command's own connection: a second one from the pool while holding the
        # first could deadlock a busy PostgreSQL pool. Not dirty, so it sees committed data.
        value = await self._loader(kith, ctx.fetch)
        if self._generation.get(kith, 0) == generation:
            self._entries[kith] = (now, value)
        return value

    async def get_committed(self, kith: Kith) -> T:
        """The value as committed data shows it, outside any command (an event handler)."""
        entry = self._entries.get(kith)
        now = time.monotonic()
        if entry is not None and now - entry[0] < self._ttl:
            return entry[1]
        generation = self._generation.get(kith, 0)
        value = await self._loader(kith, kith.db.fetch)
        if self._generation.get(kith, 0) == generation:
            self._entries[kith] = (now, value)
        return value

    def clear(self, kith: Kith) -> None:
        self._generation[kith] = self._generation.get(kith, 0) + 1
        self._entries.pop(kith, None)

    def invalidate(self, ctx: Context) -> None:
        """``ctx``'s command changed the data: read it through the transaction from now on,
        and reload for everyone once the command commits."""
        root = ctx.root
        dirty = getattr(root, "_kith_dirty_caches", None)
        if dirty is None:
            dirty = set()
            root._kith_dirty_caches = dirty  # type: ignore[attr-defined]
        dirty.add(self.name)
        kith = ctx.kith
        self.clear(kith)
        if ctx.tx is not None:
            ctx.tx.after_commit(lambda: self.clear(kith))
