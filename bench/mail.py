"""Email channel: messages accepted over SMTP per second, and parse-to-ticket throughput.

On a fresh SQLite database (migrated like ``kith init``), in one process:

* **accept**: N mixed messages (charsets, HTML-only, attachments) over real SMTP sessions
  (aiosmtplib, concurrency 1 and 4) to the email channel's server, which stores each one
  through ``email.receive`` (a committed command) before ``250``. The **bare** baseline, in
  the same run: an aiosmtpd handler that only INSERTs the raw bytes into the same table with
  the same database handle. Ratio = Kith's rate / bare's rate.
* **tickets**: the ``email.parse`` jobs then run (in this process) until every message is a
  ticket; tickets/s over that phase. Then R replies (In-Reply-To our sent Message-IDs are not
  needed: they carry the subject tag) are accepted and parsed; checked: tickets = N, every
  reply threaded (no new ticket), every subject decoded exactly.

    .venv/bin/python bench/mail.py --n 2000 --replies 500
    .venv/bin/python bench/mail.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from email.header import Header
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from aiosmtpd.smtp import SMTP

SUBJECTS = [
    ("utf-8", "Grüße aus Köln #{i}"),
    ("iso-8859-1", "Café crème #{i}"),
    ("windows-1251", "Привет #{i}"),
    ("shift_jis", "注文について #{i}"),
    ("iso-2022-jp", "お問い合わせ #{i}"),
    ("gb2312", "订单问题 #{i}"),
]


def make(i: int) -> tuple[bytes, str]:
    charset, template = SUBJECTS[i % len(SUBJECTS)]
    subject = template.format(i=i)
    msg = EmailMessage()
    msg["From"] = f"c{i}@customer.org"
    msg["To"] = "support@example.com"
    msg["Message-ID"] = f"<bench-{i}@customer.org>"
    if i % 3 == 1:
        msg.set_content(f"<p>Hello <b>{subject}</b></p>", subtype="html")
    else:
        msg.set_content(f"Body of {subject}\n", charset=charset)
    if i % 5 == 2:
        msg.add_attachment(b"x" * 2048, maintype="application", subtype="pdf", filename="Bön.pdf")
    msg["Subject"] = Header(subject, charset).encode()
    return msg.as_bytes(), subject


class Bare:
    """The baseline: store the raw bytes, nothing else."""

    def __init__(self, app) -> None:
        self.app = app

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content.decode("latin-1")
        sql = (
            'INSERT INTO "email_messages" ("direction", "status", "raw", "recipients", '
            '"created_at", "updated_at") VALUES (?, ?, ?, ?, ?, ?)'
        )
        now = "2026-01-01T00:00:00+00:00"
        async with self.app.db.transaction() as tx:
            await tx.execute(sql, ["in", "bare", raw, "[]", now, now])
        return "250 OK"


async def send_all(port: int, messages: list[bytes], concurrency: int) -> float:
    queue = list(enumerate(messages))
    start = time.perf_counter()

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
        await client.connect()
        while queue:
            i, raw = queue.pop()
            # one envelope sender per message: the per-sender rate limit does not apply
            await client.sendmail(f"s{i}@customer.org", ["support@example.com"], raw)
        await client.quit()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(messages) / (time.perf_counter() - start)


async def count(app, table: str, where: str = "") -> int:
    sql = f'SELECT COUNT(*) AS n FROM "{table}"' + (f" WHERE {where}" if where else "")
    return int((await app.db.fetch(sql))[0]["n"])


async def offered_load(app, port: int, already: int, rate: int, seconds: int) -> None:
    """``rate`` new messages a second for ``seconds``, with jobs running as the embedded
    runner runs them: the time from each ``250`` to its ticket, p50 and p99."""
    import statistics
    from datetime import datetime

    total = rate * seconds
    messages = [make(100_000 + i) for i in range(total)]
    accepted: dict[str, float] = {}
    stop = asyncio.Event()

    async def runner() -> None:
        while not stop.is_set():
            if not await app.jobs.run_due():
                await asyncio.sleep(0.005)
            await app.drain()

    async def sender() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
        await client.connect()
        began = time.perf_counter()
        for i, (raw, subject) in enumerate(messages):
            await asyncio.sleep(max(0.0, began + i / rate - time.perf_counter()))
            await client.sendmail(f"o{i}@customer.org", ["support@example.com"], raw)
            accepted[subject] = time.time()
        await client.quit()

    task = asyncio.create_task(runner())
    await sender()
    for _ in range(1200):  # a minute at most
        if await count(app, "tickets") >= already + total:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    lags = []
    for row in await app.db.fetch('SELECT "subject", "created_at" FROM "tickets"'):
        sent = accepted.get(row["subject"])
        if sent is not None:
            created = row["created_at"]
            if isinstance(created, str):
                created = datetime.fromisoformat(created)
            lags.append(created.timestamp() - sent)
    q = statistics.quantiles(lags, n=100)
    print(
        f"offered {rate} msg/s for {seconds} s: {len(lags)}/{total} tickets; from 250 to "
        f"ticket p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms (target p99 < 2 s)"
    )


async def main(n: int, replies: int) -> None:
    import kith
    from kith.channels.email.server import start_server
    from kith.migrate import migrate
    from kith.settings import PluginsFile

    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'bench.db'}"
    bundled = kith.Settings(database_url="sqlite:///:memory:", load_entry_points=False)
    apps = kith.Kith(bundled).hooks.tables()
    await asyncio.to_thread(migrate, url, apps)
    settings = kith.Settings(
        database_url=url,
        plugins_file="/nonexistent",
        secret_key="b" * 20,
        load_entry_points=False,
    )
    # acknowledgements (one per new ticket) go to a maildir of the run, not the repository
    plugins = PluginsFile(settings={"email": {"maildir": str(tmp / "maildir")}})
    app = kith.Kith(settings, plugins_file=plugins)
    await app.start(run_jobs=False)
    server = await start_server(app, port=0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    bare = await loop.create_server(lambda: SMTP(Bare(app)), host="127.0.0.1", port=0)
    bare_port = bare.sockets[0].getsockname()[1]
    corpus = [make(i) for i in range(n)]
    raws = [r for r, _ in corpus]
    print(f"N = {n} messages, {replies} replies, SQLite")
    for c in (1, 4):
        half = raws[: n // 2] if c == 1 else raws[n // 2 :]
        kith_rate = await send_all(port, half, c)
        bare_rate = await send_all(bare_port, half[: max(1, len(half) // 2)], c)
        print(
            f"accept c={c}: kith {kith_rate:.0f} msg/s, bare {bare_rate:.0f} msg/s, "
            f"ratio {kith_rate / bare_rate:.0%}"
        )
    # Parse jobs were scheduled when the mail arrived, the acknowledgements' deliveries when
    # it was parsed: the runner takes them in that order. "Parse → ticket" ends when the
    # last ticket exists; the deliveries that follow are timed apart.
    start = time.perf_counter()
    tickets_done = None
    while await app.jobs.run_due():
        await app.drain()
        if tickets_done is None and await count(app, "tickets") >= n:
            tickets_done = time.perf_counter() - start
    took = time.perf_counter() - start
    tickets_done = tickets_done or took
    rows = await app.db.fetch('SELECT "id", "subject" FROM "tickets" ORDER BY "id"')
    acks = await count(app, "email_messages", "\"direction\" = 'out'")
    print(
        f"parse → ticket: {len(rows) / tickets_done:.0f} tickets/s "
        f"({len(rows)} in {tickets_done:.1f} s); with the {acks} acknowledgements delivered "
        f"too: {len(rows) / took:.0f}/s ({took:.1f} s)"
    )
    assert len(rows) == n, len(rows)
    assert sorted(r["subject"] for r in rows) == sorted(s for _, s in corpus)
    by_subject = {r["subject"]: r["id"] for r in rows}
    reply_raws = []
    for i in range(replies):
        _, subject = corpus[i]
        msg = EmailMessage()
        msg["From"] = f"c{i}@customer.org"
        msg["To"] = "support@example.com"
        msg["Subject"] = f"Re: {subject} [#{by_subject[subject]}]"
        msg["Message-ID"] = f"<bench-reply-{i}@customer.org>"
        msg.set_content("Thanks")
        reply_raws.append(msg.as_bytes())
    await send_all(port, reply_raws, 4)
    start = time.perf_counter()
    while await app.jobs.run_due():
        await app.drain()
    took = time.perf_counter() - start
    still = await count(app, "tickets")
    print(f"replies threaded: {replies / took:.0f}/s; tickets still {still}")
    assert still == n
    await offered_load(app, port, already=n, rate=50, seconds=10)
    server.close()
    bare.close()
    await app.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--replies", type=int, default=500)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.n, args.replies = 60, 20
    asyncio.run(main(args.n, args.replies))
