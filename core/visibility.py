"""Record visibility: which records an actor may see, per entity.

An admin sets ``visibility.<entity>`` to ``all`` (the default), ``team`` or ``own``:

* ``all``: everyone with the read permission sees every record;
* ``team``: agents and viewers see the records owned by anyone who shares a team with them
  (and their own); managers the same;
* ``own``: agents and viewers see only the records they own; managers see their teams'.

Admins and the system always see everything. "Owns" means the entity's owner column is the
actor (``owner_id``; ``assignee_id`` for tickets and tasks; ``user_id`` for activities); a
ticket is also its team's when its ``team_id`` is one of the actor's teams. Users, teams,
pipelines and stages are configuration: always visible.

A record the actor may not see does not exist for them: ``get``, ``update``, references
typed into any command, lists, timelines and ``find`` all treat it as not found. This module
is the one place that decides; the query paths call :func:`sql_condition`, and
:meth:`Context.get` and :func:`kith.refs.by_text` call :func:`can_see` / :func:`sql_condition`.
"""

# SQL here is assembled from quoted identifiers of table metadata and Params placeholders;
# every value is a bound parameter (S608 cannot see that).
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .db.params import Params
from .db.statements import quote
from .stored_settings import define_setting, get_setting

if TYPE_CHECKING:
    from .context import Context

Level = Literal["all", "team", "own"]
LEVELS: tuple[str, ...] = ("all", "team", "own")


@dataclass(frozen=True)
class Ownership:
    """Which columns say whose record a row is."""

    entity: str
    owner_columns: tuple[str, ...]
    team_column: str | None = None


OWNERSHIP: dict[str, Ownership] = {
    o.entity: o
    for o in (
        Ownership("organization", ("owner_id",)),
        Ownership("contact", ("owner_id",)),
        Ownership("lead", ("owner_id",)),
        Ownership("deal", ("owner_id",)),
        Ownership("ticket", ("assignee_id",), team_column="team_id"),
        Ownership("activity", ("user_id",)),
        Ownership("task", ("assignee_id",)),
    )
}


def _check_level(value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in LEVELS:
        raise ValueError(f"must be one of {', '.join(LEVELS)}")
    return value.strip().lower()


for _entity in OWNERSHIP:
    define_setting(
        f"visibility.{_entity}",
        f"Which {_entity} records agents and viewers see: all, team (records owned by "
        "someone in one of their teams) or own (their own). Managers see their teams' "
        "unless it is all; admins see all.",
        "all",
        _check_level,
    )


async def level(ctx: Context, entity: str) -> str:
    """The visibility that applies to ``ctx``'s actor for ``entity``."""
    actor = ctx.actor
    if entity not in OWNERSHIP or actor.is_system or actor.role == "admin":
        return "all"
    setting = await get_setting(ctx, f"visibility.{entity}")
    if setting == "all":
        return "all"
    if actor.role == "manager":
        return "team"
    return str(setting)


async def _teams(ctx: Context) -> tuple[frozenset[int], frozenset[int]]:
    """(the actor's team ids, the user ids of everyone in those teams), once per command."""
    root = ctx.root
    user_id = ctx.actor.user_id
    by_user = getattr(root, "_kith_visibility_teams", None)
    if by_user is None:  # per user: a system job may run commands for several people
        by_user = root._kith_visibility_teams = {}  # type: ignore[attr-defined]
    cached = by_user.get(user_id)
    if cached is not None:
        return cached
    teams: frozenset[int] = frozenset(ctx.actor.team_ids)
    mates: frozenset[int] = frozenset()
    if user_id is not None:
        p = Params(ctx.kith.db.dialect)
        rows = await ctx.fetch(
            'SELECT m1."team_id" AS team_id, m2."user_id" AS user_id FROM "team_members" m1 '
            'JOIN "team_members" m2 ON m2."team_id" = m1."team_id" '
            f'WHERE m1."user_id" = {p(user_id)}',
            p.values,
        )
        teams = teams | {r["team_id"] for r in rows}
        mates = frozenset(r["user_id"] for r in rows)
    cached = (teams, mates | ({user_id} if user_id is not None else set()))
    by_user[user_id] = cached
    return cached


async def can_see(ctx: Context, entity: str, row: dict[str, Any]) -> bool:
    """May ``ctx``'s actor see ``row`` of ``entity``?"""
    lvl = await level(ctx, entity)
    if lvl == "all":
        return True
    own = OWNERSHIP[entity]
    user_id = ctx.actor.user_id
    if user_id is None:
        return False
    if lvl == "own":
        return any(row.get(c) == user_id for c in own.owner_columns)
    teams, mates = await _teams(ctx)
    if any(row.get(c) in mates for c in own.owner_columns):
        return True
    return own.team_column is not None and row.get(own.team_column) in teams


async def sql_condition(ctx: Context, entity: str, p: Params, alias: str = "") -> str | None:
    """A SQL condition limiting rows of ``entity`` to what the actor sees (``None``: all).
    ``alias`` qualifies the columns (``"d"`` → ``"d"."owner_id"``)."""
    lvl = await level(ctx, entity)
    if lvl == "all":
        return None
    user_id = ctx.actor.user_id
    if user_id is None:
        return "1 = 0"
    own = OWNERSHIP[entity]
    prefix = f"{quote(alias)}." if alias else ""
    cols = [f"{prefix}{quote(c)}" for c in own.owner_columns]
    if lvl == "own":
        me = p(user_id)
        return "(" + " OR ".join(f"{c} = {me}" for c in cols) + ")"
    me = p(user_id)
    mates = (
        'SELECT m2."user_id" FROM "team_members" m1 JOIN "team_members" m2 '
        f'ON m2."team_id" = m1."team_id" WHERE m1."user_id" = {me}'
    )
    parts = [f"{c} = {me} OR {c} IN ({mates})" for c in cols]
    if own.team_column is not None:
        parts.append(
            f'{prefix}{quote(own.team_column)} IN (SELECT "team_id" FROM "team_members" '
            f'WHERE "user_id" = {me})'
        )
    return "(" + " OR ".join(parts) + ")"
