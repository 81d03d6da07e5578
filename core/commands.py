"""The command registry: everything a person or a program can do is a command.

A command has a name (``contact.create``), a pydantic input model, an optional output model,
a permission, and an async handler ``(ctx, data) -> result``. Read-only commands (queries)
live in the same registry, so every channel gets every read for free.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .errors import KithError
from .permissions import check_permission_name

if TYPE_CHECKING:
    from .context import Context

Handler = Callable[["Context", Any], Awaitable[Any]]
# Commands that act across entities and so have no noun (DESIGN: "find").
VERBS_WITHOUT_NOUN = frozenset({"find"})


@dataclass(frozen=True)
class CommandSpec:
    """A registered command. Build one with :func:`command`."""

    name: str
    handler: Handler
    input: type[BaseModel]
    output: type[BaseModel] | None
    permission: str
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    description: str = ""
    plugin: str | None = None

    async def __call__(self, ctx: Context, data: Any) -> Any:
        return await self.handler(ctx, data)

    @property
    def summary(self) -> str:
        return self.description.strip().splitlines()[0] if self.description.strip() else ""


def command(
    name: str,
    *,
    input: type[BaseModel],
    output: type[BaseModel] | None = None,
    permission: str,
    read_only: bool = False,
    destructive: bool = False,
    idempotent: bool = False,
) -> Callable[[Handler], CommandSpec]:
    """Declare a command. The handler's docstring is its description everywhere (CLI help,
    OpenAPI, MCP tool description), so it is required.

    Example::

        @command("deal.move", input=MoveDeal, output=DealOut, permission="deals.write")
        async def move_deal(ctx: Context, data: MoveDeal) -> DealOut:
            \"\"\"Move a deal to another stage of its pipeline.\"\"\"
    """
    check_permission_name(permission)
    if ("." not in name and name not in VERBS_WITHOUT_NOUN) or name != name.strip().lower():
        raise ValueError(f"command name {name!r} must be lower-case '<noun>.<verb>'")

    def decorate(fn: Handler) -> CommandSpec:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"command {name}: the handler must be 'async def'")
        doc = inspect.getdoc(fn)
        if not doc:
            raise TypeError(f"command {name}: the handler needs a docstring (its description)")
        return CommandSpec(
            name=name,
            handler=fn,
            input=input,
            output=output,
            permission=permission,
            read_only=read_only,
            destructive=destructive,
            idempotent=idempotent or read_only,
            description=doc,
        )

    return decorate


def commands_in(*modules: ModuleType) -> list[CommandSpec]:
    """Every :class:`CommandSpec` defined at module level, in definition order."""
    found: list[CommandSpec] = []
    for module in modules:
        found.extend(v for v in vars(module).values() if isinstance(v, CommandSpec))
    return found


class CommandRegistry:
    """Name → command. Two plugins registering the same name is an error at start-up."""

    def __init__(self) -> None:
        self._commands: dict[str, CommandSpec] = {}

    def add(self, spec: CommandSpec, plugin: str | None = None) -> None:
        if not isinstance(spec, CommandSpec):
            raise TypeError(f"plugin {plugin}: kith_commands returned {spec!r}, not a command")
        existing = self._commands.get(spec.name)
        if existing is not None and existing.handler is not spec.handler:
            raise KithError(
                "plugin_conflict",
                f"Command {spec.name} is registered twice (by {existing.plugin} and {plugin}).",
            )
        if plugin and spec.plugin is None:
            spec = CommandSpec(**{**spec.__dict__, "plugin": plugin})
        self._commands[spec.name] = spec

    def extend(self, specs: Iterable[CommandSpec], plugin: str | None = None) -> None:
        for spec in specs:
            self.add(spec, plugin)

    def get(self, name: str) -> CommandSpec:
        try:
            return self._commands[name]
        except KeyError:
            close = [n for n in self._commands if n.split(".")[0] == name.split(".")[0]]
            hint = (
                f" Known {name.split('.')[0]} commands: {', '.join(sorted(close))}."
                if close
                else ""
            )
            raise KithError(
                "unknown_command", f"There is no command {name!r}.{hint}", status=404
            ) from None

    def __contains__(self, name: str) -> bool:
        return name in self._commands

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._commands.values(), key=lambda s: s.name))

    def __len__(self) -> int:
        return len(self._commands)
