"""The core's own plugin: its tables and its generic commands, registered like any plugin's.

Registered first under the name ``core``; bundled and third-party plugins come after it.
"""

from __future__ import annotations

from .commands import CommandSpec
from .entities import people, sales, users, work
from .hookspecs import hookimpl
from .jobs import JobSpec
from .tokens import COMMANDS as TOKEN_COMMANDS


@hookimpl(trylast=True)
def kith_tables() -> list[str]:
    """The core's piccolo app (its migrations run first)."""
    return ["kith.piccolo_app"]


@hookimpl(trylast=True)
def kith_commands() -> list[CommandSpec]:
    """Generic create/update/archive/restore/get for every entity, plus activity.log and
    task.complete; <entity>.list and <entity>.timeline; custom fields, tags, settings, find;
    job administration; the API token commands."""
    from . import job_commands

    return [
        *users.COMMANDS,
        *people.COMMANDS,
        *sales.COMMANDS,
        *work.COMMANDS,
        *data_commands(),
        *job_commands.COMMANDS,
        *TOKEN_COMMANDS,
    ]


def data_commands() -> list[CommandSpec]:
    """Queries and data features (issue 4): generated per entity, plus their own commands."""
    from . import board, custom_fields, search, stored_settings, tags
    from .entities._common import entities
    from .queries import list_command
    from .timeline import timeline_command

    specs: list[CommandSpec] = []
    for entity in entities().values():
        specs += [list_command(entity), timeline_command(entity)]
    return [
        *specs,
        *custom_fields.COMMANDS,
        *tags.COMMANDS,
        *stored_settings.COMMANDS,
        *search.COMMANDS,
        *board.COMMANDS,
    ]


@hookimpl(trylast=True)
def kith_jobs() -> list[JobSpec]:
    """The core's own jobs: redelivering an event to a plugin that failed on it."""
    from .delivery import redeliver

    return [redeliver]
