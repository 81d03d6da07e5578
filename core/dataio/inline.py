"""Bulk work on SQLite without a thread hop per statement.

Kith's SQLite engine now runs a write transaction's statements on the event loop itself once
``BEGIN IMMEDIATE`` holds the write lock (see core/db/sqlite.py), which is what imports
needed from this module; :func:`inline` is kept as the import code's single seam and returns
the transaction unchanged.
"""

from __future__ import annotations

from ..db.base import Transaction


def inline(tx: Transaction | None) -> Transaction | None:
    """``tx`` as it is: the engine already runs its statements without a thread hop."""
    return tx
