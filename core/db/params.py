"""Bound parameters for SQL built piece by piece (queries, filters, search, timelines).

``Params`` hands out numbered placeholders — ``?1, ?2`` on SQLite, ``$1, $2`` on PostgreSQL —
so fragments can be assembled in any order and still bind the right values. Values are
always parameters; identifiers never come from here.
"""

from __future__ import annotations

from typing import Any


class Params:
    """Collects values and returns the placeholder of each."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        """Bind ``value``; returns its placeholder."""
        self.values.append(value)
        n = len(self.values)
        return f"${n}" if self.dialect == "postgres" else f"?{n}"

    def many(self, values: list[Any]) -> str:
        """``(?1, ?2, ...)`` for an ``IN`` list (never empty: callers check)."""
        return "(" + ", ".join(self(v) for v in values) + ")"
