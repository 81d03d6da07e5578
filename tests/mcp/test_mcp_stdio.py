"""``kith mcp``: the MCP server over stdio, spawned as a subprocess by the SDK's stdio client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import kith
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

KITH_BIN = str(Path(sys.executable).with_name("kith"))


@pytest.fixture
def kith_env(kith_db_url, tmp_path):
    """The environment of a ``kith mcp`` process on the test's database."""
    plugins = tmp_path / "plugins.toml"
    plugins.write_text("", encoding="utf-8")
    env = {
        k: v for k, v in os.environ.items() if k not in ("KITH_AS", "KITH_TOKEN", "KITH_SECRET_KEY")
    }
    env.update(
        KITH_DATABASE_URL=kith_db_url,
        KITH_PLUGINS_FILE=str(plugins),
        KITH_LOG_LEVEL="warning",
        KITH_SECRET_KEY_FILE=str(tmp_path / "secret-key"),
    )
    return env


@asynccontextmanager
async def stdio_session(env, *args, errlog):
    params = StdioServerParameters(command=KITH_BIN, args=["mcp", *args], env=env)
    async with (
        stdio_client(params, errlog=errlog) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def test_kith_mcp_over_stdio_as_a_user(kith_app, admin, kith_env, tmp_path):
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with stdio_session(kith_env, "--as", admin.email, errlog=errlog) as session:
            tools = {t.name for t in (await session.list_tools()).tools}
            created = await session.call_tool(
                "contact.create", {"name": "Ada", "email": "ada@example.com"}
            )
            bad = await session.call_tool("contact.create", {"name": "Bob", "email": "nope"})
            record = json.loads(created.content[0].text)
            read = await session.read_resource(f"kith://contacts/{record['id']}")
    assert {"contact.create", "deal.won", "token.create"} <= tools
    assert created.is_error is False
    assert bad.is_error is True and "email: " in bad.content[0].text
    assert json.loads(read.contents[0].text)["email"] == "ada@example.com"
    stored = await kith_app.run("contact.get", {"contact": record["id"]}, kith.SYSTEM)
    assert stored.name == "Ada"


async def test_kith_mcp_over_stdio_with_a_read_only_token(kith_app, admin, kith_env, tmp_path):
    token = await kith_app.run(
        "token.create", {"user": admin.user_id, "scopes": ["read"]}, kith.SYSTEM
    )
    env = {**kith_env, "KITH_TOKEN": token.token}
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with stdio_session(env, errlog=errlog) as session:
            listed = (await session.list_tools()).tools
            refused = await session.call_tool("deal.won", {"deal": 1})
    assert listed and all(t.annotations.read_only_hint for t in listed)
    assert refused.is_error is True and "forbidden" in refused.content[0].text


def test_kith_mcp_needs_to_know_who_it_acts_as(kith_env):
    env = {**kith_env}
    done = subprocess.run(
        [KITH_BIN, "mcp"], env=env, capture_output=True, text=True, timeout=60, input=""
    )
    assert done.returncode == 2
    assert "KITH_TOKEN" in done.stderr and "--as" in done.stderr
    both = subprocess.run(
        [KITH_BIN, "mcp", "--as", "x@example.com"],
        env={**env, "KITH_TOKEN": "kith_x"},
        capture_output=True,
        text=True,
        timeout=60,
        input="",
    )
    assert both.returncode == 2
    assert "not both" in both.stderr
