"""Importing the files people really have: Outlook on Windows, HubSpot, German Excel, TSV."""

from __future__ import annotations

import json

from kith.testing import count_rows

from .conftest import import_now, rows


def _changes(value):
    return value if isinstance(value, dict) else json.loads(value)


async def test_a_windows_1252_outlook_export_lands_with_its_accents(
    kith_app, admin, csv_file, events
):
    path = csv_file("outlook_contacts_cp1252.csv")

    run = await import_now(kith_app, admin, "contacts", path)

    assert (run["status"], run["created"], run["rejected"]) == ("done", 5, 0)
    assert run["encoding"] == "cp1252"
    contacts = await rows(kith_app, 'SELECT * FROM "contacts" ORDER BY "id"')
    assert [c["name"] for c in contacts] == [
        "Zoë Dupré",
        "José Núñez",
        "Søren Kierkegård",
        "François Müller",
        "Ana Price",
    ]
    assert contacts[1]["title"] == "\u201cHead\u201d of Sales \u2013 EMEA"
    assert contacts[4]["title"] == "Budget € owner"
    orgs = {o["name"] for o in await rows(kith_app, 'SELECT "name" FROM "organizations"')}
    assert orgs == {"Société Générale", "Café Ñandú", "Ærø Øl", "Müller & Söhne, GmbH", "Initech"}
    history = await rows(
        kith_app, 'SELECT * FROM "history" WHERE "entity" = ? ORDER BY "id"', "contact"
    )
    assert len(history) == 5
    assert {h["actor"] for h in history} == {
        f"import:outlook_contacts_cp1252.csv:user:{admin.user_id}"
    }
    assert {h["command"] for h in history} == {"contact.create"}
    names = [e.name for e in events]
    assert names.count("import.completed") == 1
    assert "contact.created" not in names and "organization.created" not in names
    done = next(e for e in events if e.name == "import.completed")
    assert done.data["created"] == 5 and done.data["file"] == "outlook_contacts_cp1252.csv"


async def test_a_utf8_export_with_a_bom_is_matched_on_its_record_ids_when_imported_again(
    kith_app, admin, csv_file
):
    path = csv_file("hubspot_contacts_bom.csv")

    first = await import_now(kith_app, admin, "contacts", path, key="external:hubspot")

    assert first["created"] == 4
    lukasz = (
        await rows(kith_app, 'SELECT * FROM "contacts" WHERE "email" = ?', "lukasz@przyklad.pl")
    )[0]
    assert lukasz["name"] == "Łukasz Żółć" and lukasz["lifecycle_stage"] == "customer"
    chloe = (
        await rows(kith_app, 'SELECT * FROM "contacts" WHERE "email" = ?', "chloe@initech.io")
    )[0]
    assert chloe["lifecycle_stage"] == "mql"
    ids = await rows(kith_app, 'SELECT * FROM "external_ids" ORDER BY "external_id"')
    assert [(i["system"], i["external_id"]) for i in ids] == [
        ("hubspot", "1001"),
        ("hubspot", "1002"),
        ("hubspot", "1003"),
        ("hubspot", "1004"),
    ]
    # Chloé changed her email and phone in HubSpot; the record id still finds her.
    path.write_bytes(
        path.read_bytes().replace(
            b"chloe@initech.io,+33 6 12 34 56 78", b"chloe@initech.com,+33 7 00 00 00 00"
        )
    )

    again = await import_now(kith_app, admin, "contacts", path, key="external:hubspot")

    assert (again["created"], again["updated"], again["skipped"]) == (0, 1, 3)
    assert await count_rows(kith_app, "contacts") == 4
    chloe = (await rows(kith_app, 'SELECT * FROM "contacts" WHERE "id" = ?', chloe["id"]))[0]
    assert chloe["phone"] == "+33 7 00 00 00 00"
    emails = await rows(
        kith_app,
        'SELECT "email", "is_primary" FROM "contact_emails" WHERE "contact_id" = ? ORDER BY "id"',
        chloe["id"],
    )
    assert [(e["email"], bool(e["is_primary"])) for e in emails] == [
        ("chloe@initech.io", True),
        ("chloe@initech.com", False),
    ]


async def test_semicolon_deals_read_european_money_and_dates(
    kith_app, admin, csv_file, run_command
):
    await run_command(
        "pipeline.create",
        {"name": "Sales", "stages": [{"name": "Qualification"}, {"name": "Won", "kind": "won"}]},
    )
    await import_now(kith_app, admin, "contacts", csv_file("hubspot_contacts_bom.csv"))
    path = csv_file("deals_semicolon.csv")

    run = await import_now(kith_app, admin, "deals", path)

    assert run["delimiter"] == ";"
    assert (run["created"], run["rejected"]) == (3, 1)
    deals = {d["title"]: d for d in await rows(kith_app, 'SELECT * FROM "deals"')}
    pro = deals["Initech — Pro"]
    assert (pro["value_minor"], pro["currency"], str(pro["expected_close"])) == (
        2_400_000,
        "EUR",
        "2026-03-31",
    )
    initech = (
        await rows(kith_app, 'SELECT "id" FROM "organizations" WHERE "name" = ?', "Initech")
    )[0]
    assert pro["organization_id"] == initech["id"]
    assert deals["Zoo renewal"]["value_minor"] == 125_050
    assert (deals["Engines pilot"]["value_minor"], deals["Engines pilot"]["currency"]) == (
        1_250_000,
        "USD",
    )
    reject = (await rows(kith_app, 'SELECT * FROM "import_rejects"'))[0]
    assert (reject["row_number"], reject["field"], reject["column_name"]) == (5, "value", "Amount")
    assert "douze mille" in reject["reason"]
    ids = {
        i["external_id"]
        for i in await rows(kith_app, 'SELECT * FROM "external_ids" WHERE "entity" = ?', "deal")
    }
    assert ids == {"D-1", "D-2", "D-3"}


async def test_tab_separated_organizations_read_websites_and_country_names(
    kith_app, admin, csv_file
):
    run = await import_now(kith_app, admin, "organizations", csv_file("organizations_tab.tsv"))

    assert run["delimiter"] == "\t"
    assert (run["created"], run["rejected"]) == (3, 1)
    orgs = {o["name"]: o for o in await rows(kith_app, 'SELECT * FROM "organizations"')}
    assert (orgs["Initech"]["domain"], orgs["Initech"]["country"]) == ("initech.io", "US")
    assert orgs["Ærø Øl"]["country"] == "DK"
    assert orgs["Spółka Zoo"]["size"] == "11-50"
    reject = (await rows(kith_app, 'SELECT * FROM "import_rejects"'))[0]
    assert (reject["field"], reject["column_name"]) == ("domain", "Website")
    assert "not a domain" in reject["reason"]


async def test_an_excel_unicode_text_export_in_utf16_with_tabs_is_read(kith_app, admin, data_dir):
    path = data_dir / "excel_unicode.txt"
    text = "Name\tE-mail\tCompany\r\nŁukasz Żółć\tlukasz@przyklad.pl\tSpółka Zoo\r\n"
    path.write_bytes(text.encode("utf-16"))  # with its BOM, as Excel writes it

    run = await import_now(kith_app, admin, "contacts", path)

    assert (run["created"], run["delimiter"]) == (1, "\t")
    name = (await rows(kith_app, 'SELECT "name" FROM "contacts"'))[0]["name"]
    assert name == "Łukasz Żółć"
    assert "UTF-16" in " ".join(run["options"]["notes"])
