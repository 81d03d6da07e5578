"""Loading plugins and calling their hooks.

Load order: the core's built-in plugin, then the bundled plugins enabled in ``plugins.toml``,
then installed packages exposing the ``kith.plugins`` entry point group (on unless
``plugins.toml`` disables them). The rest of Kith never touches ``pm.hook.*``: it calls the
typed methods of :class:`Hooks`, always with keyword arguments.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import pluggy
from pydantic import BaseModel, ValidationError

from . import hookspecs
from .errors import FieldError, KithError
from .settings import PluginsFile

if TYPE_CHECKING:
    from .automations.actions import ActionSpec
    from .automations.triggers import TriggerSpec
    from .commands import CommandSpec
    from .context import Context
    from .dataio.merge_refs import MergeReference
    from .events import Event
    from .jobs import JobSpec
    from .permissions import Actor
    from .runtime import Kith
    from .search import SearchSource
    from .verbs import Verb

log = logging.getLogger("kith.plugins")

ENTRY_POINT_GROUP = "kith.plugins"
# name → module of the plugins shipped in the kith.plugins package (added by their issues)
BUNDLED_PLUGINS: dict[str, str] = {
    "sales": "kith.plugins.sales.plugin",
    "service": "kith.plugins.service.plugin",
    "marketing": "kith.plugins.marketing.plugin",
}
# built-in channels, registered like bundled plugins (``[plugins.api] enabled = false`` turns
# the REST API off)
BUNDLED_PLUGINS["api"] = "kith.channels.api.plugin"
BUNDLED_PLUGINS["slack"] = "kith.channels.slack.plugin"
BUNDLED_PLUGINS["email"] = "kith.channels.email.plugin"
BUNDLED_PLUGINS["mcp"] = "kith.channels.mcp.plugin"
BUNDLED_PLUGINS["webhooks"] = "kith.channels.webhooks.plugin"
# the admin web pages (/admin/)
BUNDLED_PLUGINS["admin"] = "kith.admin.plugin"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def version_allows(spec: str, version: str) -> bool:
    """Whether ``version`` meets ``spec`` (``">=0.1,<0.2"``; operators >= > <= < == !=)."""
    have = _version(version)
    for clause in (c.strip() for c in spec.split(",") if c.strip()):
        match = re.fullmatch(r"(>=|<=|==|!=|>|<)\s*([\d.]+)", clause)
        if match is None:
            raise ValueError(f"{clause!r} is not a version constraint like '>=0.1'")
        op, want = match.group(1), _version(match.group(2))
        width = max(len(have), len(want))
        a, b = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
        ok = {">=": a >= b, "<=": a <= b, "==": a == b, "!=": a != b, ">": a > b, "<": a < b}
        if not ok[op]:
            return False
    return True


def requirements_of(plugin: object) -> tuple[str | None, tuple[str, ...]]:
    """A plugin module's ``KITH_REQUIRES = {"kith": ">=0.1,<0.2", "plugins": ["sales"]}``."""
    declared = getattr(plugin, "KITH_REQUIRES", None) or {}
    return declared.get("kith"), tuple(declared.get("plugins", ()))


def in_requirement_order(
    installed: list[tuple[str, object, str | None]], present: set[str]
) -> list[tuple[str, object, str | None]]:
    """Installed plugins, each after the plugins it requires (so its hooks run after
    theirs); a Kith version out of range, a missing or a circular requirement is a clear
    error naming the plugin."""
    from . import __version__

    by_name = {item[0]: item for item in installed}
    for name, plugin, _ in installed:
        kith_range, needs = requirements_of(plugin)
        if kith_range and not version_allows(kith_range, __version__):
            raise KithError(
                "plugin_error",
                f"Plugin {name} requires Kith {kith_range}; this is Kith {__version__}. "
                f"Upgrade one of them, or turn it off: [plugins.{name}] enabled = false",
            )
        for need in needs:
            if need not in present and need not in by_name:
                raise KithError(
                    "plugin_error",
                    f"Plugin {name} requires the plugin {need}, which is not installed or "
                    f"is turned off in plugins.toml",
                )
    ordered: list[tuple[str, object, str | None]] = []
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done" or name not in by_name:
            return
        if state.get(name) == "visiting":
            raise KithError(
                "plugin_error", f"Plugins require each other in a circle: {' -> '.join(path)}"
            )
        state[name] = "visiting"
        for need in requirements_of(by_name[name][1])[1]:
            visit(need, (*path, need))
        state[name] = "done"
        ordered.append(by_name[name])

    for name in sorted(by_name):
        visit(name, (name,))
    return ordered


