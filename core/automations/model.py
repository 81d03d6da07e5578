"""An automation's definition: *when* (trigger), *if* (conditions), *then* (steps).

``parse_definition`` checks everything a person wrote — events, fields, comparison types,
action settings, templates, waits — and reports every mistake with its path
(``definition.if.all.1.greater_than``). Steps compile into a small program (actions, waits,
conditional jumps) whose position a run stores between jobs.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ValidationError

from ..errors import FieldError, KithError, from_validation_error
from . import conditions as cond
from .actions import PLUGIN_ACTIONS, ActionSpec
from .cron import Cron, parse_cron
from .fields import CATALOG
from .templates import check_all, is_template
from .timeexpr import Duration, Wait, parse_duration, parse_wait
from .triggers import known_events

if TYPE_CHECKING:
    from ..permissions import Actor
    from ..runtime import Kith
    from .actions import ActionRegistry

KEYS = ("name", "description", "when", "if", "then", "time_zone", "enabled")
MAX_STEPS = 50
MAX_NESTING = 4
PREFIX = "definition"


@dataclass(frozen=True)
class Trigger:
    """``event`` (an event name), ``schedule`` (cron) or ``matches_for`` (a duration)."""

    kind: str
    event: str | None = None
    entity: str | None = None
    cron: Cron | None = None
    duration: Duration | None = None

    def describe(self) -> str:
        if self.kind == "event":
            return str(self.event)
        if self.kind == "schedule":
            about = f" for each {self.entity}" if self.entity else ""
            return f"schedule {self.cron.text if self.cron else ''}{about}"
        return f"{self.entity} matches for {self.duration}"

    @property
    def label(self) -> str:
        return self.event if self.kind == "event" else self.kind  # type: ignore[return-value]


@dataclass
class Op:
    """One instruction: ``action``, ``wait``, ``branch`` (jump to ``target`` unless the
    condition holds), ``jump`` or ``end``."""

    kind: str
    where: str = ""
    name: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    spec: ActionSpec | None = None
    wait: Wait | None = None
    condition: cond.Node | None = None
    target: int = 0


@dataclass
class Definition:
    name: str
    description: str | None
    trigger: Trigger
    condition: cond.Node | None
    program: list[Op]
    tz: ZoneInfo
    raw: dict[str, Any]
    problems: list[FieldError] = field(default_factory=list)  # a plugin is missing
    emits: dict[str, list[str]] = field(default_factory=dict)  # action path → events

    @property
    def entity(self) -> str | None:
        return self.trigger.entity

    def __post_init__(self) -> None:
        # whether evaluating the conditions reads the record (computed once: hot path)
        self.reads_record = cond.needs_record(self.condition)


class _Parser:
    def __init__(
        self,
        kith: Kith,
        actions: ActionRegistry,
        actor: Actor | None,
        custom_defs: dict[tuple[str, str], str] | None,
    ) -> None:
        self.kith = kith
        self.actions = actions
        self.actor = actor
        self.custom_defs = custom_defs
        self.problems = cond.Problems()
        self.missing: list[FieldError] = []
        self.emits: dict[str, list[str]] = {}
        self.count = 0

    # ---- trigger ---------------------------------------------------------------------------
    def trigger(self, raw: Any) -> Trigger | None:
        where = f"{PREFIX}.when"
        if isinstance(raw, str):
            raw = {"event": raw}
        if not isinstance(raw, dict) or not raw:
            self.problems.add(
                where,
                "say when: an event name (deal.stage_changed), {schedule: '0 9 * * mon-fri'} "
                "or {matches_for: 14 days, entity: deal}",
            )
            return None
        kinds = [k for k in ("event", "schedule", "matches_for") if k in raw]
        extra = [k for k in raw if k not in ("event", "schedule", "matches_for", "entity")]
        if len(kinds) != 1 or extra:
            bad = extra[0] if extra else None
            self.problems.add(
                f"{where}.{bad}" if bad else where,
                "give one of event:, schedule: or matches_for: (with entity:)",
                "unknown_field" if bad else "invalid",
            )
            return None
        kind = kinds[0]
        entity = raw.get("entity")
        if entity is not None and (not isinstance(entity, str) or CATALOG.table(entity) is None):
            known = ", ".join(sorted(CATALOG.entities()))
            self.problems.add(f"{where}.entity", f"{entity!r} is not an entity. Known: {known}")
            return None
        if kind == "event":
            return self._event_trigger(raw["event"], entity, where)
        if kind == "schedule":
            try:
                cron = parse_cron(raw["schedule"])
            except ValueError as exc:
                self.problems.add(f"{where}.schedule", str(exc))
                return None
            return Trigger("schedule", entity=entity, cron=cron)
        if entity is None:
            self.problems.add(f"{where}.entity", "matches_for needs the entity it watches")
            return None
        try:
            duration = parse_duration(raw["matches_for"])
        except ValueError as exc:
            self.problems.add(f"{where}.matches_for", str(exc))
            return None
        return Trigger("matches_for", entity=entity, duration=duration)

    def _event_trigger(self, name: Any, entity: str | None, where: str) -> Trigger | None:
        known = known_events(self.kith)
        if not isinstance(name, str) or name not in known:
            close = difflib.get_close_matches(str(name), list(known), n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            self.problems.add(
                where if isinstance(name, str) else f"{where}.event",
                f"{name!r} is not an event Kith knows.{hint} (see `kith automations events`)",
                "unknown_event",
            )
            return None
        spec_entity = known[name].entity
        if entity is not None and spec_entity is not None and entity != spec_entity:
            self.problems.add(f"{where}.entity", f"{name} is about a {spec_entity}, not {entity}")
            return None
        return Trigger("event", event=name, entity=entity or spec_entity)

    # ---- steps -----------------------------------------------------------------------------
    def steps(self, raw: Any, where: str, scope: cond.Scope, depth: int) -> list[Any]:
        if not isinstance(raw, list) or not raw:
            self.problems.add(where, "give a list of steps (actions, wait:, if:)")
            return []
        if depth > MAX_NESTING:
            self.problems.add(where, f"branches nest at most {MAX_NESTING} deep")
            return []
        out = []
        for i, item in enumerate(raw):
            self.count += 1
            if self.count > MAX_STEPS:
                self.problems.add(where, f"an automation has at most {MAX_STEPS} steps")
                return out
            step = self.step(item, f"{where}.{i}", scope, depth)
            if step is not None:
                out.append(step)
        return out

    def step(self, item: Any, where: str, scope: cond.Scope, depth: int) -> Any:
        if not isinstance(item, dict) or not item:
            self.problems.add(where, "a step is an action ({create_task: {...}}), wait: or if:")
            return None
        if "wait" in item:
            if len(item) != 1:
                self.problems.add(where, "wait: stands alone in its step")
                return None
            try:
                return ("wait", where, parse_wait(item["wait"]))
            except ValueError as exc:
                self.problems.add(f"{where}.wait", str(exc))
                return None
        if "if" in item:
            extra = [k for k in item if k not in ("if", "then", "else")]
            if extra:
                self.problems.add(f"{where}.{extra[0]}", "a branch has if:, then: and else:")
                return None
            if "then" not in item:
                self.problems.add(f"{where}.then", "say what to do when the condition holds")
                return None
            condition = cond.parse(item["if"], f"{where}.if", scope, self.problems)
            then = self.steps(item["then"], f"{where}.then", scope, depth + 1)
            otherwise = (
                self.steps(item["else"], f"{where}.else", scope, depth + 1)
                if "else" in item
                else []
            )
            return ("if", where, condition, then, otherwise)
        if len(item) != 1:
            keys = ", ".join(item)
            self.problems.add(where, f"one action per step (found {keys})")
            return None
        ((name, config),) = item.items()
        return self.action(str(name), config, f"{where}.{name}", scope)

    def action(self, name: str, config: Any, where: str, scope: cond.Scope) -> Any:
        spec = self.actions.get(name)
        if config is None:
            config = {}
        if not isinstance(config, dict):
            self.problems.add(where, "an action's settings are a mapping ({title: ...})")
            return None
        if spec is None:
            plugin = PLUGIN_ACTIONS.get(name)
            if plugin is not None:
                self.missing.append(
                    FieldError(
                        where,
                        f"needs plugin {plugin}: the action {name} comes with it, and it is "
                        "not installed or not enabled",
                        "needs_plugin",
                    )
                )
                return ("action", where, name, config, None)
            known = [s.name for s in self.actions]
            close = difflib.get_close_matches(name, known, n=3)
            hint = f"Did you mean {', '.join(close)}? " if close else ""
            self.problems.add(
                where,
                f"{name!r} is not an action. {hint}Actions: {', '.join(known)}",
                "unknown_action",
            )
            return None
        check_all(config, where, self.problems)
        if self.problems and any(e.field.startswith(where) for e in self.problems.errors):
            return None
        try:
            model: BaseModel = spec.config.model_validate(config)
        except ValidationError as exc:
            self.problems.errors.extend(from_validation_error(exc, where).fields)
            return None
        entity = scope.entity
        if spec.entities is not None and entity not in spec.entities:
            self.problems.add(
                where,
                f"{name} works on {' or '.join(spec.entities)} records; this automation is "
                f"about {entity or 'no record'}",
            )
            return None
        if spec.validate is not None:
            try:
                spec.validate(model, entity, self.kith)
            except KithError as err:
                for f in err.fields or [FieldError("", err.message)]:
                    self.problems.add(f"{where}.{f.field}".rstrip("."), f.message, f.code)
                return None
        for command in spec.commands_used(model, entity):
            if command not in self.kith.registry:
                self.missing.append(
                    FieldError(
                        where,
                        f"needs the command {command}, which no plugin provides",
                        "needs_plugin",
                    )
                )
            elif self.actor is not None:
                needed = self.kith.registry.get(command).permission
                try:
                    self.actor.require(needed, command)
                except KithError:
                    self.problems.add(
                        where,
                        f"runs {command}, which needs the {needed} permission you do not have",
                        "forbidden",
                    )
        self.emits[where] = spec.events(model, entity)
        return ("action", where, name, config, spec)


def _compile(steps: list[Any], program: list[Op]) -> None:
    for step in steps:
        kind = step[0]
        if kind == "action":
            _, where, name, config, spec = step
            program.append(Op("action", where, name, config, spec))
        elif kind == "wait":
            program.append(Op("wait", step[1], wait=step[2]))
        else:
            _, where, condition, then, otherwise = step
            branch = len(program)
            program.append(Op("branch", where, condition=condition))
            _compile(then, program)
            if otherwise:
                jump = len(program)
                program.append(Op("jump", where))
                program[branch].target = len(program)
                _compile(otherwise, program)
                program[jump].target = len(program)
            else:
                program[branch].target = len(program)


def parse_definition(
    raw: Any,
    kith: Kith,
    actions: ActionRegistry,
    *,
    actor: Actor | None = None,
    custom_defs: dict[tuple[str, str], str] | None = None,
) -> Definition:
    """Parse and check a definition. Raises ``KithError`` listing every problem; actions or
    commands of a plugin that is not installed are kept in ``Definition.problems`` instead
    (the automation can be saved, disabled, and enabled once the plugin is there)."""
    if not isinstance(raw, dict):
        raise KithError(
            "invalid_input",
            "An automation is a mapping with name, when, if and then.",
            [FieldError(PREFIX, "give name:, when:, if: and then:")],
        )
    p = _Parser(kith, actions, actor, custom_defs)
    for key in raw:
        if key not in KEYS:
            p.problems.add(
                f"{PREFIX}.{key}",
                f"is not a known key (use {', '.join(KEYS)})",
                "unknown_field",
            )
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        p.problems.add(f"{PREFIX}.name", "give the automation a name (up to 200 characters)")
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        p.problems.add(f"{PREFIX}.description", "must be text")
    tz = ZoneInfo("UTC")
    if raw.get("time_zone") is not None:
        try:
            tz = ZoneInfo(str(raw["time_zone"]))
        except (ZoneInfoNotFoundError, ValueError):
            p.problems.add(f"{PREFIX}.time_zone", f"{raw['time_zone']!r} is not a time zone")
    if "enabled" in raw and not isinstance(raw["enabled"], bool):
        p.problems.add(f"{PREFIX}.enabled", "write enabled: true or enabled: false")
    trigger = p.trigger(raw.get("when")) if "when" in raw else None
    if "when" not in raw:
        p.problems.add(f"{PREFIX}.when", "say when the automation runs", "missing")
    scope = cond.Scope(
        entity=trigger.entity if trigger else None,
        has_event=trigger is not None and trigger.kind == "event",
        custom_defs=custom_defs,
    )
    condition = None
    if raw.get("if") is not None and trigger is not None:
        condition = cond.parse(raw["if"], f"{PREFIX}.if", scope, p.problems)
    if trigger is not None and trigger.kind == "matches_for" and condition is None:
        p.problems.add(f"{PREFIX}.if", "matches_for needs the conditions to watch", "missing")
    steps = p.steps(raw.get("then"), f"{PREFIX}.then", scope, 1) if trigger else []
    if p.problems or trigger is None:
        errors = p.problems.errors
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:3])
        raise KithError("invalid_input", f"The automation is not valid — {summary}", errors)
    program: list[Op] = []
    _compile(steps, program)
    program.append(Op("end"))
    clean = {k: raw[k] for k in KEYS if k in raw and k != "enabled"}
    return Definition(
        name=str(name).strip(),
        description=description,
        trigger=trigger,
        condition=condition,
        program=program,
        tz=tz,
        raw=clean,
        problems=p.missing,
        emits=p.emits,
    )


def describe_op(op: Op) -> str:
    if op.kind == "action":
        return op.name
    if op.kind == "wait":
        return f"wait {op.wait}"
    if op.kind == "branch":
        return "if " + " and ".join(leaf.describe() for leaf in cond.fields_used(op.condition))
    return op.kind


def uses_templates(config: dict[str, Any]) -> bool:
    return any(is_template(v) for v in config.values())


def listens_to(definition: Definition, event: str) -> bool:
    """Whether ``event`` can start (or, for matches_for, re-check) ``definition``."""
    trigger = definition.trigger
    if trigger.kind == "event":
        return trigger.event == event
    if trigger.kind == "matches_for":
        return event.partition(".")[0] == trigger.entity
    return False


def find_cycle(
    new_name: str, definitions: dict[str, Definition]
) -> list[tuple[str, str, str]] | None:
    """An obvious loop through ``new_name``: ``[(automation, action path, event), ...]`` where
    each automation's action emits the event that starts the next, back to ``new_name``.
    A rule that re-triggers only itself is left to the run-time depth limit."""

    def edges(name: str) -> list[tuple[str, str, str]]:
        out = []
        for where, events in definitions[name].emits.items():
            for event in events:
                for other, definition in definitions.items():
                    if other != name and listens_to(definition, event):
                        out.append((other, where, event))
        return out

    path: list[tuple[str, str, str]] = []
    seen: set[str] = set()

    def visit(name: str) -> bool:
        for other, where, event in edges(name):
            path.append((name, where, event))
            if other == new_name:
                return True
            if other not in seen:
                seen.add(other)
                if visit(other):
                    return True
            path.pop()
        return False

    return path if visit(new_name) else None
