"""Roles, actors and the permission check every command goes through.

A permission is ``<area>.<level>`` (``contacts.read``, ``deals.write``, ``stages.manage``,
``users.admin``). Levels rank ``read < write < manage < admin``; roles rank
``viewer < agent < manager < admin``. A role may do a command when its rank reaches the
level: viewers read, agents also write, managers also manage configuration (pipelines,
teams), admins also administer users, settings and plugins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from .errors import KithError

ROLES = ("viewer", "agent", "manager", "admin")
LEVELS = {"read": 0, "write": 1, "manage": 2, "admin": 3}
ROLE_RANK = {"viewer": 0, "agent": 1, "manager": 2, "admin": 3, "system": 100}


def check_permission_name(permission: str) -> None:
    area, _, level = permission.rpartition(".")
    if not area or level not in LEVELS:
        raise ValueError(f"permission {permission!r} must look like '<area>.<{'|'.join(LEVELS)}>'")


def role_allows(role: str, permission: str) -> bool:
    level = permission.rpartition(".")[2]
    return ROLE_RANK.get(role, -1) >= LEVELS[level]


@dataclass(frozen=True)
class Actor:
    """Who runs a command: a user (with their role) through a channel, or the system.

    ``via`` names the channel and the identity there, and becomes the history's actor label:
    ``cli``, ``api:token:4``, ``slack:U024BE7LH``, ``email``, ``job:sales.follow_up``, ``system``.
    """

    user_id: int | None
    role: str
    name: str = ""
    email: str | None = None
    via: str = "cli"
    team_ids: tuple[int, ...] = ()
    scopes: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        if self.user_id is None:
            return self.via
        return f"{self.via}:user:{self.user_id}" if self.via != "cli" else f"user:{self.user_id}"

    @property
    def is_system(self) -> bool:
        return self.role == "system"

    def require(self, permission: str, command: str) -> None:
        """Raise ``forbidden`` unless this actor's role allows ``permission``."""
        if not role_allows(self.role, permission):
            raise KithError(
                "forbidden",
                f"{self.name or self.label} ({self.role}) may not run {command}: "
                f"it needs the {permission} permission.",
                status=403,
                command=command,
            )

    def require_scope(self, command: str, read_only: bool) -> None:
        """Raise ``forbidden`` unless this actor's scopes (an API token's) allow ``command``.

        No scopes means no narrowing: the role alone decides."""
        if self.scopes and not scope_allows(self.scopes, command, read_only):
            raise KithError(
                "forbidden",
                f"This token's scope ({', '.join(self.scopes)}) does not allow {command}.",
                status=403,
                command=command,
            )


def scope_allows(scopes: tuple[str, ...], command: str, read_only: bool) -> bool:
    """Scopes narrow a token below its user's role: ``read`` allows read-only commands,
    ``write`` allows every command, and a pattern (``contact.*``, ``deal.get``) allows the
    commands whose name it matches."""
    for scope in scopes:
        if scope == "write" or (scope == "read" and read_only) or fnmatchcase(command, scope):
            return True
    return False


SYSTEM = Actor(user_id=None, role="system", name="Kith", via="system")
