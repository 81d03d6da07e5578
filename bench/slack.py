"""Slack slash commands: ack latency and commands/s, against a no-op command on the same server.

``kith run`` (SQLite, one process) serves ``/slack/events``; this process is Slack: it sends
signed ``/kith`` slash commands over keep-alive HTTP connections, at concurrency 1, 8 and 32,
and times each request until the ack comes back (the answer is in the ack: these commands
finish well within ``answer_within_s``).

* **Kith**: ``deal move`` (back and forth between two stages), ``lead`` (a new lead each time,
  routed by the sales plugin) and ``call`` (a call logged on the deal) — each through the
  signature check, the linked user, the verb grammar, the command with its history and events.
* **no-op** (the baseline): ``/kith help`` on the same server — bolt, the signature check and
  the handler, but no Kith command.

Each cell alternates Kith and the no-op so both see the same machine load. Targets (issue 9):
ack p99 < 100 ms at concurrency 8 on SQLite; Kith ≤ 3x the no-op's time.

    .venv/bin/python bench/slack.py            # 400 commands per cell
    .venv/bin/python bench/slack.py --quick    # 60 per cell
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

SECRET = "bench-signing-secret"
USERS = 40  # Slack users, so the per-user rate limit does not throttle the run
ADMIN = "bench@example.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kith(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", "from kith.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"kith {' '.join(args)} failed: {out.stderr or out.stdout}")
    return out.stdout


def signed(text: str, user: str) -> tuple[str, dict[str, str]]:
    body = urlencode(
        {"command": "/kith", "text": text, "user_id": user, "team_id": "T1",
         "response_url": "http://127.0.0.1:9/unused", "trigger_id": "1.2.3"}
    )  # fmt: skip
    ts = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={sig}",
    }
    return body, headers


async def stand_in() -> asyncio.Server:
    """Slack's Web API, answering ``auth.test`` (bolt asks once)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(ln.split(b":")[1]) for ln in head.split(b"\r\n") if ln.lower().startswith(
                b"content-length")), 0)  # fmt: skip
        await reader.readexactly(length)
        body = b'{"ok":true,"user_id":"UBOT","bot_id":"B1","team_id":"T1"}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
        )  # fmt: skip
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def cell(url: str, lines: list[str], concurrency: int) -> tuple[list[float], float]:
    """Send ``lines`` with ``concurrency`` callers; latencies (s) and the elapsed time."""
    queue = list(enumerate(lines))
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def caller() -> None:
            while queue:
                i, text = queue.pop()
                body, headers = signed(text, f"UBENCH{i % USERS:03d}")
                started = time.perf_counter()
                answer = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if answer.status_code != 200 or "warning" in answer.text:
                    raise SystemExit(f"{text!r}: {answer.status_code} {answer.text[:300]}")

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        return latencies, time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def main_async(n: int) -> None:
    server = await stand_in()
    api_port = server.sockets[0].getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        plugins = Path(tmp) / "plugins.toml"
        plugins.write_text("[plugins.slack]\nrate_limit_per_minute = 1000\n")
        env = {
            **os.environ,
            "KITH_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "KITH_PLUGINS_FILE": str(plugins),
            "KITH_SLACK_SIGNING_SECRET": SECRET,
            "KITH_SLACK_BOT_TOKEN": "xoxb-bench",
            "KITH_SLACK_API_URL": f"http://127.0.0.1:{api_port}/api/",
            "KITH_SECRET_KEY_FILE": f"{tmp}/secret",
            "KITH_SMTP_PORT": "0",  # never the real 2525
        }
        kith(env, "init", "--admin", ADMIN)
        for i in range(USERS):
            email = f"rep{i}@bench.example"
            kith(env, "user", "add", email, "--name", f"Rep {i}", "--role", "manager")
            kith(env, "user", "link", email, f"UBENCH{i:03d}")
        kith(env, "call", "deal.create", '{"title": "Bench deal"}', "--as", ADMIN)
        port = free_port()
        proc = subprocess.Popen(  # noqa: ASYNC220 - started once, before timing
            [sys.executable, "-c", "from kith.cli import main; main()", "run", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/slack/events"
        try:
            for _ in range(100):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)  # noqa: ASYNC210
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.2)
            await cell(url, ["help"] * 20, 4)  # warm up (bolt's auth.test, caches)
            print(f"load average: {os.getloadavg()[0]:.1f}")
            print("| concurrency | Kith cmd/s | Kith ack p50 ms | p99 ms | no-op p50 ms | "
                  "no-op p99 ms | Kith ÷ no-op (mean time) |")  # fmt: skip
            print("|---:|---:|---:|---:|---:|---:|---:|")
            for concurrency in (1, 8, 32):
                lines = []
                for i in range(n):
                    kind = i % 3
                    if kind == 0:
                        lines.append(f"deal move 1 {'demo' if i % 2 else 'proposal'}")
                    elif kind == 1:
                        lines.append(f"lead Bench Lead{i} lead{i}.{time.time_ns()}@x.example")
                    else:
                        lines.append("call deal:1 bench call 5m")
                kith_lat, kith_s = await cell(url, lines, concurrency)
                noop_lat, _ = await cell(url, ["help"] * n, concurrency)
                ratio = statistics.mean(kith_lat) / statistics.mean(noop_lat)
                print(
                    f"| {concurrency} | {n / kith_s:,.0f} | {pct(kith_lat, 0.5):.1f} | "
                    f"{pct(kith_lat, 0.99):.1f} | {pct(noop_lat, 0.5):.1f} | "
                    f"{pct(noop_lat, 0.99):.1f} | {ratio:.2f}x |"
                )
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
            server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 commands per cell")
    parser.add_argument("--n", type=int, default=400, help="commands per cell")
    args = parser.parse_args()
    asyncio.run(main_async(60 if args.quick else args.n))


if __name__ == "__main__":
    main()
