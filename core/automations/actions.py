"""Actions: what an automation does. Plugins bring theirs through ``kith_automation_actions``.

An action is an ``async def`` taking an :class:`ActionContext` and its validated settings (a
pydantic model). Its docstring is its description. It changes data only through commands
(``await actx.command("task.create", {...})``), which run in the run's transaction as the
automation's actor, so history says "automation 'Follow up qualified deals'" and the events
the action causes carry the chain depth that stops loops. Template strings in the settings
are rendered before the action sees them.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from ..errors import KithError, invalid
from .timeexpr import parse_when

if TYPE_CHECKING:
    from ..context import Context
    from ..events import Event
    from ..permissions import Actor
    from .fields import Loader

ActionRun = Callable[["ActionContext", Any], Awaitable[dict[str, Any] | None]]
Validate = Callable[[Any, "str | None", Any], None]
Emits = tuple[str, ...] | Callable[[Any, "str | None"], Iterable[str]]
Commands = tuple[str, ...] | Callable[[Any, "str | None"], Iterable[str]]

# Actions that bundled plugins declare: naming them without the plugin is not a typo.
PLUGIN_ACTIONS = {
    "assign_by_rule": "sales",
    "move_deal": "sales",
    "send_email_template": "email",
    "enroll_in_sequence": "marketing",
    "escalate_ticket": "service",
    "solve_ticket": "service",
    "assign_ticket": "service",
}


class ActionConfig(BaseModel):
    """Base of action settings: unknown keys are errors, text is trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


@dataclass(frozen=True)
class ActionSpec:
    """An action automations can use. Build one with :func:`automation_action`."""

    name: str
    run: ActionRun
    config: type[BaseModel]
    description: str
    emits: Emits = ()
    entities: tuple[str, ...] | None = None
    validate: Validate | None = None
    commands: Commands = ()
    plugin: str | None = None

    def commands_used(self, config: Any, entity: str | None) -> list[str]:
        """The commands this action runs: they must exist, and whoever defines the automation
        must be allowed to run them (an automation never does more than its author may)."""
        return list(self.commands(config, entity) if callable(self.commands) else self.commands)

    def events(self, config: Any, entity: str | None) -> list[str]:
        """The events this action may cause (for refusing obvious cycles)."""
        names = self.emits(config, entity) if callable(self.emits) else self.emits
        return [n.replace("{entity}", entity or "record") for n in names]

    @property
    def summary(self) -> str:
        return self.description.strip().splitlines()[0] if self.description.strip() else ""


def automation_action(
    name: str,
    *,
    config: type[BaseModel],
    emits: Emits = (),
    entities: Iterable[str] | None = None,
    validate: Validate | None = None,
    commands: Commands = (),
) -> Callable[[ActionRun], ActionSpec]:
    """Declare an automation action.

    ``config`` validates the action's settings (templates are rendered first); ``emits`` names
    the events it may cause (``"{entity}.updated"`` for the record's own entity), so that
    definitions whose actions trigger each other in a circle are refused; ``entities`` limits
    it to records of these entities; ``validate(config, entity, kith)`` may refuse settings
    that do not fit the trigger's entity with ``kith.invalid(field, reason)``; ``commands`` names
    the commands it runs (or computes them from ``(config, entity)``): a definition is refused
    when one is missing or its author may not run it. Example::

        @kith.automation_action("move_deal", config=MoveDeal, emits=["deal.stage_changed"],
                                entities=["deal"], commands=["deal.move"])
        async def move_deal(actx, config):
            \"\"\"Move the deal to another stage.\"\"\"
            await actx.command("deal.move", {"deal": actx.record_id, "stage": config.stage})
    """
    if not name.isidentifier() or name != name.lower():
        raise ValueError(f"action name {name!r} must be lower_snake_case")

    def decorate(fn: ActionRun) -> ActionSpec:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"action {name}: must be 'async def'")
        doc = inspect.getdoc(fn)
        if not doc:
            raise TypeError(f"action {name}: needs a docstring (its description)")
        return ActionSpec(
            name=name,
            run=fn,
            config=config,
            description=doc,
            emits=emits if callable(emits) else tuple(emits),
            entities=tuple(entities) if entities is not None else None,
            validate=validate,
            commands=commands if callable(commands) else tuple(commands),
        )

    return decorate


