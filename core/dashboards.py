"""Dashboard widgets plugins add to the admin pages (``kith_dashboard_widgets``).

A widget is data, never HTML: ``load`` returns the bars of a chart (or one number), and the
admin pages draw them (SVG rendered on the server), so a plugin cannot break the page or
inject markup. ``load`` runs commands as the person looking (``await kith.run(name,
payload, actor)``), so roles and record visibility apply to widgets too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .permissions import Actor
    from .runtime import Kith


@dataclass(frozen=True)
class Bar:
    """One bar of a widget's chart: its label, its value, and how the value reads."""

    label: str
    value: float
    text: str = ""


@dataclass(frozen=True)
class DashboardFilters:
    """What the dashboard page is filtered by: the last ``days``, a team, an owner."""

    days: int = 90
    team_id: int | None = None
    owner_id: int | None = None


Loader = Callable[["Kith", "Actor", DashboardFilters], Awaitable[list[Bar]]]


@dataclass(frozen=True)
class DashboardWidget:
    """A chart on the dashboards page. ``kind``: ``bars`` (a horizontal bar chart) or
    ``number`` (the first bar's ``text``, large)."""

    key: str
    title: str
    load: Loader
    kind: Literal["bars", "number"] = "bars"
    description: str = ""

    def __post_init__(self) -> None:
        if not self.key or not self.key.replace("_", "").replace(".", "").isalnum():
            raise ValueError(f"dashboard widget key {self.key!r}: use letters, digits, _ and .")


def widget_list(found: list[Any]) -> list[DashboardWidget]:
    widgets = []
    for widget in found:
        if not isinstance(widget, DashboardWidget):
            raise TypeError(f"kith_dashboard_widgets returned {widget!r}, not a DashboardWidget")
        widgets.append(widget)
    return widgets
