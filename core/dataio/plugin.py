"""The data-io part of the core, registered as a plugin named ``core.dataio``.

Like :mod:`kith.builtin`, it uses only hooks: its commands, its jobs, and the references to
core records that a merge moves (``kith_merge_references``).
"""

from __future__ import annotations

from ..commands import CommandSpec
from ..hookspecs import hookimpl
from ..jobs import JobSpec
from . import backup, duplicate_commands, erase, export, import_commands, merge
from .duplicate_commands import kith_on_event, kith_startup  # noqa: F401 - duplicate checks
from .merge_refs import kith_merge_references  # noqa: F401 - the core's references


@hookimpl(trylast=True)
def kith_commands() -> list[CommandSpec]:
    """import.*, export.run, duplicates.*, <entity>.merge/unmerge, backup.create."""
    return [
        *import_commands.COMMANDS,
        *export.COMMANDS,
        *merge.COMMANDS,
        *duplicate_commands.COMMANDS,
        *backup.COMMANDS,
        *erase.COMMANDS,
    ]


@hookimpl(trylast=True)
def kith_jobs() -> list[JobSpec]:
    """import.batch (one batch of a background import) and duplicates.scan (nightly)."""
    return [*import_commands.JOBS, *duplicate_commands.JOBS]
