"""Which events a subscription wants: exact names, ``<noun>.*`` patterns, or ``*``."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase


def matches(patterns: Iterable[str], event: str) -> bool:
    """Whether ``event`` (``deal.won``) is one a subscription with ``patterns`` wants."""
    return any(p == event or ("*" in p and fnmatchcase(event, p)) for p in patterns)


def unknown(patterns: Iterable[str], known: set[str]) -> list[str]:
    """The patterns that match no known event (a typo, most likely)."""
    return [p for p in patterns if not any(matches([p], name) for name in known)]
