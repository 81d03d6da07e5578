"""Merging duplicates: everything moves to the survivor; undo within 30 days puts it back."""

from __future__ import annotations

import json

import kith
import pytest
from kith import KithError
from kith.tables import Tag
from kith.testing import count_rows
from piccolo.columns import Integer, Varchar
from piccolo.table import Table

from .conftest import rows


class Enrolment(Table, tablename="test_enrolments"):
    """A plugin's table: one enrolment per contact and sequence."""

    contact_id = Integer()
    sequence = Varchar(length=50)


class SequencesPlugin:
    @kith.hookimpl
    def kith_merge_references(self, entity):
        if entity == "contact":
            return [kith.MergeReference(Enrolment, "contact_id", unique_with=("sequence",))]
        return None


@pytest.fixture
def kith_plugins():
    return [("sequences", SequencesPlugin())]


@pytest.fixture(autouse=True)
async def enrolments(kith_app):
    pk = "SERIAL PRIMARY KEY" if kith_app.db.dialect == "postgres" else "INTEGER PRIMARY KEY"
    await kith_app.db.execute_script(
        f"CREATE TABLE IF NOT EXISTS test_enrolments (id {pk}, contact_id INTEGER, sequence TEXT);"
        "CREATE UNIQUE INDEX IF NOT EXISTS test_enrolments_u "
        "ON test_enrolments (contact_id, sequence);"
    )
    yield
    await kith_app.db.execute_script("DROP TABLE IF EXISTS test_enrolments;")


async def sql(kith_app, statement: str, *params) -> list[dict]:
    async with kith_app.db.transaction() as tx:
        marks = kith_app.db.statements.placeholders(len(params))
        for m in marks:
            statement = statement.replace("?", m, 1) if m != "?" else statement
        return await tx.fetch(statement, list(params))


def _json(value):
    return value if isinstance(value, dict | list) else json.loads(value)


async def two_janes(run_command):
    await run_command(
        "custom_field.define",
        {"entity": "contact", "key": "tier", "label": "Tier", "type": "text"},
    )
    org = await run_command("organization.create", {"name": "Initech", "domain": "initech.io"})
    jane = await run_command(
        "contact.create", {"name": "Jane Roe", "email": "jane@initech.io", "organization": org.id}
    )
    dupe = await run_command(
        "contact.create",
        {
            "name": "Jane R.",
            "email": "jane.roe@gmail.example",
            "phone": "+44 20 7946 0958",
            "title": "CTO",
            "lifecycle_stage": "customer",
            "custom": {"tier": "gold"},
        },
    )
    return org, jane, dupe


