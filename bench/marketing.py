"""Marketing benchmark: segment membership over many contacts, and form submissions over HTTP.

* **Segment**: N contacts are bulk-loaded (a tier custom field, titles, consent for a third
  of them). ``segment.refresh`` of a segment "title CTO, tier Gold, newsletter consent
  granted" — once to compute the members, then in steady state (nobody moved) — against
  the same filter as ONE raw SQL statement on the same database, medians of interleaved
  runs. Target: refresh <= 2x raw.
* **Forms**: F submissions POSTed as JSON to ``/f/<slug>`` of a real HTTP server (uvicorn,
  in this process, on a free port) by 8 concurrent clients, each making or finding a
  contact, recording consent, capturing a lead (the sales plugin routes it) and keeping the
  submission. Target: >= 300 submissions/s on SQLite.

Usage::

    .venv/bin/python bench/marketing.py                # 200,000 contacts, 5,000 submissions
    .venv/bin/python bench/marketing.py --quick        # 20,000 contacts, 500 submissions
    .venv/bin/python bench/marketing.py --db sqlite    # one backend
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import kith
from kith.migrate import migrate
from kith.settings import PluginsFile

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TITLES = ["CTO", "CEO", "Engineer", "Designer", "Sales manager", "Intern"]
TIERS = ["Gold", "Silver", "Bronze"]
SEGMENT = {
    "name": "Gold CTOs on the newsletter",
    "filter": {"title": "CTO", "custom.tier": "Gold"},
    "consent": {"newsletter": "granted"},
}
FORM = {
    "slug": "bench",
    "title": "Bench form",
    "fields": [
        {"key": "name", "label": "Name", "maps_to": "contact.name", "required": True},
        {"key": "email", "label": "Email", "maps_to": "contact.email"},
        {"key": "company", "label": "Company", "maps_to": "company"},
    ],
    "purposes": ["newsletter"],
    "double_opt_in": False,
}


class Database:
    """A fresh migrated database for one backend (dropped afterwards)."""

    def __init__(self, backend: str, apps: list[str]) -> None:
        self.backend, self.apps = backend, apps
        self.url = ""
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._pg_name = ""

    async def __aenter__(self) -> str:
        if self.backend == "sqlite":
            self._tmp = tempfile.TemporaryDirectory()
            self.url = f"sqlite:///{Path(self._tmp.name) / 'bench.db'}"
        else:
            import asyncpg

            self._pg_name = f"kith_bench_{uuid.uuid4().hex[:8]}"
            conn = await asyncpg.connect(PG_ADMIN_URL)
            await conn.execute(f'CREATE DATABASE "{self._pg_name}"')
            await conn.close()
            self.url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{self._pg_name}"
        migrate(self.url, self.apps)
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
        if self._pg_name:
            import asyncpg

            conn = await asyncpg.connect(PG_ADMIN_URL)
            await conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')
            await conn.close()


def app_for(url: str, **settings: Any) -> kith.Kith:
    plugins = PluginsFile(settings={"marketing": {"form_rate_per_minute": 10**9, **settings}})
    return kith.Kith(
        kith.Settings(database_url=url, plugins_file="/nonexistent", secret_key="bench" * 8),
        plugins_file=plugins,
    )


async def bulk_contacts(app: kith.Kith, n: int) -> None:
    """N contacts and a third of them with newsletter consent, in large transactions."""
    rnd = random.Random(7)
    now = datetime.now(UTC)
    st = app.db.statements
    contact_cols = (
        "name",
        "email",
        "title",
        "lifecycle_stage",
        "consent",
        "custom",
        "created_at",
        "updated_at",
    )
    consent_cols = (
        "contact_id",
        "purpose",
        "status",
        "source",
        "proof",
        "granted_at",
        "created_at",
        "updated_at",
    )
    from kith.plugins.marketing.tables import MarketingConsent

    insert_contact = st.insert(kith.Contact, contact_cols)
    insert_consent = st.insert(MarketingConsent, consent_cols, returning=False)
    ccodec, kcodec = st.codec(kith.Contact), st.codec(MarketingConsent)
    done = 0
    while done < n:
        batch = min(5000, n - done)
        async with app.db.transaction() as tx:
            for i in range(done, done + batch):
                values = (
                    f"Person {i}",
                    f"p{i}@bench.example",
                    rnd.choice(TITLES),
                    "lead",
                    {},
                    {"tier": rnd.choice(TIERS)},
                    now,
                    now,
                )
                row = await tx.fetchone(insert_contact, ccodec.encode_values(contact_cols, values))
                if i % 3 == 0:
                    c = (row["id"], "newsletter", "granted", "bench", {}, now, now, now)
                    await tx.execute(insert_consent, kcodec.encode_values(consent_cols, c))
        done += batch
        print(f"\r  loading contacts {done:,}/{n:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


async def raw_segment(app: kith.Kith) -> int:
    """The segment's filter as one SQL statement (same indexes, same database)."""
    if app.db.dialect == "postgres":
        sql = (
            'SELECT c."id" FROM "contacts" c JOIN "marketing_consents" m '
            'ON m."contact_id" = c."id" WHERE c."title" = $1 '
            'AND c."custom"->>\'tier\' = $2 AND c."archived_at" IS NULL '
            'AND m."purpose" = $3 AND m."status" = $4'
        )
    else:
        sql = (
            'SELECT c."id" FROM "contacts" c JOIN "marketing_consents" m '
            'ON m."contact_id" = c."id" WHERE c."title" = ? '
            "AND json_extract(c.\"custom\", '$.tier') = ? "
            'AND c."archived_at" IS NULL AND m."purpose" = ? AND m."status" = ?'
        )
    rows = await app.db.fetch(sql, ["CTO", "Gold", "newsletter", "granted"])
    return len(rows)


