"""The core's own plugin: its tables and its generic commands, registered like any plugin's.

Registered first under the name ``core``; bundled and third-party plugins come after it.
"""

from __future__ import annotations

from .commands import CommandSpec
from .entities import people, sales, users, work
from .hookspecs import hookimpl
from .tokens import COMMANDS as TOKEN_COMMANDS


@hookimpl(trylast=True)
def kith_tables() -> list[str]:
    """The core's piccolo app (its migrations run first)."""
    return ["kith.piccolo_app"]


@hookimpl(trylast=True)
def kith_commands() -> list[CommandSpec]:
    """Generic create/update/archive/restore/get for every entity, plus activity.log,
    task.complete and the API token commands."""
    return [*users.COMMANDS, *people.COMMANDS, *sales.COMMANDS, *work.COMMANDS, *TOKEN_COMMANDS]