async def test_merging_two_contacts_moves_everything_to_the_survivor(
    kith_app, run_command, events, enrolments
):
    org, jane, dupe = await two_janes(run_command)
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "New"}]})
    deal = await run_command("deal.create", {"title": "Initech Pro", "contact": dupe.id})
    call = await run_command("activity.log", {"kind": "call", "contact": dupe.id, "subject": "Hi"})
    task = await run_command("task.create", {"title": "Call back", "contact": dupe.id})
    ticket = await run_command("ticket.create", {"subject": "500 error", "requester": dupe.id})
    now = kith_app.db.statements.codec(Tag).encode("created_at", kith_app.clock.now())
    for tag in ("vip", "eu"):
        await sql(kith_app, 'INSERT INTO "tags" ("name", "created_at") VALUES (?, ?)', tag, now)
    for tag, contact in ((1, jane.id), (1, dupe.id), (2, dupe.id)):
        await sql(
            kith_app,
            'INSERT INTO "record_tags" ("tag_id", "entity", "record_id") VALUES (?, ?, ?)',
            tag,
            "contact",
            contact,
        )
    for contact, seq in ((jane.id, "onboarding"), (dupe.id, "onboarding"), (dupe.id, "renewal")):
        await sql(
            kith_app,
            "INSERT INTO test_enrolments (contact_id, sequence) VALUES (?, ?)",
            contact,
            seq,
        )

    result = await run_command("contact.merge", {"survivor": jane.id, "loser": dupe.id})

    assert result.survivor["name"] == "Jane Roe"  # the survivor's value wins
    assert result.survivor["phone"] == "+44 20 7946 0958"  # empty fields filled from the loser
    assert result.survivor["title"] == "CTO"
    assert result.survivor["lifecycle_stage"] == "customer"  # the further stage
    assert result.survivor["custom"] == {"tier": "gold"}
    assert result.survivor["organization_id"] == org.id
    assert [(e["email"], e["primary"]) for e in result.survivor["emails"]] == [
        ("jane@initech.io", True),
        ("jane.roe@gmail.example", False),
    ]
    for table, col, row_id in (
        ("deals", "contact_id", deal.id),
        ("activities", "contact_id", call.id),
        ("tickets", "requester_id", ticket.id),
    ):
        assert (await rows(kith_app, f'SELECT "{col}" FROM "{table}" WHERE "id" = ?', row_id))[0][
            col
        ] == jane.id
    assert (await rows(kith_app, 'SELECT "record_id" FROM "tasks" WHERE "id" = ?', task.id))[0][
        "record_id"
    ] == jane.id
    tags = await rows(kith_app, 'SELECT "tag_id", "record_id" FROM "record_tags" ORDER BY "id"')
    assert [(t["tag_id"], t["record_id"]) for t in tags] == [
        (1, jane.id),
        (1, dupe.id),
        (2, jane.id),
    ]
    seqs = await rows(kith_app, "SELECT contact_id, sequence FROM test_enrolments ORDER BY id")
    assert [(s["contact_id"], s["sequence"]) for s in seqs] == [
        (jane.id, "onboarding"),
        (dupe.id, "onboarding"),
        (jane.id, "renewal"),
    ]
    assert result.kept == {"record_tags.record_id": 1, "test_enrolments.contact_id": 1}
    loser = await run_command("contact.get", {"contact": dupe.id})
    assert loser.archived_at is not None
    resolved = await run_command("contact.get", {"contact": "jane.roe@gmail.example"})
    assert resolved.id == jane.id
    history = await rows(
        kith_app, 'SELECT * FROM "history" WHERE "action" = ? ORDER BY "id"', "merged"
    )
    assert [(h["entity_id"], h["command"]) for h in history] == [
        (jane.id, "contact.merge"),
        (dupe.id, "contact.merge"),
    ]
    assert _json(history[1]["changes"])["merged_into"] == [None, jane.id]
    merged = [e for e in events if e.name == "contact.merged"]
    assert len(merged) == 1 and merged[0].data["loser"] == dupe.id


async def test_prefer_takes_the_losers_value(kith_app, run_command):
    _, jane, dupe = await two_janes(run_command)
    result = await run_command(
        "contact.merge", {"survivor": jane.id, "loser": dupe.id, "prefer": {"name": "loser"}}
    )
    assert result.survivor["name"] == "Jane R."


async def test_undo_restores_the_loser_and_reports_what_changed_since(
    kith_app, run_command, clock, events
):
    _, jane, dupe = await two_janes(run_command)
    call = await run_command("activity.log", {"kind": "call", "contact": dupe.id})
    note = await run_command("activity.log", {"kind": "note", "contact": dupe.id})
    await run_command("contact.merge", {"survivor": jane.id, "loser": dupe.id})
    clock.advance(days=10)
    await run_command("contact.update", {"contact": jane.id, "phone": "+44 1111"})  # edited since
    other = await run_command("contact.create", {"name": "Someone Else"})
    await sql(
        kith_app, 'UPDATE "activities" SET "contact_id" = ? WHERE "id" = ?', other.id, note.id
    )

    undone = await run_command("contact.unmerge", {"contact": dupe.id})

    assert undone.loser["archived_at"] is None
    assert undone.survivor["phone"] == "+44 1111"  # kept: edited since the merge
    assert undone.survivor["title"] is None  # reverted: the merge had filled it
    assert [e["email"] for e in undone.survivor["emails"]] == ["jane@initech.io"]
    assert [(e["email"], e["primary"]) for e in undone.loser["emails"]] == [
        ("jane.roe@gmail.example", True)
    ]
    activity = (
        await rows(kith_app, 'SELECT "contact_id" FROM "activities" WHERE "id" = ?', call.id)
    )[0]
    assert activity["contact_id"] == dupe.id
    conflicts = undone.conflicts
    assert {
        "field": "phone",
        "merged": "+44 20 7946 0958",
        "now": "+44 1111",
        "before": None,
        "reason": "edited since the merge; the new value stays",
    } in conflicts
    assert any(c.get("row") == f"activities #{note.id}" for c in conflicts)
    assert [e.name for e in events].count("contact.unmerged") == 1
    with pytest.raises(KithError) as info:
        await run_command("contact.unmerge", {"contact": dupe.id})
    assert info.value.code == "not_found"