async def await_me_maybe(value: Any) -> Any:
    """Resolve a hook result that may be a value, an awaitable or a callable."""
    if callable(value) and not isinstance(value, type):
        value = value()
    if inspect.isawaitable(value):
        value = await value
    return value


@dataclass(frozen=True)
class LoadedPlugin:
    name: str
    module: str
    source: str  # core | bundled | entry point | test
    version: str | None
    hooks: tuple[str, ...]


def load_plugin_manager(
    plugins_file: PluginsFile,
    extra: Iterable[tuple[str, object]] = (),
    trace: bool = False,
    entry_points_too: bool = True,
) -> tuple[pluggy.PluginManager, list[LoadedPlugin]]:
    """Build the plugin manager and register every enabled plugin (installed ones only with
    ``entry_points_too``)."""
    from . import builtin
    from .automations import plugin as automations

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    loaded: list[LoadedPlugin] = []

    def register(name: str, plugin: object, source: str, version: str | None = None) -> None:
        try:
            pm.register(plugin, name=name)
        except ValueError as exc:
            raise KithError(
                "plugin_error", f"Plugin {name} could not be registered: {exc}"
            ) from exc
        hooks = tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or []))
        module = getattr(plugin, "__name__", type(plugin).__name__)
        loaded.append(LoadedPlugin(name, module, source, version, hooks))

    register("core", builtin, "core")
    from .dataio import plugin as dataio_plugin  # import, export, duplicates, merge, backup

    register("core.dataio", dataio_plugin, "core")
    register("automations", automations, "core")
    for name, module_path in BUNDLED_PLUGINS.items():
        if plugins_file.is_enabled(name):
            register(name, importlib.import_module(module_path), "bundled")
    installed: list[tuple[str, object, str | None]] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP) if entry_points_too else ():
        if not plugins_file.is_enabled(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            raise KithError(
                "plugin_error", f"Plugin {ep.name} ({ep.value}) failed to import: {exc}"
            ) from exc
        installed.append((ep.name, plugin, ep.dist.version if ep.dist else None))
    present = {p.name for p in loaded}
    for name, plugin, version in in_requirement_order(installed, present):
        register(name, plugin, "entry point", version)
    for name, plugin in extra:
        register(name, plugin, "test")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise KithError("plugin_error", f"Plugin {exc.plugin!r} is invalid: {exc}") from exc
    if trace:
        pm.trace.root.setwriter(log.debug)
        pm.enable_tracing()
    return pm, loaded


class Hooks:
    """Typed calls into the plugins. Each implementation is called on its own."""

    def __init__(self, pm: pluggy.PluginManager, kith: Kith) -> None:
        self.pm = pm
        self.kith = kith

    def _impls(self, name: str) -> list[pluggy.HookImpl]:
        # get_hookimpls() lists implementations in registration (load) order.
        return list(getattr(self.pm.hook, name).get_hookimpls())

    @staticmethod
    def _call(impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> Any:
        return impl.function(*[kwargs[a] for a in impl.argnames])

    def settings_models(self) -> dict[str, type[BaseModel]]:
        out: dict[str, type[BaseModel]] = {}
        for impl in self._impls("kith_settings_model"):
            model = self._call(impl, {})
            if model is not None:
                out[impl.plugin_name] = model
        return out

    def tables(self) -> list[str]:
        apps: list[str] = []
        for impl in self._impls("kith_tables"):
            apps.extend(self._call(impl, {}) or [])
        return apps

    def commands(self) -> list[tuple[str, CommandSpec]]:
        found: list[tuple[str, CommandSpec]] = []
        for impl in self._impls("kith_commands"):
            for spec in self._call(impl, {}) or []:
                found.append((impl.plugin_name, spec))
        return found

    def jobs(self) -> list[tuple[str, JobSpec]]:
        found: list[tuple[str, JobSpec]] = []
        for impl in self._impls("kith_jobs"):
            for spec in self._call(impl, {}) or []:
                found.append((impl.plugin_name, spec))
        return found

    def routes(self) -> list[Any]:
        """Every plugin's litestar route handlers (``kith_routes``), in load order."""
        found: list[Any] = []
        for impl in self._impls("kith_routes"):
            found.extend(self._call(impl, {"kith": self.kith}) or [])
        return found

    def dashboard_widgets(self) -> list[Any]:
        """Every plugin's dashboard widgets (``kith_dashboard_widgets``), in load order."""
        from .dashboards import widget_list

        found: list[Any] = []
        for impl in self._impls("kith_dashboard_widgets"):
            found.extend(self._call(impl, {}) or [])
        return widget_list(found)

    def automation_actions(self) -> list[tuple[str, ActionSpec]]:
        found: list[tuple[str, ActionSpec]] = []
        for impl in self._impls("kith_automation_actions"):
            for spec in self._call(impl, {}) or []:
                found.append((impl.plugin_name, spec))
        return found

    def automation_triggers(self) -> list[tuple[str, TriggerSpec]]:
        """The event catalog: ``kith_events`` and (older) ``kith_automation_triggers``."""
        found: list[tuple[str, TriggerSpec]] = []
        for hook in ("kith_events", "kith_automation_triggers"):
            for impl in self._impls(hook):
                for spec in self._call(impl, {}) or []:
                    found.append((impl.plugin_name, spec))
        return found

    async def erase_contact(self, ctx: Context, contact_id: int, addresses: list[str]) -> None:
        """Every plugin's ``kith_erase_contact``, in load order (inside the command's tx)."""
        kwargs: dict[str, Any] = {"ctx": ctx, "contact_id": contact_id, "addresses": addresses}
        for impl in self._impls("kith_erase_contact"):
            await await_me_maybe(self._call(impl, kwargs))

    async def validate(self, command: str, data: BaseModel, actor: Actor) -> BaseModel:
        kwargs: dict[str, Any] = {"command": command, "actor": actor}
        for impl in self._impls("kith_validate"):
            kwargs["data"] = data
            result = await await_me_maybe(self._call(impl, kwargs))
            if result is not None:
                if not isinstance(result, type(data)):
                    raise KithError(
                        "plugin_error",
                        f"Plugin {impl.plugin_name} returned a {type(result).__name__} from "
                        f"kith_validate for {command}; expected {type(data).__name__} or None.",
                        status=500,
                    )
                data = result
        return data

    async def on_event(self, event: Event) -> list[tuple[str, str]]:
        """Deliver ``event`` to every implementation; return ``(plugin, error)`` failures."""
        failures: list[tuple[str, str]] = []
        kwargs = {"event": event, "kith": self.kith}
        for impl in self._impls("kith_on_event"):
            try:
                await await_me_maybe(self._call(impl, kwargs))
            except Exception as exc:
                failures.append((impl.plugin_name, f"{type(exc).__name__}: {exc}"))
        return failures

    # ---- data: search, timelines, demo (core/search.py, core/timeline.py, core/demo.py) ----
    def verbs(self) -> dict[str, Verb]:
        """The chat verbs: the core's, then each plugin's (a plugin's verb replaces a core
        verb of the same name)."""
        from .verbs import CORE_VERBS

        table: dict[str, Verb] = {v.name: v for v in CORE_VERBS}
        for impl in self._impls("kith_verbs"):
            for verb in self._call(impl, {}) or []:
                table[verb.name.lower()] = verb
        return table

    def search_sources(self) -> list[SearchSource]:
        sources: list[SearchSource] = []
        for impl in self._impls("kith_search_sources"):
            try:
                sources.extend(self._call(impl, {}) or [])
            except Exception:
                log.exception("plugin %s failed in kith_search_sources", impl.plugin_name)
        return sources

    async def timeline_items(
        self, ctx: Context, entity: str, record_id: int, before: Any, limit: int
    ) -> list[tuple[str, dict[str, Any]]]:
        """``(plugin, item)`` pairs; a failing plugin is logged and left out."""
        kwargs = {
            "ctx": ctx,
            "entity": entity,
            "record_id": record_id,
            "before": before,
            "limit": limit,
        }
        found: list[tuple[str, dict[str, Any]]] = []
        for impl in self._impls("kith_timeline_items"):
            try:
                items = await await_me_maybe(self._call(impl, kwargs)) or []
                found.extend((impl.plugin_name, dict(i)) for i in list(items)[:limit])
            except Exception:
                log.exception("plugin %s failed in kith_timeline_items", impl.plugin_name)
        return found

    async def demo_data(self, kith: Kith, users: dict[str, Actor], rng: Any) -> None:
        for impl in self._impls("kith_demo_data"):
            await await_me_maybe(self._call(impl, {"kith": kith, "users": users, "rng": rng}))

    async def _each_or_fail(self, hook: str, kith: Kith, failed_to: str) -> None:
        """Call every impl of ``hook`` in load order; the first failure stops Kith with a
        ``plugin_error`` naming the plugin (a ``KithError`` passes through as it is)."""
        for impl in self._impls(hook):
            try:
                await await_me_maybe(self._call(impl, {"kith": kith}))
            except KithError:
                raise
            except Exception as exc:
                raise KithError(
                    "plugin_error", f"Plugin {impl.plugin_name} failed to {failed_to}: {exc}"
                ) from exc

    async def startup(self, kith: Kith) -> None:
        await self._each_or_fail("kith_startup", kith, "start")

    async def init(self, kith: Kith) -> None:
        """``kith init``: let each plugin create its default records (idempotently)."""
        await self._each_or_fail("kith_init", kith, "initialise")

    async def shutdown(self, kith: Kith) -> None:
        for impl in self._impls("kith_shutdown"):
            try:
                await await_me_maybe(self._call(impl, {"kith": kith}))
            except Exception:
                log.exception("plugin %s failed to shut down", impl.plugin_name)

    def merge_references(self, entity: str) -> list[tuple[str, MergeReference]]:
        """Every plugin's ``kith_merge_references`` for ``entity``: ``(plugin, reference)``."""
        from .dataio.merge_refs import MergeReference

        found: list[tuple[str, MergeReference]] = []
        for impl in self._impls("kith_merge_references"):
            for ref in self._call(impl, {"entity": entity}) or []:
                if not isinstance(ref, MergeReference):
                    raise KithError(
                        "plugin_error",
                        f"Plugin {impl.plugin_name} returned {ref!r} from "
                        "kith_merge_references; expected kith.MergeReference",
                        status=500,
                    )
                found.append((impl.plugin_name, ref))
        return found


def validate_plugin_settings(
    models: dict[str, type[BaseModel]], plugins_file: PluginsFile, enabled: Iterable[str]
) -> dict[str, BaseModel]:
    """Validate each plugin's ``plugins.toml`` section against its settings model."""
    enabled = set(enabled)
    out: dict[str, BaseModel] = {}
    for name, raw in plugins_file.settings.items():
        if name in enabled and raw and name not in models:
            keys = ", ".join(sorted(raw))
            raise KithError(
                "invalid_settings",
                f"plugins.toml: plugin {name} takes no settings (got {keys}).",
                [FieldError(f"plugins.{name}.{k}", "is not a setting of this plugin") for k in raw],
            )
    for name, model in models.items():
        try:
            out[name] = model.model_validate(plugins_file.settings.get(name, {}))
        except ValidationError as exc:
            fields = [
                FieldError(
                    f"plugins.{name}." + ".".join(str(p) for p in e["loc"]),
                    "is not a known setting" if e["type"] == "extra_forbidden" else e["msg"],
                    e["type"],
                )
                for e in exc.errors(include_url=False)
            ]
            detail = "; ".join(f"{f.field}: {f.message}" for f in fields)
            raise KithError(
                "invalid_settings", f"plugins.toml: bad settings for {name} — {detail}", fields
            ) from exc
    return out
