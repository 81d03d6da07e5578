"""Shared pieces of the REST API tests: a test plugin with its own entity and commands, an
HTTP client on the app, and a token factory."""

from __future__ import annotations

from typing import Any

import kith
from pydantic import BaseModel, ConfigDict, Field

WIDGETS = [
    {"id": i, "name": f"widget {i}", "color": "red" if i % 2 else "blue"} for i in range(1, 8)
]


class WidgetQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str | None = None
    filter: dict[str, Any] = {}
    sort: str | None = None
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=500)


class WidgetOut(BaseModel):
    id: int
    name: str
    color: str


class WidgetPage(BaseModel):
    items: list[WidgetOut]
    next_cursor: str | None = None


class WidgetRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    widget: int | str


class Shout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=100)


class Shouted(BaseModel):
    text: str


class Nothing(BaseModel):
    model_config = ConfigDict(extra="forbid")


# what the widget.list command received, for asserting the query → payload mapping
SEEN: list[dict[str, Any]] = []


@kith.command(
    "widget.list", input=WidgetQuery, output=WidgetPage, permission="widgets.read", read_only=True
)
async def list_widgets(ctx: kith.Context, data: WidgetQuery) -> dict[str, Any]:
    """List widgets (a plugin's entity, kept in memory)."""
    SEEN.append(data.model_dump(exclude_unset=True))
    rows = [w for w in WIDGETS if not data.q or data.q in w["name"]]
    for key, value in data.filter.items():
        rows = [w for w in rows if str(w.get(key)) == value]
    if data.sort == "-id":
        rows.reverse()
    start = int(data.cursor or 0)
    page = rows[start : start + data.limit]
    more = start + data.limit < len(rows)
    return {"items": page, "next_cursor": str(start + data.limit) if more else None}


@kith.command(
    "widget.get", input=WidgetRef, output=WidgetOut, permission="widgets.read", read_only=True
)
async def get_widget(ctx: kith.Context, data: WidgetRef) -> dict[str, Any]:
    """Show one widget."""
    for w in WIDGETS:
        if str(w["id"]) == str(data.widget):
            return w
    raise kith.not_found("widget", data.widget, "widget")


class TimelineQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    widget: int | str
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=500)


class TimelinePage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = None


@kith.command(
    "widget.timeline",
    input=TimelineQuery,
    output=TimelinePage,
    permission="widgets.read",
    read_only=True,
)
async def widget_timeline(ctx: kith.Context, data: TimelineQuery) -> dict[str, Any]:
    """What happened to a widget, newest first."""
    SEEN.append(data.model_dump(exclude_unset=True))
    items = [{"at": f"2026-01-0{d}", "what": "painted"} for d in range(9, 0, -1)]
    start = int(data.cursor or 0)
    more = start + data.limit < len(items)
    return {
        "items": items[start : start + data.limit],
        "next_cursor": str(start + data.limit) if more else None,
    }


@kith.command("echo.shout", input=Shout, output=Shouted, permission="echo.write")
async def shout(ctx: kith.Context, data: Shout) -> dict[str, Any]:
    """Shout a text back (a plugin's write command)."""
    return {"text": data.text.upper()}


@kith.command("echo.boom", input=Nothing, permission="echo.write")
async def boom(ctx: kith.Context, data: Nothing) -> None:
    """Fail with a bug (to see the API hide the trace)."""
    raise RuntimeError("secret internal detail")


class WidgetPlugin:
    @kith.hookimpl
    def kith_commands(self) -> list[kith.CommandSpec]:
        return [list_widgets, get_widget, widget_timeline, shout, boom]