class ActionRegistry:
    def __init__(self) -> None:
        self._actions: dict[str, ActionSpec] = {}

    def add(self, spec: ActionSpec, plugin: str | None = None) -> None:
        if not isinstance(spec, ActionSpec):
            raise TypeError(f"plugin {plugin}: kith_automation_actions returned {spec!r}")
        existing = self._actions.get(spec.name)
        if existing is not None and existing.run is not spec.run:
            raise KithError(
                "plugin_conflict",
                f"Automation action {spec.name} is registered twice "
                f"(by {existing.plugin} and {plugin}).",
            )
        if plugin and spec.plugin is None:
            spec = ActionSpec(**{**spec.__dict__, "plugin": plugin})
        self._actions[spec.name] = spec

    def get(self, name: str) -> ActionSpec | None:
        return self._actions.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._actions

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._actions.values(), key=lambda s: s.name))


class ActionContext:
    """What an action gets: the record, the event, and commands run as the automation."""

    def __init__(
        self,
        *,
        ctx: Context,
        actor: Actor,
        automation: dict[str, Any],
        run_id: int | None,
        entity: str | None,
        record_id: int | None,
        record: dict[str, Any] | None,
        event: dict[str, Any] | None,
        tz: ZoneInfo,
        loader: Loader,
        step: str,
    ) -> None:
        self._ctx = ctx
        self.actor = actor
        self.automation = automation
        self.run_id = run_id
        self.entity = entity
        self.record_id = record_id
        self.record = record
        self.event = event
        self.tz = tz
        self.loader = loader
        self.step = step

    @property
    def kith(self) -> Any:
        return self._ctx.kith

    def now(self) -> datetime:
        return self._ctx.now()

    async def full_record(self) -> dict[str, Any] | None:
        """The record with every reference by its label (``record`` has only those the
        action's templates use, to spare lookups)."""
        if self.entity is None or self.record_id is None:
            return self.record
        row = await self.loader.row(self.entity, self.record_id)
        return await self.loader.view(self.entity, row)

    def _child(self) -> Context:
        from ..context import Context

        return Context(self._ctx.kith, self.actor, self._ctx.spec, self._ctx.tx, self._ctx)

    async def command(self, name: str, payload: dict[str, Any] | BaseModel) -> Any:
        """Run a command in the run's transaction, as the automation."""
        return await self._ctx.kith._run_nested(self._child(), name, payload)

    def emit(self, name: str, **data: Any) -> Event:
        """Emit an event about the record, as the automation (delivered after commit)."""
        return self._child().emit(name, self.entity, self.record_id, **data)

    async def schedule(
        self,
        job: str,
        payload: dict[str, Any],
        *,
        at: datetime | None = None,
        key: str | None = None,
    ) -> int:
        """Schedule a job in the run's transaction (for slow or external work)."""
        return await self._ctx.schedule(job, payload, at=at, key=key)

    def when(self, text: str, field: str = "due") -> datetime:
        """A time written like ``+2 business days`` or ``9am tomorrow``, from now."""
        try:
            return parse_when(text).resolve(self.now(), self.tz)
        except ValueError as exc:
            raise invalid(field, str(exc)) from None

    async def owner_id(self) -> int | None:
        """The record's owner: its ``owner_id``, else its ``assignee_id``."""
        if self.record is None:
            return None
        if self.entity == "user":
            return self.record.get("id")
        for column in ("owner_id", "assignee_id"):
            if self.record.get(column) is not None:
                return int(self.record[column])
        return None

    async def user_id(self, ref: str | int | None, field: str = "assignee") -> int | None:
        """``owner`` (the record's owner), ``manager`` (the lead of the owner's team), or a
        user by id, email, Slack id or name."""
        if ref is None or ref == "":
            return None
        text = str(ref).strip().lower()
        if text in ("owner", "manager"):
            owner = await self.owner_id()
            if owner is None:
                raise invalid(field, f"the {self.entity or 'trigger'} has no owner")
            if text == "owner":
                return owner
            return await self._manager_of(owner, field)
        from ..entities.users import resolve_user

        return int((await resolve_user(self._ctx, ref, field))["id"])

    async def _manager_of(self, user_id: int, field: str) -> int:
        marks = self._ctx.kith.db.statements.placeholders(2)
        rows = await self._ctx.fetch(
            'SELECT t."lead_id" FROM "teams" t JOIN "team_members" m ON m."team_id" = t."id" '  # noqa: S608
            f'WHERE m."user_id" = {marks[0]} AND t."lead_id" IS NOT NULL '
            f'AND t."lead_id" <> {marks[1]} AND t."archived_at" IS NULL ORDER BY t."id" LIMIT 1',
            [user_id, user_id],
        )
        if not rows:
            raise invalid(
                field, f"user #{user_id} is in no team with a lead: nobody to escalate to"
            )
        return int(rows[0]["lead_id"])
