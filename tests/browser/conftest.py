"""A real ``kith run`` on a fresh SQLite database (the demo data set, users with passwords, a
Slack stand-in, the outgoing maildir in a temp folder) and headless Debian Chromium driven by
Playwright. Never a browser download: ``executable_path=/usr/bin/chromium`` (``./dev test``
installs Debian's ``chromium`` package)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from kith.testing_slack import SlackStandIn

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parents[1] / "e2e" / "screenshots"  # CI artifacts, not committed
KITH = Path(sys.executable).parent / "kith"
PASSWORDS = {
    "admin": ("ben@kith.example", "manager pass 2026"),  # Ben is the demo's sales manager
    "agent": ("chloe@kith.example", "agent pass 2026"),
    "viewer": ("viewer@kith.example", "viewer pass 2026"),
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadedSlack:
    """The Slack Web API stand-in, served from its own event loop in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.stand_in = SlackStandIn()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ThreadedSlack:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.stand_in.__aenter__(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        closing = self.stand_in.__aexit__(None, None, None)
        asyncio.run_coroutine_threadsafe(closing, self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def posted(self) -> list[dict[str, Any]]:
        return self.stand_in.called("chat.postMessage")


@dataclass
class LiveKith:
    url: str
    env: dict[str, str]
    maildir: Path
    slack: ThreadedSlack
    log: Path
    users: dict[str, tuple[str, str]] = field(default_factory=dict)

    def kith(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(KITH), *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def sent_mail(self) -> list[str]:
        return [
            f.read_text(errors="replace")
            for sub in ("new", "cur")
            for f in sorted((self.maildir / sub).glob("*"))
            if f.is_file()
        ]


@pytest.fixture(scope="module")
def live_kith(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveKith]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (./dev test does)")
    tmp = tmp_path_factory.mktemp("live")
    port = free_port()
    with ThreadedSlack() as slack:
        env = {
            **os.environ,
            "KITH_DATABASE_URL": f"sqlite:///{tmp / 'kith.db'}",
            "KITH_LOAD_ENTRY_POINTS": "0",
            "KITH_PLUGINS_FILE": str(tmp / "plugins.toml"),
            "KITH_EMAIL_MAILDIR": str(tmp / "maildir"),
            "KITH_SMTP_PORT": str(free_port()),
            "KITH_SLACK_SIGNING_SECRET": "s3cret-signing",
            "KITH_SLACK_BOT_TOKEN": "xoxb-test",
            "KITH_SLACK_API_URL": slack.stand_in.api_url,
            "KITH_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
        (tmp / "plugins.toml").write_text(
            '[plugins.slack]\nnotify = { "deal.stage_changed" = "CDEALS" }\n'
        )
        live = LiveKith(
            url=f"http://127.0.0.1:{port}",
            env=env,
            maildir=tmp / "maildir",
            slack=slack,
            log=tmp / "server.log",
            users=PASSWORDS,
        )
        live.kith("init", "--admin", "owner@kith.example")
        live.kith("demo")
        live.kith("user", "add", "viewer@kith.example", "--name", "Vera Viewer", "--role", "viewer")
        for email, password in PASSWORDS.values():
            live.kith("user", "password", email, stdin=password + "\n")
        with live.log.open("w") as log:
            server = subprocess.Popen(
                [str(KITH), "run", "--port", str(port)],
                env=env,
                cwd=tmp,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if httpx.get(f"{live.url}/health", timeout=2).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail("kith run did not start:\n" + live.log.read_text()[-4000:])
                    time.sleep(0.3)
                yield live
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser(live_kith: LiveKith) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


def log_in(page: Any, live: LiveKith, role: str) -> None:
    email, password = live.users[role]
    page.goto(f"{live.url}/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/board")


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
