"""Finding duplicates: scores and reasons, a warning on create, a nightly scan, dismissals."""

from __future__ import annotations

import pytest
from kith import KithError
from kith.dataio.duplicate_commands import SCAN_KEY, ensure_nightly_scan
from kith.dataio.duplicates import email_key, name_similarity, org_name_key, phone_key
from kith.testing import count_rows

from .conftest import rows


def test_keys_ignore_what_people_type_differently():
    assert email_key("Jane.Roe+news@googlemail.com") == "janeroe@gmail.com"
    assert email_key("jane+crm@initech.io") == "jane@initech.io"
    assert phone_key("+44 20 7946 0958") == phone_key("020-7946-0958")
    assert phone_key("1234") is None
    assert org_name_key("Initech, Inc.") == org_name_key("INITECH") == "initech"
    assert name_similarity("jane roe", "j roe") == 90.0


async def test_contacts_that_look_alike_are_listed_with_scores_and_reasons(kith_app, run_command):
    initech = await run_command("organization.create", {"name": "Initech"})
    jane = await run_command(
        "contact.create",
        {"name": "Jane Roe", "email": "jane.roe@gmail.com", "organization": initech.id},
    )
    twin = await run_command(
        "contact.create", {"name": "Jane Roe", "email": "janeroe+crm@gmail.com"}
    )
    jr = await run_command("contact.create", {"name": "J. Roe", "organization": initech.id})
    phone1 = await run_command("contact.create", {"name": "Bob Smith", "phone": "+44 20 7946 0958"})
    phone2 = await run_command("contact.create", {"name": "Robert Smith", "phone": "020 7946 0958"})
    await run_command("contact.create", {"name": "Ada Lovelace"})

    found = await run_command("duplicates.find", {"entity": "contacts"})

    by_ids = {(p.a.id, p.b.id): p for p in found.pairs}
    top = by_ids[(jane.id, twin.id)]
    assert top.score == 100
    assert top.reasons[0] == "same e-mail address (janeroe@gmail.com)"
    assert "similar name (100%)" in top.reasons
    assert by_ids[(jane.id, jr.id)].reasons == ["similar name (90%) at the same organization"]
    assert by_ids[(phone1.id, phone2.id)].reasons[0] == "same phone number"
    assert found.pairs[0].score >= found.pairs[-1].score
    assert not any("Ada" in (p.a.label + p.b.label) for p in found.pairs)

    one = await run_command("duplicates.find", {"entity": "contacts", "record": jr.id})
    assert [(p.a.id, p.b.id) for p in one.pairs] == [(jane.id, jr.id), (twin.id, jr.id)]
    assert one.pairs[1].reasons == ["similar name (90%)"]


async def test_organizations_match_on_domain_and_name_without_legal_suffixes(kith_app, run_command):
    a = await run_command("organization.create", {"name": "Initech, Inc.", "domain": "initech.io"})
    b = await run_command("organization.create", {"name": "INITECH"})
    c = await run_command("organization.create", {"name": "Initrode", "domain": "eu.initech.io"})
    d = await run_command("organization.create", {"name": "Initech GmbH", "domain": "initech.de"})

    found = await run_command("duplicates.find", {"entity": "organizations"})

    reasons = {(p.a.id, p.b.id): p.reasons for p in found.pairs}
    assert "same name (initech)" in reasons[(a.id, b.id)]
    assert "same domain (initech.io)" in reasons[(a.id, c.id)]
    assert "same domain name under another ending (initech)" in reasons[(a.id, d.id)]


async def test_creating_a_lookalike_warns_the_creator_through_an_event(
    kith_app, run_command, events, admin
):
    ada = await run_command(
        "contact.create", {"name": "Ada Lovelace", "email": "ada@analytical.example"}
    )
    again = await run_command(
        "contact.create", {"name": "Ada Lovelace", "email": "ada+1@analytical.example"}
    )

    warnings = [e for e in events if e.name == "contact.duplicate_suspected"]
    assert len(warnings) == 1
    warning = warnings[0]
    assert warning.entity_id == again.id
    assert warning.data["message"] == f"Ada Lovelace looks like Ada Lovelace #{ada.id}"
    assert warning.data["created_by"] == f"test:user:{admin.user_id}"
    assert warning.data["candidates"][0]["id"] == ada.id
    pair = (await rows(kith_app, 'SELECT * FROM "duplicate_pairs"'))[0]
    assert (pair["record_id"], pair["other_id"], pair["status"]) == (ada.id, again.id, "open")


