"""Import and duplicate-detection benchmarks, each against a baseline of the same run.

* Import: a contact CSV of N rows, half of them updates of existing contacts (new phone and
  title), half new contacts, imported by ``kith.dataio`` exactly as ``kith import`` does it
  (batches of 500 rows, every row through ``contact.create`` / ``contact.update`` as a nested
  command, history rows, one ``import.completed`` event) — rows/s — against a baseline doing
  the same upsert with the raw driver (sqlite3 / asyncpg) in batches of 500 rows per
  transaction: one key lookup per batch, then the same rows written (contacts, contact
  e-mails, one history row per record) with ``executemany`` where the driver allows it.
* Duplicates: ``find_pairs`` over M contacts (names, e-mails, phones, organizations, with 1 %
  planted duplicates) — seconds, and how many planted pairs it found.

Usage::

    .venv/bin/python bench/import.py                 # 100,000 rows, 200,000 contacts
    .venv/bin/python bench/import.py --quick         # 10,000 rows, 20,000 contacts
    .venv/bin/python bench/import.py --db sqlite --rows 20000 --contacts 50000

Targets (issue 17): import >= 2,000 rows/s on SQLite and <= 4x the raw batch time; duplicate
detection over 200,000 contacts in < 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import kith
from kith.dataio.duplicates import find_pairs
from kith.dataio.import_csv import create_run, import_actor, run_to_end
from kith.dataio.inline import inline
from kith.dataio.plan import ImportOptions, plan_import
from kith.migrate import migrate

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH = 500
FIRST = (
    "Ada Grace Alan Jane John Mary Chloé Ben Ana Dev Zoë José Søren Łukasz Amara Kenji "
    "Priya Omar Lena Marco Sofia Yusuf Ines Noah Emma Liam Olivia Hugo Lea Maya"
).split()
LAST = (
    "Lovelace Hopper Turing Roe Smith Martin Okafor Price Patel Dupré Núñez Kierkegård "
    "Żółć Nakamura Rossi Müller Garcia Silva Kim Nguyen Cohen Haddad Novak Jensen Byrne "
    "Tanaka Schmidt Moreau Costa Ivanova Larsen Mensah Kowalski Fischer Bauer"
).split()


@dataclass
class Result:
    backend: str
    rows: int
    import_s: float
    rows_per_s: float
    baseline_s: float
    contacts: int
    duplicates_s: float
    planted: int
    found: int

    @property
    def ratio(self) -> float:
        return self.import_s / self.baseline_s if self.baseline_s else 0.0


class Database:
    """A fresh migrated database for one backend (dropped afterwards)."""

    def __init__(self, backend: str, pg_admin_url: str, tmp: Path) -> None:
        self.backend, self.pg_admin_url, self.tmp = backend, pg_admin_url, tmp
        self.url = ""
        self._pg_name = ""

    async def __aenter__(self) -> str:
        if self.backend == "sqlite":
            self.url = f"sqlite:///{self.tmp / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        else:
            import asyncpg

            self._pg_name = f"kith_bench_{uuid.uuid4().hex[:8]}"
            conn = await asyncpg.connect(self.pg_admin_url)
            await conn.execute(f'CREATE DATABASE "{self._pg_name}"')
            await conn.close()
            self.url = f"{self.pg_admin_url.rsplit('/', 1)[0]}/{self._pg_name}"
        migrate(self.url, [])
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        if self._pg_name:
            import asyncpg

            conn = await asyncpg.connect(self.pg_admin_url)
            await conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')
            await conn.close()


def app_for(url: str) -> kith.Kith:
    settings = kith.Settings(database_url=url, plugins_file="/nonexistent/plugins.toml")
    return kith.Kith(settings, clock=kith.FrozenClock())


def person(i: int) -> tuple[str, str]:
    rng = random.Random(i)
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    return name, f"person{i}@example{i % 97}.com"


async def seed_contacts(
    app: kith.Kith, rows: list[tuple[str, str | None, str | None, int | None, str]]
) -> None:
    """Insert contacts fast (name, phone, title, organization id, email), with their address
    rows and a created history row each, straight through the engine."""
    db, st = app.db, app.db.statements
    now = app.clock.now()
    contact = kith.Contact
    c_codec = st.codec(contact)
    cols = [
        "name",
        "phone",
        "title",
        "organization_id",
        "email",
        "lifecycle_stage",
        "consent",
        "custom",
        "created_at",
        "updated_at",
    ]
    for start in range(0, len(rows), 5000):
        chunk = rows[start : start + 5000]
        async with db.transaction() as real:
            tx = inline(real)
            ids = []
            for name, phone, title, org, email in chunk:
                row = await tx.fetchone(
                    st.insert(contact, cols),
                    [
                        c_codec.encode(c, v)
                        for c, v in zip(
                            cols,
                            [name, phone, title, org, email, "subscriber", {}, {}, now, now],
                            strict=True,
                        )
                    ],
                )
                ids.append(row["id"])
            e_codec = st.codec(kith.ContactEmail)
            tx.defer_many(
                st.insert(
                    kith.ContactEmail, ["contact_id", "email", "is_primary"], returning=False
                ),
                [
                    [cid, email, e_codec.encode("is_primary", True)]
                    for cid, (*_, email) in zip(ids, chunk, strict=True)
                    if email
                ],
            )


def write_csv(path: Path, rows: int) -> None:
    """rows/2 updates of seeded contacts (0..rows/2-1) and rows/2 new ones, interleaved."""
    half = rows // 2
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["Full Name", "E-mail", "Phone", "Job Title"])
        for i in range(half):
            name, email = person(i)
            out.writerow([name, email, f"+44 20 7946 {i % 10000:04d}", "Director"])
            name, email = person(half + i)
            out.writerow([name, email, f"+33 1 42 {i % 100:02d} {i % 97:02d} 00", "Engineer"])


async def run_import(url: str, path: Path, rows: int) -> float:
    app = app_for(url)
    async with app:
        user = await app.run(
            "user.create",
            {"email": "bench@example.com", "name": "Bench", "role": "admin"},
            kith.SYSTEM,
        )
        await seed_contacts(
            app, [(person(i)[0], None, None, None, person(i)[1]) for i in range(rows // 2)]
        )
        plan = await plan_import(app, "contacts", path, ImportOptions())
        actor = import_actor(
            {"id": user.id, "role": "admin", "name": "Bench", "email": "bench@example.com"},
            path.name,
        )
        started = time.perf_counter()
        run = await create_run(app, actor, plan)
        run = await run_to_end(app, run["id"])
        await app.drain()
        elapsed = time.perf_counter() - started
        assert (run["created"], run["updated"], run["rejected"]) == (
            rows - rows // 2,
            rows // 2,
            0,
        ), run
    return elapsed


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))[1:]


def baseline_sqlite(db_file: str, path: Path) -> float:
    """The same upsert with sqlite3, 500 rows per transaction."""
    records = _read(path)
    conn = sqlite3.connect(db_file, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    started = time.perf_counter()
    now = datetime.now(UTC).isoformat()
    for start in range(0, len(records), BATCH):
        batch = records[start : start + BATCH]
        conn.execute("BEGIN IMMEDIATE")
        emails = [r[1] for r in batch]
        marks = ", ".join("?" for _ in emails)
        found = dict(
            conn.execute(
                f'SELECT "email", "contact_id" FROM "contact_emails" WHERE "email" IN ({marks})',
                emails,
            ).fetchall()
        )
        updates, history = [], []
        for name, email, phone, title in batch:
            cid = found.get(email)
            if cid is not None:
                updates.append((name, phone, title, now, cid))
                history.append(
                    (
                        now,
                        "bench",
                        None,
                        "contact.update",
                        "contact",
                        cid,
                        "updated",
                        json.dumps({"phone": [None, phone], "title": [None, title]}),
                    )
                )
            else:
                cid = conn.execute(
                    'INSERT INTO "contacts" ("name", "email", "phone", "title", "lifecycle_stage", '
                    '"consent", "custom", "created_at", "updated_at") '
                    "VALUES (?, ?, ?, ?, 'subscriber', '{}', '{}', ?, ?) RETURNING \"id\"",
                    (name, email, phone, title, now, now),
                ).fetchone()[0]
                conn.execute(
                    'INSERT INTO "contact_emails" ("contact_id", "email", "is_primary") '
                    "VALUES (?, ?, 1)",
                    (cid, email),
                )
                history.append(
                    (
                        now,
                        "bench",
                        None,
                        "contact.create",
                        "contact",
                        cid,
                        "created",
                        json.dumps({"name": [None, name], "email": [None, email]}),
                    )
                )
        conn.executemany(
            'UPDATE "contacts" SET "name" = ?, "phone" = ?, "title" = ?, '
            '"updated_at" = ? WHERE "id" = ?',
            updates,
        )
        conn.executemany(
            'INSERT INTO "history" ("at", "actor", "actor_user_id", "command", '
            '"entity", "entity_id", "action", "changes") VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            history,
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


async def baseline_postgres(url: str, path: Path) -> float:
    """The same upsert with asyncpg, 500 rows per transaction."""
    import asyncpg

    records = _read(path)
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    now = datetime.now(UTC)
    for start in range(0, len(records), BATCH):
        batch = records[start : start + BATCH]
        async with conn.transaction():
            found = {
                r["email"]: r["contact_id"]
                for r in await conn.fetch(
                    'SELECT "email", "contact_id" FROM "contact_emails" WHERE "email" = ANY($1)',
                    [r[1] for r in batch],
                )
            }
            updates, history = [], []
            for name, email, phone, title in batch:
                cid = found.get(email)
                if cid is not None:
                    updates.append((name, phone, title, now, cid))
                    history.append(
                        (
                            now,
                            "bench",
                            None,
                            "contact.update",
                            "contact",
                            cid,
                            "updated",
                            json.dumps({"phone": [None, phone], "title": [None, title]}),
                        )
                    )
                else:
                    cid = await conn.fetchval(
                        'INSERT INTO "contacts" ("name", "email", "phone", "title", '
                        '"lifecycle_stage", "consent", "custom", "created_at", "updated_at") '
                        "VALUES ($1, $2, $3, $4, 'subscriber', '{}', '{}', $5, $5) "
                        'RETURNING "id"',
                        name,
                        email,
                        phone,
                        title,
                        now,
                    )
                    await conn.execute(
                        'INSERT INTO "contact_emails" ("contact_id", "email", '
                        '"is_primary") VALUES ($1, $2, true)',
                        cid,
                        email,
                    )
                    history.append(
                        (
                            now,
                            "bench",
                            None,
                            "contact.create",
                            "contact",
                            cid,
                            "created",
                            json.dumps({"name": [None, name]}),
                        )
                    )
            await conn.executemany(
                'UPDATE "contacts" SET "name" = $1, "phone" = $2, '
                '"title" = $3, "updated_at" = $4 WHERE "id" = $5',
                updates,
            )
            await conn.executemany(
                'INSERT INTO "history" ("at", "actor", "actor_user_id", "command", "entity", '
                '"entity_id", "action", "changes") VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json)',
                history,
            )
    elapsed = time.perf_counter() - started
    await conn.close()
    return elapsed


async def run_baseline(url: str, path: Path, rows: int) -> float:
    app = app_for(url)
    async with app:
        await seed_contacts(
            app, [(person(i)[0], None, None, None, person(i)[1]) for i in range(rows // 2)]
        )
    if url.startswith("sqlite"):
        return await asyncio.to_thread(baseline_sqlite, url.removeprefix("sqlite:///"), path)
    return await baseline_postgres(url, path)


def population(n: int) -> tuple[list[tuple], int]:
    """n contacts over n/10 organizations, 1 % of them planted duplicates of another."""
    rng = random.Random(17)
    rows: list[tuple] = []
    planted = 0
    for i in range(n):
        org = rng.randrange(1, n // 10 + 2)
        if i > 100 and i % 100 == 0:
            name, phone, _title, org_id, email = rows[rng.randrange(0, i - 1)]
            planted += 1
            variant = i % 3
            if variant == 0:  # same person, +tag address
                local, _, domain = email.partition("@")
                rows.append((name, None, None, None, f"{local}+crm{i}@{domain}"))
            elif variant == 1:  # initial instead of first name, same organization
                first, _, last = name.partition(" ")
                rows.append((f"{first[0]}. {last}", None, None, org_id, f"dup{i}@other.example"))
            else:  # same phone, written another way
                rows.append(
                    (
                        name.upper(),
                        (phone or "").replace(" ", "-"),
                        None,
                        None,
                        f"dup{i}@third.example",
                    )
                )
            continue
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {rng.choice(LAST)}"
        phone = f"+44 20 {rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)}"
        rows.append((name, phone, None, org, f"c{i}@mail{i % 500}.example"))
    return rows, planted


async def seed_population(app: kith.Kith, n: int) -> int:
    """Seed n contacts over n/10 organizations; returns how many duplicates were planted."""
    orgs = n // 10 + 2
    st = app.db.statements
    now = app.clock.now()
    codec = st.codec(kith.Organization)
    async with app.db.transaction() as tx:
        tx.defer_many(
            st.insert(
                kith.Organization, ["name", "custom", "created_at", "updated_at"], returning=False
            ),
            [
                [
                    f"Company {i}",
                    "{}",
                    codec.encode("created_at", now),
                    codec.encode("updated_at", now),
                ]
                for i in range(orgs)
            ],
        )
    rows, planted = population(n)
    await seed_contacts(app, rows)
    return planted


async def run_duplicates(url: str, n: int) -> tuple[float, int, int]:
    app = app_for(url)
    async with app:
        planted = await seed_population(app, n)
        started = time.perf_counter()
        pairs, _ = await find_pairs(app, "contact")
        elapsed = time.perf_counter() - started
        dup_ids = {i + 1 for i in range(n) if i > 100 and i % 100 == 0}
        found = sum(
            1 for (a, b), p in pairs.items() if p.score >= 60 and (a in dup_ids or b in dup_ids)
        )
    return elapsed, planted, min(found, planted)


async def bench(backend: str, rows: int, contacts: int, pg_url: str, tmp: Path) -> Result:
    path = tmp / "contacts.csv"
    write_csv(path, rows)
    async with Database(backend, pg_url, tmp) as url:
        import_s = await run_import(url, path, rows)
    async with Database(backend, pg_url, tmp) as url:
        baseline_s = await run_baseline(url, path, rows)
    async with Database(backend, pg_url, tmp) as url:
        dup_s, planted, found = await run_duplicates(url, contacts)
    return Result(
        backend, rows, import_s, rows / import_s, baseline_s, contacts, dup_s, planted, found
    )


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows, 20,000 contacts")
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--contacts", type=int, default=None)
    parser.add_argument("--pg-url", default=PG_ADMIN_URL)
    args = parser.parse_args(argv)
    rows = args.rows or (10_000 if args.quick else 100_000)
    contacts = args.contacts or (20_000 if args.quick else 200_000)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in [b.strip() for b in args.db.split(",") if b.strip()]:
            results.append(asyncio.run(bench(backend, rows, contacts, args.pg_url, Path(tmp))))
    print(
        "| backend | rows | import s | rows/s | raw batch s | import / raw | contacts "
        "| duplicates s | planted found |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.backend} | {r.rows} | {r.import_s:.1f} | {r.rows_per_s:,.0f} | "
            f"{r.baseline_s:.2f} | {r.ratio:.1f}x | {r.contacts} | {r.duplicates_s:.1f} | "
            f"{r.found}/{r.planted} |"
        )
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
