"""API tokens as commands and on the command line; scopes enforced by Kith.run itself (so
every channel that uses tokens gets the same rules); idempotency keys at the core."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import kith
import pytest
from kith import KithError
from kith.testing import count_rows


async def all_text(kith_app) -> str:
    """Every row of the tables a token could leak into, as one string."""
    out = []
    for table in ("api_tokens", "history", "outbox_events", "idempotency_keys"):
        rows = await kith_app.db.fetch(f'SELECT * FROM "{table}"')
        out.append(json.dumps(rows, default=str))
    return "\n".join(out)


async def test_a_token_is_stored_only_as_its_hash(run_command, make_actor, kith_app):
    agent = await make_actor("agent")
    created = await run_command("token.create", {"user": agent.user_id, "name": "zap"})
    assert created.token.startswith("kith_") and len(created.token) > 40
    stored = await all_text(kith_app)
    assert created.token not in stored
    assert hashlib.sha256(created.token.encode()).hexdigest() in stored


async def test_a_token_acts_as_its_user_with_its_scopes(run_command, make_actor, kith_app):
    agent = await make_actor("agent")
    created = await run_command(
        "token.create", {"user": agent.email, "scopes": "read, contact.*", "expires": "30d"}
    )
    actor = await kith.authenticate_token(kith_app, created.token)
    assert actor.user_id == agent.user_id and actor.role == "agent"
    assert actor.via == f"api:token:{created.id}"
    assert actor.scopes == ("read", "contact.*")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"scopes": ["contct.*"]}, "scopes.0"),
        ({"scopes": ["read", "DROP TABLE"]}, "scopes.1"),
        ({"expires": "yesterday"}, "expires"),
        ({"expires": "2020-01-01"}, "expires"),
        ({"user": "nobody@example.com"}, "user"),
    ],
)
async def test_bad_token_requests_name_the_field(run_command, make_actor, kith_app, payload, field):
    agent = await make_actor("agent")
    with pytest.raises(KithError) as info:
        await run_command("token.create", {"user": agent.user_id, **payload})
    assert field in [f.field for f in info.value.fields]
    assert await count_rows(kith_app, "api_tokens") == 0


async def test_a_deactivated_user_gets_no_token(run_command, make_actor, kith_app):
    agent = await make_actor("agent")
    await run_command("user.update", {"user": agent.user_id, "active": False})
    with pytest.raises(KithError) as info:
        await run_command("token.create", {"user": agent.user_id})
    assert info.value.fields[0].field == "user"


async def test_scopes_are_checked_by_kith_run_for_every_channel(run_command, make_actor):
    agent = await make_actor("agent")
    reader = kith.Actor(user_id=agent.user_id, role="agent", via="mcp:token:1", scopes=("read",))
    contact = await run_command("contact.create", {"name": "Ada"})
    assert (await run_command("contact.get", {"contact": contact.id}, actor=reader)).name == "Ada"
    with pytest.raises(KithError) as info:
        await run_command("contact.update", {"contact": contact.id, "title": "x"}, actor=reader)
    assert info.value.status == 403 and "scope" in info.value.message
    narrow = kith.Actor(user_id=agent.user_id, role="agent", scopes=("task.*",))
    await run_command("task.create", {"title": "Call Ada"}, actor=narrow)
    with pytest.raises(KithError):
        await run_command("contact.get", {"contact": contact.id}, actor=narrow)


async def test_an_idempotent_token_create_never_stores_the_token(kith_app, admin, make_actor):
    agent = await make_actor("agent")
    first = await kith_app.run(
        "token.create", {"user": agent.user_id}, admin, idempotency_key="t-1"
    )
    again = await kith_app.run(
        "token.create", {"user": agent.user_id}, admin, idempotency_key="t-1"
    )
    assert again.id == first.id and first.token and again.token is None
    assert first.token not in await all_text(kith_app)
    assert await count_rows(kith_app, "api_tokens") == 1


async def test_only_admins_run_token_commands(run_command, make_actor):
    manager = await make_actor("manager")
    for name, payload in [
        ("token.create", {"user": manager.user_id}),
        ("token.list", {}),
        ("token.revoke", {"token": 1}),
    ]:
        with pytest.raises(KithError) as info:
            await run_command(name, payload, actor=manager)
        assert info.value.status == 403


@pytest.mark.kith_backends("sqlite")
async def test_the_token_command_line(kith_db_url, kith_app, make_actor, tmp_path):
    await make_actor("agent", email="bo@example.com")
    env = {
        **os.environ,
        "KITH_DATABASE_URL": kith_db_url,
        "KITH_PLUGINS_FILE": str(tmp_path / "none.toml"),
    }
    kith_bin = str(Path(sys.executable).with_name("kith"))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [kith_bin, "token", *args], env=env, capture_output=True, text=True, check=False
        )

    made = cli("create", "bo@example.com", "--name", "ci", "--scope", "read", "--expires", "7d")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("kith_") and "shown only now" in made.stderr
    listed = cli("list")
    assert "bo@example.com" in listed.stdout and "read" in listed.stdout
    assert token not in listed.stdout
    token_id = listed.stdout.split()[0].lstrip("#")
    assert cli("revoke", token_id).returncode == 0
    assert "revoked" in cli("list", "--all").stdout
    bad = cli("create", "bo@example.com", "--scope", "nothing.here")
    assert bad.returncode == 2 and "scopes.0" in bad.stderr
