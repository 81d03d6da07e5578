"""Fuzzing the REST API with schemathesis against its own OpenAPI document.

A real ``kith run`` serves a fresh database on a free port; schemathesis generates valid and
invalid requests for every operation of ``/api/v1/openapi.json`` and checks that none gets a
5xx and that every response matches the documented schema. The number of examples is bounded
(``KITH_FUZZ_EXAMPLES``, default 2 per operation; the seed is ``KITH_FUZZ_SEED``) to keep CI
under a minute per database. ``/commands/<name>`` operations whose command also has a
resource route (``POST /contacts`` = ``contact.create``) run the same code and are skipped
unless ``KITH_FUZZ_ALL=1``.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import sys
import time
from pathlib import Path

import httpx
import kith
import pytest
from kith.settings import PluginsFile, Settings


async def duplicated_commands(base: str) -> str:
    """A regex of the /commands/<name> paths whose command also has a resource route."""
    async with httpx.AsyncClient() as client:
        doc = (await client.get(f"{base}/api/v1/openapi.json")).json()
    names = {
        op["x-kith-command"]
        for path, methods in doc["paths"].items()
        if "/commands/" not in path
        for op in methods.values()
        if "x-kith-command" in op
    }
    return "^/api/v1/commands/(" + "|".join(re.escape(n) for n in sorted(names)) + ")$"


def failures_of(report: str) -> str:
    """The part of a schemathesis report that names what failed, without the long advice lists."""
    start = report.find("FAILURES")
    end = report.find("WARNINGS", start + 1) if start >= 0 else -1
    if start < 0:
        return report[-6000:]
    return report[start : end if end > start else None][:12000]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def admin_token(db_url: str) -> str:
    app = kith.Kith(
        Settings(database_url=db_url, plugins_file="/nonexistent.toml"),
        plugins_file=PluginsFile(),
    )
    async with app:
        admin = await app.run(
            "user.create",
            {"email": "fuzz@example.com", "name": "Fuzz Admin", "role": "admin"},
            kith.SYSTEM,
        )
        token = await app.run("token.create", {"user": admin.id, "name": "fuzz"}, kith.SYSTEM)
        await app.drain()
    return token.token


@pytest.fixture
async def served(kith_db_url, tmp_path):
    token = await admin_token(kith_db_url)
    plugins = tmp_path / "plugins.toml"
    plugins.write_text("[plugins.api]\nrate_limit = 1000000\n", encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "KITH_DATABASE_URL": kith_db_url,
        "KITH_PLUGINS_FILE": str(plugins),
        "KITH_LOG_LEVEL": "warning",
        # no `kith init` ran: `kith run` must make the key signed links need (here, not in cwd)
        "KITH_SECRET_KEY_FILE": str(tmp_path / "secret-key"),
    }
    env.pop("KITH_SECRET_KEY", None)
    log = (tmp_path / "kith-run.log").open("w")
    kith_bin = Path(sys.executable).with_name("kith")
    proc = await asyncio.create_subprocess_exec(
        str(kith_bin), "run", "--port", str(port), env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as client:
            while True:
                try:
                    if (await client.get(f"{base}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "kith-run.log").read_text())
                await asyncio.sleep(0.2)
        assert (tmp_path / "secret-key").stat().st_mode & 0o777 == 0o600
        yield base, token, tmp_path / "kith-run.log"
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout=10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        log.close()


@pytest.mark.skipif(
    shutil.which("st", path=str(Path(sys.executable).parent)) is None,
    reason="schemathesis not installed",
)
async def test_no_request_gets_a_5xx_and_every_response_matches_the_schema(served):
    base, token, server_log = served
    st = Path(sys.executable).with_name("st")
    args = [
        str(st),
        "run",
        f"{base}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--phases",
        "fuzzing",
        "--max-examples",
        os.environ.get("KITH_FUZZ_EXAMPLES", "2"),
        "--seed",
        os.environ.get("KITH_FUZZ_SEED", "20261122"),
        "--workers",
        "1",  # hypothesis' lambda reprs call ast.parse, not thread-safe on Python 3.11
        "--no-shrink",
        "--request-timeout",
        "30",
    ]
    if os.environ.get("KITH_FUZZ_ALL") != "1":
        args += ["--exclude-path-regex", await duplicated_commands(base)]
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"},
    )
    out, _ = await proc.communicate()
    report = out.decode(errors="replace")
    assert proc.returncode == 0, (
        failures_of(report) + "\n--- kith run log ---\n" + server_log.read_text()[-6000:]
    )
    assert "generated" in report
