"""Roles, actors and the permission check every command goes through.

A permission is ``<area>.<level>`` (``contacts.read``, ``deals.write``, ``stages.manage``,
``users.admin``). Levels rank ``read < write < manage < admin``; roles rank
``viewer < agent < manager < admin``. A role may do a command when its rank reaches the
level: viewers read, agents also write, managers also manage configuration (pipelines,
teams), admins also administer users, settings and plugins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


SYSTEM = Actor(user_id=None, role="system", name="Kith", via="system")
