"""Valid rows land, invalid ones are rejected with field and reason; dry runs write nothing;
imports update instead of duplicating."""

from __future__ import annotations

import csv

from kith.dataio.import_csv import load_run, write_rejects
from kith.testing import count_rows

from .conftest import check_now, import_now, rows

MIXED_REJECTS = [
    (3, "email", "Email"),
    (5, "row", None),
    (6, "owner", "Owner"),
    (7, "lifecycle_stage", "Lifecycle Stage"),
]


async def test_valid_rows_land_and_each_invalid_row_is_rejected_with_its_field_and_reason(
    kith_app, admin, csv_file, data_dir
):
    run = await import_now(kith_app, admin, "contacts", csv_file("contacts_mixed.csv"))

    assert (run["created"], run["rejected"], run["skipped"]) == (3, 4, 1)
    names = [c["name"] for c in await rows(kith_app, 'SELECT "name" FROM "contacts" ORDER BY "id"')]
    assert names == ["Grace Hopper", "Alan Turing", "Katherine Johnson"]
    rejects = await rows(kith_app, 'SELECT * FROM "import_rejects" ORDER BY "row_number"')
    assert [(r["row_number"], r["field"], r["column_name"]) for r in rejects] == MIXED_REJECTS
    reasons = {r["field"]: r["reason"] for r in rejects}
    assert "not a valid email address" in reasons["email"]
    assert reasons["row"] == "has 7 values but the header has 5 columns"
    assert "nobody@nowhere.example" in reasons["owner"]
    assert "galaxy brain" in reasons["lifecycle_stage"]

    out = data_dir / "rejects.csv"
    assert await write_rejects(kith_app.db.fetch, kith_app.db.statements, run, out) == 4
    with out.open(encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    assert lines[0] == [
        "row",
        "field",
        "column",
        "reason",
        "Name",
        "Email",
        "Phone",
        "Lifecycle Stage",
        "Owner",
    ]
    assert lines[1][:3] == ["3", "email", "Email"] and lines[1][4:6] == [
        "No At Sign",
        "not-an-email",
    ]


async def test_a_dry_run_reports_each_row_and_writes_nothing(kith_app, admin, csv_file):
    await import_now(
        kith_app,
        admin,
        "contacts",
        csv_file("a.csv", "Name,Email\nGrace Hopper,grace@navy.example\n"),
    )
    before = {
        t: await count_rows(kith_app, t)
        for t in ("contacts", "history", "import_runs", "outbox_events")
    }
    path = csv_file(
        "b.csv",
        "Name,Email,Phone\n"
        "Grace Hopper,GRACE@navy.example,+1 555 0101\n"  # updates Grace
        "Grace Hopper,grace@navy.example,+1 555 0101\n"  # the same again: no changes
        "Alan Turing,alan@bletchley.example,\n"  # new
        "Broken,broken@,\n",  # rejected
    )

    report = await check_now(kith_app, admin, "contacts", path)

    assert [(o.row, o.action) for o in report.outcomes] == [
        (2, "updated"),
        (3, "skipped"),
        (4, "created"),
        (5, "rejected"),
    ]
    assert report.outcomes[0].reason == "phone"
    assert report.outcomes[1].reason == "no changes"
    assert report.outcomes[3].field == "email"
    assert report.counts() == {"created": 1, "updated": 1, "skipped": 1, "rejected": 1}
    assert {t: await count_rows(kith_app, t) for t in before} == before


async def test_a_dry_run_counts_what_the_import_then_does(kith_app, admin, csv_file):
    path = csv_file("contacts_mixed.csv")
    report = await check_now(kith_app, admin, "contacts", path)
    run = await import_now(kith_app, admin, "contacts", path)
    assert report.counts() == {k: run[k] for k in ("created", "updated", "skipped", "rejected")}


async def test_a_dry_run_across_batches_knows_which_rows_create_what(kith_app, admin, csv_file):
    kith_app.settings.import_batch_rows = 2
    path = csv_file(
        "c.csv",
        "Name,Email\nA,a@x.example\nB,b@x.example\nC,c@x.example\nA again,a@x.example\n",
    )

    report = await check_now(kith_app, admin, "contacts", path)

    assert [o.action for o in report.outcomes] == ["created", "created", "created", "updated"]
    assert report.outcomes[3].reason == "updates the contact row 2 creates"


async def test_importing_the_same_file_twice_updates_instead_of_duplicating(
    kith_app, admin, csv_file
):
    text = "Full Name,E-Mail,Company\nAda Lovelace,ada@analytical.engine,Analytical Engines\n"
    first = await import_now(kith_app, admin, "contacts", csv_file("ada.csv", text))
    second = await import_now(kith_app, admin, "contacts", csv_file("ada2.csv", text))

    assert (first["created"], second["created"], second["skipped"]) == (1, 0, 1)
    assert await count_rows(kith_app, "contacts") == 1
    assert await count_rows(kith_app, "organizations") == 1


async def test_modes_create_and_update_skip_what_they_do_not_do(
    kith_app, admin, csv_file, run_command
):
    await run_command("contact.create", {"name": "Grace", "email": "grace@navy.example"})
    text = "Name,Email\nGrace Hopper,grace@navy.example\nAlan Turing,alan@bletchley.example\n"

    only_new = await import_now(kith_app, admin, "contacts", csv_file("n.csv", text), mode="create")
    assert (only_new["created"], only_new["skipped"]) == (1, 1)
    only_existing = await import_now(
        kith_app,
        admin,
        "contacts",
        csv_file("u.csv", text.replace("Turing", "M. Turing").replace("alan@", "turing@")),
        mode="update",
    )
    assert (only_existing["updated"], only_existing["skipped"]) == (1, 1)
    grace = (
        await rows(
            kith_app, 'SELECT "name" FROM "contacts" WHERE "email" = ?', "grace@navy.example"
        )
    )[0]
    assert grace["name"] == "Grace Hopper"
    assert await count_rows(kith_app, "contacts") == 2


async def test_first_and_last_name_columns_and_an_email_only_list_get_names(
    kith_app, admin, csv_file
):
    await import_now(
        kith_app,
        admin,
        "contacts",
        csv_file(
            "n.csv",
            "First name;Surname;Mail\nAda;Lovelace;ada@x.example\n;;grace.hopper@navy.example\n",
        ),
    )
    names = [c["name"] for c in await rows(kith_app, 'SELECT "name" FROM "contacts" ORDER BY "id"')]
    assert names == ["Ada Lovelace", "Grace Hopper"]


async def test_a_column_map_overrides_the_guess_and_can_ignore_a_column(kith_app, admin, csv_file):
    path = csv_file("m.csv", "Who,Reach me at,Company\nAda,ada@x.example,Analytical Engines\n")
    run = await import_now(
        kith_app,
        admin,
        "contacts",
        path,
        mapping={"Who": "name", "Reach me at": "email", "Company": "-"},
    )
    assert run["created"] == 1
    ada = (await rows(kith_app, 'SELECT * FROM "contacts"'))[0]
    assert (ada["name"], ada["email"], ada["organization_id"]) == ("Ada", "ada@x.example", None)
    assert await count_rows(kith_app, "organizations") == 0


async def test_records_can_be_matched_on_their_kith_id_from_an_export(
    kith_app, admin, csv_file, run_command
):
    ada = await run_command("contact.create", {"name": "Ada", "email": "ada@x.example"})
    path = csv_file("k.csv", f"id,name,phone\n{ada.id},Ada Lovelace,+44 1\n999,Nobody,\n")

    run = await import_now(kith_app, admin, "contacts", path, key="id")

    assert (run["updated"], run["rejected"]) == (1, 1)
    reject = (await rows(kith_app, 'SELECT * FROM "import_rejects"'))[0]
    assert (reject["field"], reject["reason"]) == ("id", "there is no contact #999")


async def test_per_record_events_are_sent_only_when_the_setting_asks(
    kith_app, admin, csv_file, events
):
    kith_app.settings.import_record_events = True
    await import_now(
        kith_app, admin, "contacts", csv_file("e.csv", "Name,Email\nA,a@x.example\nB,b@x.example\n")
    )
    names = [e.name for e in events]
    assert names.count("contact.created") == 2 and names.count("import.completed") == 1


async def test_an_agent_imports_as_an_agent_and_history_names_the_file(
    kith_app, make_actor, csv_file
):
    agent = await make_actor("agent")
    run = await import_now(
        kith_app, agent, "organizations", csv_file("o.csv", "Name,Domain\nInitech,initech.io\n")
    )
    assert run["created"] == 1
    h = (await rows(kith_app, 'SELECT * FROM "history" WHERE "entity" = ?', "organization"))[0]
    assert (h["actor"], h["actor_user_id"]) == (f"import:o.csv:user:{agent.user_id}", agent.user_id)
    assert (await load_run(kith_app, run["id"]))["status"] == "done"