async def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await fn()
    return (time.perf_counter() - start) * 1000, result


async def segment_bench(backend: str, n: int, runs: int) -> dict[str, Any]:
    async with Database(backend, app_for("sqlite:///:memory:").hooks.tables()) as url:
        app = app_for(url)
        async with app:
            await app.run(
                "custom_field.define",
                {
                    "entity": "contact",
                    "key": "tier",
                    "label": "Tier",
                    "type": "choice",
                    "options": TIERS,
                },
                kith.SYSTEM,
            )
            await bulk_contacts(app, n)
            first_ms, seg = await timed(lambda: app.run("segment.create", SEGMENT, kith.SYSTEM))
            members = seg.member_count
            refresh_ms, raw_ms = [], []
            for _ in range(runs):
                ms, _ = await timed(
                    lambda: app.run("segment.refresh", {"segment": SEGMENT["name"]}, kith.SYSTEM)
                )
                refresh_ms.append(ms)
                ms, count = await timed(lambda: raw_segment(app))
                raw_ms.append(ms)
            assert count == members, (count, members)
            await app.drain()
    return {
        "backend": backend,
        "contacts": n,
        "members": members,
        "first_ms": first_ms,
        "refresh_ms": statistics.median(refresh_ms),
        "raw_ms": statistics.median(raw_ms),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def forms_bench(backend: str, submissions: int, clients: int = 8) -> dict[str, Any]:
    import uvicorn
    from kith.web import create_app

    async with Database(backend, app_for("sqlite:///:memory:").hooks.tables()) as url:
        app = app_for(url)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(app), host="127.0.0.1", port=port, log_level="warning", access_log=False
            )
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.05)
        await app.run("form.create", FORM, kith.SYSTEM)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(submissions):
            queue.put_nowait(i)
        failures = 0

        async def client() -> None:
            nonlocal failures
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                while not queue.empty():
                    i = queue.get_nowait()
                    body = {
                        "name": f"Visitor {i}",
                        "email": f"v{i}@visitors.example",
                        "company": f"Company {i % 500}",
                        "consent": ["newsletter"],
                    }
                    response = await http.post(
                        "/f/bench",
                        content=json.dumps(body),
                        headers={"content-type": "application/json"},
                    )
                    if response.status_code != 200:
                        failures += 1

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - start
        rows = await app.db.fetch('SELECT COUNT(*) AS n FROM "marketing_submissions"')
        stored = rows[0]["n"]
        server.should_exit = True  # its lifespan stops Kith
        await serving
    return {
        "backend": backend,
        "submissions": submissions,
        "failures": failures,
        "stored": stored,
        "per_s": submissions / elapsed,
    }


async def main(argv: list[str]) -> int:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--contacts", type=int, default=None)
    parser.add_argument("--submissions", type=int, default=None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    contacts = args.contacts or (20_000 if args.quick else 200_000)
    submissions = args.submissions or (500 if args.quick else 5_000)
    ok = True
    print("backend  contacts  members  first compute ms  refresh ms  raw SQL ms  refresh ÷ raw")
    seg_results = []
    for backend in args.db.split(","):
        r = await segment_bench(backend, contacts, args.runs)
        seg_results.append(r)
        ratio = r["refresh_ms"] / r["raw_ms"]
        print(
            f"{backend:>7} {r['contacts']:>9,} {r['members']:>8,} {r['first_ms']:>17,.0f} "
            f"{r['refresh_ms']:>11,.1f} {r['raw_ms']:>11,.1f} {ratio:>13.2f}x"
        )
    print()
    print("backend  submissions  failures  stored  submissions/s")
    form_results = []
    for backend in args.db.split(","):
        f = await forms_bench(backend, submissions)
        form_results.append(f)
        print(
            f"{backend:>7} {f['submissions']:>12,} {f['failures']:>9} {f['stored']:>7,} "
            f"{f['per_s']:>14,.0f}"
        )
    print()
    for r in seg_results:
        ratio = r["refresh_ms"] / r["raw_ms"]
        verdict = "ok" if ratio <= 2 else "MISSED"
        ok &= ratio <= 2
        print(
            f"{r['backend']}: segment refresh {ratio:.2f}x the raw statement (target <= 2x): "
            f"{verdict}"
        )
    for f in form_results:
        if f["backend"] == "sqlite":
            verdict = "ok" if f["per_s"] >= 300 else "MISSED"
            ok &= f["per_s"] >= 300
            print(f"sqlite: {f['per_s']:.0f} form submissions/s (target >= 300): {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
