"""The admin pages' hook implementations (bundled plugin ``admin``).

* ``kith_settings_model`` — ``[plugins.admin]`` (:mod:`.settings`);
* ``kith_tables`` — log-in credentials and browser sessions;
* ``kith_commands`` — passwords, two-factor codes, sessions (:mod:`.auth`);
* ``kith_routes`` — the pages at ``/admin/`` (:mod:`.web`);
* ``kith_demo_data`` — demo users get passwords, printed once;
* ``kith_events`` — ``user.login_locked``.
"""

from __future__ import annotations

import secrets
from random import Random
from typing import Any

import kith
from pydantic import BaseModel

from . import auth
from .settings import AdminSettings


@kith.hookimpl
def kith_settings_model() -> type[BaseModel]:
    """``[plugins.admin]`` in plugins.toml."""
    return AdminSettings


@kith.hookimpl
def kith_tables() -> list[str]:
    """``admin_credentials`` and ``admin_sessions``."""
    return ["kith.admin.piccolo_app"]


@kith.hookimpl
def kith_commands() -> list[kith.CommandSpec]:
    """``user.set_password``, ``user.totp_*`` and the pages' own ``session.*``."""
    return kith.commands_in(auth)


@kith.hookimpl
def kith_routes(kith: kith.Kith) -> list[Any]:
    """Mount ``/admin/``."""
    from .web import build_router

    return [build_router(kith)]


@kith.hookimpl
def kith_events() -> list[kith.EventSpec]:
    """What the log-in emits."""
    return [
        kith.EventSpec(
            "user.login_locked",
            "user",
            "repeated failed log-ins locked a user's account for a while (data.failures)",
        )
    ]


@kith.hookimpl
async def kith_demo_data(kith: kith.Kith, users: dict[str, kith.Actor], rng: Random) -> None:
    """Give the demo team passwords (random, not seeded: a demo may face a network) and
    print them once, so a newcomer can log in to the admin pages."""
    where = f"http://{kith.settings.http_host}:{kith.settings.http_port}/admin/"
    print(f"Admin pages: {where} — demo log-ins (shown this once):")
    for key in ("admin", "ben", "ana", "chloe"):
        actor = users.get(key)
        if actor is None or actor.user_id is None:
            continue
        password = secrets.token_urlsafe(9)
        await kith.run(
            "user.set_password", {"user": actor.user_id, "password": password}, _system()
        )
        print(f"  {actor.email:<28} {password:<14} ({actor.role})")


def _system() -> kith.Actor:
    return kith.SYSTEM
