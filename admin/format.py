"""Jinja filters of the admin pages: money, relative times, SLA clocks, labels."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from jinja2 import Environment

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "INR": "₹"}


def money(minor: int | None, currency: str = "EUR", short: bool = False) -> str:
    """``1234500, "EUR"`` → ``€12,345`` (``short``: ``€12.3k``)."""
    if minor is None:
        return "—"
    major = minor / (1 if currency == "JPY" else 100)
    symbol = SYMBOLS.get(currency, currency + " ")
    if short and abs(major) >= 1_000_000:
        return f"{symbol}{major / 1_000_000:.1f}M"
    if short and abs(major) >= 10_000:
        return f"{symbol}{major / 1000:.0f}k"
    return f"{symbol}{major:,.0f}"


def ago(value: datetime | date | None, now: datetime | None = None) -> str:
    """``3d ago``, ``in 2h``, ``just now``."""
    if value is None:
        return "—"
    if not isinstance(value, datetime):
        return value.isoformat()
    now = now or datetime.now(value.tzinfo)
    seconds = (now - value).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for size, unit in (
        (86400 * 365, "y"),
        (86400 * 30, "mo"),
        (86400, "d"),
        (3600, "h"),
        (60, "m"),
    ):
        if seconds >= size:
            amount = f"{int(seconds // size)}{unit}"
            return f"in {amount}" if future else f"{amount} ago"
    return "just now"


def clock(minutes: int | None) -> str:
    """Minutes to an SLA breach as ``2h 05m`` / ``overdue 15m``."""
    if minutes is None:
        return "—"
    late = minutes < 0
    minutes = abs(minutes)
    text = f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
    if minutes >= 60 * 48:
        text = f"{minutes // 1440}d {minutes % 1440 // 60}h"
    return f"overdue {text}" if late else text


def when(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%d %b %Y %H:%M")
    return value.strftime("%d %b %Y")


def label(name: str) -> str:
    """``first_response_due_at`` → ``First response due at``."""
    return name.replace("_", " ").replace(".", " · ").capitalize()


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def install(env: Environment) -> None:
    env.filters.update(money=money, ago=ago, clock=clock, when=when, label=label, pct=pct)
    env.globals["is_dict"] = lambda v: isinstance(v, dict)
    env.globals["is_list"] = lambda v: isinstance(v, list)
    env.globals["any_value"] = lambda v: v not in (None, "", [], {})
    env.filters["show"] = display


def display(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime | date):
        return when(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)