async def test_a_merge_older_than_30_days_cannot_be_undone(kith_app, run_command, clock):
    _, jane, dupe = await two_janes(run_command)
    merged = await run_command("contact.merge", {"survivor": jane.id, "loser": dupe.id})
    clock.advance(days=31)
    with pytest.raises(KithError) as info:
        await run_command("contact.unmerge", {"merge": merged.merge})
    assert info.value.code == "undo_expired"


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"survivor": "SELF", "loser": "SELF"}, "loser", "same_record"),
        ({"survivor": "JANE", "loser": "organization:1"}, "loser", "wrong_entity"),
        (
            {"survivor": "JANE", "loser": "DUPE", "prefer": {"shoe_size": "loser"}},
            "prefer.shoe_size",
            "unknown_field",
        ),
        ({"survivor": "JANE", "loser": 999}, "loser", "not_found"),
    ],
)
async def test_merges_that_make_no_sense_are_clear_errors_and_change_nothing(
    kith_app, run_command, payload, field, code
):
    _, jane, dupe = await two_janes(run_command)
    ids = {"SELF": jane.id, "JANE": jane.id, "DUPE": dupe.id}
    payload = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}
    before = {t: await count_rows(kith_app, t) for t in ("history", "merges", "outbox_events")}
    with pytest.raises(KithError) as info:
        await run_command("contact.merge", payload)
    assert (info.value.fields[0].field, info.value.fields[0].code) == (field, code)
    assert {t: await count_rows(kith_app, t) for t in before} == before


async def test_a_merged_loser_cannot_be_merged_again(kith_app, run_command):
    _, jane, dupe = await two_janes(run_command)
    await run_command("contact.merge", {"survivor": jane.id, "loser": dupe.id})
    with pytest.raises(KithError) as info:
        await run_command("contact.merge", {"survivor": jane.id, "loser": dupe.id})
    assert info.value.code == "archived"


async def test_organizations_merge_their_contacts_and_the_domain_moves_and_comes_back(
    kith_app, run_command
):
    keep = await run_command("organization.create", {"name": "Initech"})
    lose = await run_command(
        "organization.create", {"name": "Initech Inc", "domain": "initech.io", "country": "US"}
    )
    jane = await run_command("contact.create", {"name": "Jane", "organization": lose.id})

    merged = await run_command("organization.merge", {"survivor": keep.id, "loser": lose.id})

    assert (merged.survivor["domain"], merged.survivor["country"]) == ("initech.io", "US")
    assert (await run_command("contact.get", {"contact": jane.id})).organization_id == keep.id
    assert merged.moved == {"contacts.organization_id": 1}

    undone = await run_command("organization.unmerge", {"merge": merged.merge})

    assert (undone.survivor["domain"], undone.loser["domain"]) == (None, "initech.io")
    assert (await run_command("contact.get", {"contact": jane.id})).organization_id == lose.id


async def test_deals_merge_their_activities_and_fill_the_value(kith_app, run_command):
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "New"}]})
    keep = await run_command("deal.create", {"title": "Initech Pro"})
    lose = await run_command(
        "deal.create", {"title": "Initech — Pro", "value": "24000", "currency": "USD"}
    )
    note = await run_command("activity.log", {"kind": "note", "deal": lose.id})

    merged = await run_command("deal.merge", {"survivor": keep.id, "loser": f"deal:{lose.id}"})

    assert (merged.survivor["value"], merged.survivor["currency"]) == ("24000.00", "USD")
    assert (await rows(kith_app, 'SELECT "deal_id" FROM "activities" WHERE "id" = ?', note.id))[0][
        "deal_id"
    ] == keep.id


async def test_a_viewer_cannot_merge(kith_app, run_command, make_actor):
    _, jane, dupe = await two_janes(run_command)
    viewer = await make_actor("viewer")
    with pytest.raises(KithError) as info:
        await run_command("contact.merge", {"survivor": jane.id, "loser": dupe.id}, actor=viewer)
    assert info.value.code == "forbidden"


def test_a_merge_reference_to_a_column_that_does_not_exist_fails_at_once():
    with pytest.raises(ValueError, match="test_enrolments has no column 'contact'"):
        kith.MergeReference(Enrolment, "contact")
