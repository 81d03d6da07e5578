"""Settings people change at runtime, stored in the ``settings`` table (``setting.set``).

Unlike process settings (``KITH_*`` variables, :mod:`kith.settings`), these live in the
database so every process and channel agrees: ``visibility.deal = own``. Each key is declared
with :func:`define_setting` (its description, default and validation); an unknown key or a
bad value is an error naming the field. Values are cached per application (see
:mod:`kith.cache`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from .cache import Fetch, KithCache
from .commands import command
from .entities._common import Input
from .errors import FieldError, KithError, invalid
from .tables import Setting

if TYPE_CHECKING:
    from .context import Context
    from .runtime import Kith


@dataclass(frozen=True)
class SettingSpec:
    """A key people may set, what it means, its default and how its value is checked."""

    key: str
    description: str
    default: Any
    validate: Callable[[Any], Any]


_SPECS: dict[str, SettingSpec] = {}


def define_setting(
    key: str, description: str, default: Any, validate: Callable[[Any], Any]
) -> SettingSpec:
    """Declare a setting. ``validate`` returns the value to store or raises ``ValueError``
    with a reason a person can act on."""
    spec = SettingSpec(key, description, default, validate)
    _SPECS[key] = spec
    return spec


def setting_spec(key: str) -> SettingSpec:
    spec = _SPECS.get(key)
    if spec is None:
        close = sorted(k for k in _SPECS if k.split(".")[0] == key.split(".")[0])
        hint = f" Known keys: {', '.join(close)}." if close else ""
        raise KithError(
            "invalid_input",
            f"key: there is no setting {key!r}.{hint}",
            [FieldError("key", f"is not a known setting{hint}", "unknown_setting")],
        )
    return spec


async def _load(kith: Kith, fetch: Fetch) -> dict[str, Any]:
    codec = kith.db.statements.codec(Setting)
    rows = await fetch('SELECT "key", "value" FROM "settings"', [])
    return {r["key"]: codec.decode(r)["value"] for r in rows}


_cache: KithCache[dict[str, Any]] = KithCache("settings", _load)


async def get_setting(ctx: Context, key: str) -> Any:
    """The value of ``key`` (its default when never set)."""
    values = await _cache.get(ctx)
    if key in values:
        return values[key]
    return setting_spec(key).default


# ---- commands ------------------------------------------------------------------------------


class SettingSet(Input):
    key: str = Field(min_length=1, max_length=200, description="e.g. visibility.deal")
    value: Any = Field(description="The new value (JSON)")


class SettingKey(Input):
    key: str = Field(min_length=1, max_length=200)


class SettingList(Input):
    prefix: str | None = Field(None, max_length=200, description="e.g. 'visibility.'")


class SettingOut(BaseModel):
    key: str
    value: Any
    default: Any
    is_default: bool
    description: str
    updated_at: datetime | None = None


class SettingListOut(BaseModel):
    items: list[SettingOut]


async def _show(ctx: Context, spec: SettingSpec) -> dict[str, Any]:
    row = await ctx.find_one(Setting, key=spec.key)
    return {
        "key": spec.key,
        "value": row["value"] if row else spec.default,
        "default": spec.default,
        "is_default": row is None,
        "description": spec.description,
        "updated_at": row["updated_at"] if row else None,
    }


@command("setting.set", input=SettingSet, output=SettingOut, permission="settings.admin")
async def set_setting(ctx: Context, data: SettingSet) -> dict[str, Any]:
    """Change an installation setting, e.g. ``{"key": "visibility.deal", "value": "own"}``.
    Every process sees the change within seconds; ``setting.list`` shows every key."""
    spec = setting_spec(data.key)
    try:
        value = spec.validate(data.value)
    except ValueError as exc:
        raise invalid("value", str(exc)) from None
    row = await ctx.find_one(Setting, key=spec.key)
    before = row["value"] if row else spec.default
    if row is None:
        row = await ctx.insert(Setting, {"key": spec.key, "value": value})
    else:
        row, _ = await ctx.update(Setting, row, {"value": value})
    if before != value:
        ctx.emit("setting.changed", "setting", row["id"], key=spec.key, before=before, after=value)
    _cache.invalidate(ctx)
    return await _show(ctx, spec)


@command(
    "setting.get", input=SettingKey, output=SettingOut, permission="settings.admin", read_only=True
)
async def get_setting_command(ctx: Context, data: SettingKey) -> dict[str, Any]:
    """Show one installation setting: its value, its default and what it means."""
    return await _show(ctx, setting_spec(data.key))


@command(
    "setting.list",
    input=SettingList,
    output=SettingListOut,
    permission="settings.admin",
    read_only=True,
)
async def list_settings(ctx: Context, data: SettingList) -> dict[str, Any]:
    """List the installation settings (optionally those whose key starts with ``prefix``)."""
    keys = sorted(k for k in _SPECS if not data.prefix or k.startswith(data.prefix))
    return {"items": [await _show(ctx, _SPECS[k]) for k in keys]}


COMMANDS = [set_setting, get_setting_command, list_settings]
