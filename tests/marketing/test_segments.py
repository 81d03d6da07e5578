"""Segments: saved filters with consent and inactivity, kept up to date, announcing who
enters and leaves; bad filters named; the Slack verb."""

from __future__ import annotations

import kith
import pytest


async def _people(run_command):
    ada = await run_command(
        "contact.create", {"name": "Ada", "email": "ada@a.example", "title": "CTO"}
    )
    bob = await run_command(
        "contact.create", {"name": "Bob", "email": "bob@b.example", "title": "CTO"}
    )
    cy = await run_command(
        "contact.create", {"name": "Cy", "email": "cy@c.example", "title": "Intern"}
    )
    return ada, bob, cy


async def test_members_follow_the_filter_and_consent(run_command, events):
    ada, bob, _cy = await _people(run_command)
    await run_command(
        "consent.grant", {"contact": ada.id, "purpose": "newsletter", "source": "call"}
    )
    segment = await run_command(
        "segment.create",
        {
            "name": "CTOs on the newsletter",
            "filter": {"title": "CTO"},
            "consent": {"newsletter": "granted"},
        },
    )
    assert segment.member_count == 1
    members = await run_command("segment.members", {"segment": "CTOs on the newsletter"})
    assert members.contacts == [ada.id]
    assert [(e.name, e.entity_id) for e in events if e.name.startswith("segment.")][-1] == (
        "segment.entered",
        ada.id,
    )
    await run_command(
        "consent.grant", {"contact": bob.id, "purpose": "newsletter", "source": "call"}
    )
    await run_command("contact.update", {"contact": ada.id, "title": "CEO"})
    result = await run_command("segment.refresh", {"segment": "CTOs on the newsletter"})
    assert (result.entered, result.exited) == (1, 1)
    moves = [
        (e.name, e.entity_id) for e in events if e.name in ("segment.entered", "segment.exited")
    ]
    assert moves[-2:] == [("segment.entered", bob.id), ("segment.exited", ada.id)]
    got = await run_command("segment.get", {"segment": "CTOs on the newsletter"})
    assert got.member_count == 1 and got.computed_at is not None
    # A refresh with nothing changed announces nothing.
    before = len(events)
    await run_command("segment.refresh", {})
    assert [e for e in events[before:] if e.name in ("segment.entered", "segment.exited")] == []


async def test_inactivity_and_custom_fields(run_command, clock):
    await run_command(
        "custom_field.define",
        {
            "entity": "contact",
            "key": "tier",
            "label": "Tier",
            "type": "choice",
            "options": ["Gold", "Silver"],
        },
    )
    ada = await run_command("contact.create", {"name": "Ada", "custom": {"tier": "Gold"}})
    bob = await run_command("contact.create", {"name": "Bob", "custom": {"tier": "Gold"}})
    await run_command("activity.log", {"kind": "call", "subject": "Catch-up", "contact": ada.id})
    clock.advance(days=10)
    await run_command(
        "segment.create",
        {"name": "Quiet gold", "filter": {"custom.tier": "Gold"}, "inactive_days": 7},
    )
    assert (await run_command("segment.members", {"segment": "Quiet gold"})).contacts == [
        ada.id,
        bob.id,
    ]
    await run_command("activity.log", {"kind": "note", "subject": "Still here", "contact": bob.id})
    await run_command("segment.refresh", {"segment": "Quiet gold"})
    assert (await run_command("segment.members", {"segment": "Quiet gold"})).contacts == [ada.id]


async def test_a_filter_on_an_unknown_field_is_named_and_nothing_is_saved(run_command):
    with pytest.raises(kith.KithError) as err:
        await run_command("segment.create", {"name": "Typo", "filter": {"titel": "CTO"}})
    assert err.value.fields[0].field == "filter.titel"
    with pytest.raises(kith.KithError) as err:
        await run_command("segment.create", {"name": "Bad", "consent": {"newsletter": "maybe"}})
    assert err.value.fields[0].field == "consent.newsletter"
    assert (await run_command("segment.list", {})).items == []


async def test_the_refresh_job_runs_every_fifteen_minutes(run_command, run_jobs, clock):
    await run_command("segment.create", {"name": "Everyone"})
    await run_command("contact.create", {"name": "Late arrival"})
    clock.advance(minutes=16)
    await run_jobs()
    assert (await run_command("segment.get", {"segment": "Everyone"})).member_count == 1
    await run_command("contact.create", {"name": "Later still"})
    clock.advance(minutes=15)
    await run_jobs()
    assert (await run_command("segment.get", {"segment": "Everyone"})).member_count == 2


def test_the_segment_verb_asks_for_the_count():
    from kith.plugins.marketing.verbs import SEGMENT

    invocation = SEGMENT.parse(["Quiet", "gold"], None)
    assert (invocation.command, invocation.payload) == ("segment.get", {"segment": "Quiet gold"})
    with pytest.raises(kith.KithError):
        SEGMENT.parse([], None)


async def test_score_recent_activity_and_sequence_conditions(run_command, clock):
    ada, bob, cy = await _people(run_command)
    for person, score in ((ada, 80), (bob, 20)):
        await run_command(
            "lead.create",
            {"name": person.name, "email": f"{person.name.lower()}@leads.example",
             "contact": person.id, "score": score},
        )  # fmt: skip
    hot = await run_command("segment.create", {"name": "Hot", "min_score": 50})
    assert hot.member_count == 1 and hot.min_score == 50
    assert (await run_command("segment.members", {"segment": "Hot"})).contacts == [ada.id]

    await run_command("activity.log", {"kind": "meeting", "body": "Demo", "contact": bob.id})
    clock.advance(days=20)
    await run_command("activity.log", {"kind": "call", "body": "Chat", "contact": cy.id})
    await run_command("activity.log", {"kind": "note", "body": "FYI", "contact": ada.id})
    talked = await run_command(
        "segment.create",
        {"name": "Talked lately", "activity": {"kinds": ["call", "meeting"], "within_days": 14}},
    )
    assert (await run_command("segment.members", {"segment": "Talked lately"})).contacts == [cy.id]
    assert talked.activity == {"kinds": ["call", "meeting"], "within_days": 14, "direction": None}

    await run_command(
        "sequence.create",
        {"name": "Nurture", "purpose": "newsletter", "steps": [{"kind": "wait", "days": 9}]},
    )
    await run_command("sequence.enroll", {"sequence": "Nurture", "contact": bob.id})
    await run_command(
        "segment.create",
        {"name": "In nurture", "sequence": {"name": "Nurture", "status": "active"}},
    )
    assert (await run_command("segment.members", {"segment": "In nurture"})).contacts == [bob.id]


async def test_unknown_activity_kinds_and_sequences_are_named(run_command):
    with pytest.raises(kith.KithError) as bad_kind:
        await run_command("segment.create", {"name": "X", "activity": {"kinds": ["call", "fax"]}})
    assert bad_kind.value.fields[0].field == "activity.kinds.1"
    with pytest.raises(kith.KithError) as bad_sequence:
        await run_command("segment.create", {"name": "Y", "sequence": {"name": "Nope"}})
    assert bad_sequence.value.fields[0].field == "sequence.name"
    assert (await run_command("segment.list", {})).items == []