async def test_a_dismissed_pair_is_not_listed_or_flagged_again(kith_app, run_command, events):
    a = await run_command("contact.create", {"name": "John Smith", "phone": "+1 555 010 0001"})
    b = await run_command("contact.create", {"name": "John Smith", "phone": "+1 555 010 0001"})
    await run_command("duplicates.dismiss", {"entity": "contacts", "a": b.id, "b": a.id})

    found = await run_command("duplicates.find", {"entity": "contacts"})
    assert found.pairs == []
    shown = await run_command("duplicates.find", {"entity": "contacts", "include_dismissed": True})
    assert shown.pairs[0].status == "dismissed"
    await run_command("contact.create", {"name": "Jon Smith", "phone": "+1 555 010 0001"})
    flagged = await rows(kith_app, 'SELECT * FROM "duplicate_pairs" ORDER BY "id"')
    assert next((p["record_id"], p["other_id"], p["status"]) for p in flagged) == (
        a.id,
        b.id,
        "dismissed",
    )


async def test_the_nightly_scan_flags_new_pairs_once_and_runs_again_the_next_night(
    kith_app, run_command, run_jobs, clock, events, admin, csv_file
):
    from .conftest import import_now

    # Imported rows send no per-record events: only the nightly scan sees these.
    await import_now(
        kith_app,
        admin,
        "contacts",
        csv_file(
            "d.csv",
            "Name,Email\nGrace Hopper,grace@navy.example\nGrace Hopper,g.hopper@navy.example\n",
        ),
    )
    assert not [e for e in events if e.name.endswith("duplicate_suspected")]
    assert await ensure_nightly_scan(kith_app) is True
    assert await ensure_nightly_scan(kith_app) is False

    clock.advance(hours=17)  # 02:00 the next night
    assert await run_jobs() == 1
    found = [e for e in events if e.name == "duplicates.found"]
    assert len(found) == 1 and found[0].data["new"] == 1
    assert await count_rows(kith_app, "duplicate_pairs") == 1
    scheduled = await rows(
        kith_app, 'SELECT * FROM "jobs" WHERE "key" = ? AND "status" = ?', SCAN_KEY, "scheduled"
    )
    assert len(scheduled) == 1

    clock.advance(days=1)
    assert await run_jobs() == 1
    assert len([e for e in events if e.name == "duplicates.found"]) == 1  # nothing new


async def test_finding_duplicates_needs_read_access_and_a_known_record(kith_app, run_command):
    with pytest.raises(KithError) as info:
        await run_command("duplicates.find", {"entity": "contacts", "record": 404})
    assert info.value.code == "not_found"
    with pytest.raises(KithError) as info:
        await run_command("duplicates.find", {"entity": "planets"})
    assert info.value.fields[0].field == "entity"


async def test_a_new_contact_is_flagged_by_phone_or_plus_address_through_indexes(
    kith_app, run_command, events
):
    """Phones match on their last nine digits whatever the separators; addresses match
    without their +tag; both through indexes (the plan is checked on SQLite)."""
    first = await run_command(
        "contact.create",
        {"name": "Li Wei", "email": "li+crm@acme.example", "phone": "+86 (10) 6552-9988"},
    )
    by_phone = await run_command("contact.create", {"name": "Wei Li", "phone": "010 6552 9988"})
    by_mail = await run_command("contact.create", {"name": "L. W.", "email": "li@acme.example"})
    await kith_app.drain()
    flagged = await rows(kith_app, 'SELECT * FROM "duplicate_pairs" ORDER BY "id"')
    assert {(p["record_id"], p["other_id"]) for p in flagged} >= {
        (first.id, by_phone.id),
        (first.id, by_mail.id),
    }
    if kith_app.db.dialect == "sqlite":
        from kith.dataio.duplicates import PHONE_TAIL

        plan = await kith_app.db.fetch(
            f'EXPLAIN QUERY PLAN SELECT "id" FROM "contacts" WHERE {PHONE_TAIL["sqlite"]} = ?',
            ["106552998"],
        )
        assert "contacts_phone_tail" in str(plan)
