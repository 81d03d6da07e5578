"""Custom fields: defined by an admin, validated on every write, never corrupted by changes."""

from __future__ import annotations

import pytest
from kith import KithError
from kith.testing import count_rows


async def define(run_command, **fields):
    payload = {"entity": "contact", "label": fields.get("key", "x").title(), **fields}
    return await run_command("custom_field.define", payload)


async def snapshot(kith_app) -> dict[str, int]:
    return {t: await count_rows(kith_app, t) for t in ("contacts", "history", "outbox_events")}


async def assert_unchanged(kith_app, before):
    assert await snapshot(kith_app) == before


async def test_values_of_every_type_are_checked_and_normalised(run_command, make_actor):
    ana = await make_actor("agent", email="ana@staff.example.com", name="Ana Lopez")
    await define(run_command, key="tier", type="choice", options=["Bronze", "Silver", "Gold"])
    await define(run_command, key="seats", type="number")
    await define(run_command, key="budget", type="money")
    await define(run_command, key="renewal", type="date")
    await define(run_command, key="newsletter", type="bool")
    await define(run_command, key="topics", type="multi-choice", options=["API", "Billing"])
    await define(run_command, key="csm", type="user")
    await define(run_command, key="website", type="url")
    await define(run_command, key="notes", type="text")

    contact = await run_command(
        "contact.create",
        {
            "name": "Ada Lovelace",
            "custom": {
                "tier": "gold",
                "seats": "12",
                "budget": "12000.5 EUR",
                "renewal": "2027-03-31",
                "newsletter": "yes",
                "topics": ["billing", "API", "Billing"],
                "csm": "ana@staff.example.com",
                "website": "https://ada.example.com",
                "notes": "  Analytical engine  ",
            },
        },
    )

    assert contact.custom == {
        "tier": "Gold",
        "seats": 12,
        "budget": {"amount": "12000.50", "currency": "EUR"},
        "renewal": "2027-03-31",
        "newsletter": True,
        "topics": ["Billing", "API"],
        "csm": ana.user_id,
        "website": "https://ada.example.com",
        "notes": "Analytical engine",
    }
    assert contact.custom_flags == {}
    shown = await run_command("contact.get", {"contact": contact.id})
    assert shown.custom == contact.custom


@pytest.mark.parametrize(
    ("key", "kind", "options", "value", "reason"),
    [
        ("tier", "choice", ["Bronze", "Gold"], "Platinum", "is not an option"),
        ("seats", "number", [], "a dozen", "is not a number"),
        ("budget", "money", [], "12.001 EUR", "decimal places"),
        ("budget", "money", [], "12 EURO", "ISO 4217"),
        ("renewal", "date", [], "31/03/2027", "is not a date"),
        ("newsletter", "bool", [], "maybe", "true or false"),
        ("topics", "multi-choice", ["API"], ["API", "Nope"], "is not an option"),
        ("csm", "user", [], "nobody@example.com", "No user"),
        ("website", "url", [], "javascript:alert(1)", "web address"),
        ("notes", "text", [], 42, "must be text"),
    ],
)
async def test_a_bad_value_names_the_field_and_writes_nothing(
    kith_app, run_command, key, kind, options, value, reason
):
    await define(run_command, key=key, type=kind, options=options)
    before = await snapshot(kith_app)
    with pytest.raises(KithError) as info:
        await run_command("contact.create", {"name": "Ada", "custom": {key: value}})
    assert info.value.code in ("invalid_input", "not_found")
    assert [f.field for f in info.value.fields] == [f"custom.{key}"]
    assert reason in info.value.fields[0].message
    await assert_unchanged(kith_app, before)


async def test_an_unknown_key_is_refused_on_create_and_update(kith_app, run_command):
    await define(run_command, key="tier", type="choice", options=["Gold"])
    contact = await run_command("contact.create", {"name": "Ada"})
    before = await snapshot(kith_app)
    for name, payload in [
        ("contact.create", {"name": "Bob", "custom": {"teir": "Gold"}}),
        ("contact.update", {"contact": contact.id, "custom": {"teir": "Gold"}}),
    ]:
        with pytest.raises(KithError) as info:
            await run_command(name, payload)
        field = info.value.fields[0]
        assert (field.field, field.code) == ("custom.teir", "unknown_field")
        assert "tier" in field.message  # the known keys are listed
    await assert_unchanged(kith_app, before)


async def test_every_entity_validates_custom_values_through_its_own_commands(run_command):
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "New"}]})
    for entity in ("organization", "deal", "lead", "ticket", "task", "activity"):
        await run_command(
            "custom_field.define",
            {
                "entity": entity,
                "key": "size",
                "label": "Size",
                "type": "choice",
                "options": ["S", "M"],
            },
        )
    payloads = {
        "organization.create": {"name": "Initech"},
        "deal.create": {"title": "Initech — Pro"},
        "lead.create": {"name": "Jane"},
        "ticket.create": {"subject": "500 error", "requester": "mia@customer.com"},
        "task.create": {"title": "Call Jane"},
        "activity.log": {"kind": "note", "body": "hi", "ticket": 1},
    }
    for name, payload in payloads.items():
        with pytest.raises(KithError) as info:
            await run_command(name, {**payload, "custom": {"size": "XL"}})
        assert info.value.fields[0].field == "custom.size", name
        record = await run_command(name, {**payload, "custom": {"size": "s"}})
        assert record.custom == {"size": "S"}, name


async def test_required_fields_must_be_given_and_cannot_be_emptied(kith_app, run_command):
    await define(run_command, key="source", type="text", required=True)
    before = await snapshot(kith_app)
    with pytest.raises(KithError) as info:
        await run_command("contact.create", {"name": "Ada"})
    assert [(f.field, f.code) for f in info.value.fields] == [("custom.source", "missing")]
    await assert_unchanged(kith_app, before)

    ada = await run_command("contact.create", {"name": "Ada", "custom": {"source": "Webinar"}})
    with pytest.raises(KithError) as info:
        await run_command("contact.update", {"contact": ada.id, "custom": {"source": None}})
    assert info.value.fields[0].code == "missing"


async def test_updates_merge_and_clear_values(run_command):
    await define(run_command, key="tier", type="choice", options=["Bronze", "Gold"])
    await define(run_command, key="seats", type="number")
    ada = await run_command("contact.create", {"name": "Ada", "custom": {"tier": "Gold"}})
    ada = await run_command("contact.update", {"contact": ada.id, "custom": {"seats": 3}})
    assert ada.custom == {"tier": "Gold", "seats": 3}
    ada = await run_command("contact.update", {"contact": ada.id, "custom": {"tier": None}})
    assert ada.custom == {"seats": 3}


async def test_removed_or_renamed_options_keep_values_readable_and_flagged(run_command):
    await define(run_command, key="tier", type="choice", options=["Bronze", "Silver", "Gold"])
    await define(run_command, key="topics", type="multi-choice", options=["API", "Billing"])
    ada = await run_command(
        "contact.create", {"name": "Ada", "custom": {"tier": "Gold", "topics": ["API"]}}
    )
    await run_command(
        "custom_field.update", {"custom_field": "contact.tier", "options": ["Bronze", "Platinum"]}
    )
    await run_command("custom_field.update", {"custom_field": "contact.topics", "options": ["Ops"]})

    shown = await run_command("contact.get", {"contact": ada.id})
    assert shown.custom == {"tier": "Gold", "topics": ["API"]}  # never rewritten
    assert "no longer an option" in shown.custom_flags["tier"]
    assert "'API'" in shown.custom_flags["topics"]
    # Other changes to the record keep the flagged value as it was ...
    renamed = await run_command("contact.update", {"contact": ada.id, "name": "Ada King"})
    assert renamed.custom["tier"] == "Gold"
    # ... sending it back unchanged is accepted, a new value must be a current option.
    same = await run_command("contact.update", {"contact": ada.id, "custom": {"tier": "Gold"}})
    assert same.custom["tier"] == "Gold"
    with pytest.raises(KithError):
        await run_command("contact.update", {"contact": ada.id, "custom": {"tier": "Silver"}})
    fixed = await run_command("contact.update", {"contact": ada.id, "custom": {"tier": "platinum"}})
    assert fixed.custom["tier"] == "Platinum"
    assert "tier" not in fixed.custom_flags


async def test_an_archived_field_refuses_new_values_but_keeps_old_ones(kith_app, run_command):
    await define(run_command, key="tier", type="choice", options=["Gold", "Silver"], required=True)
    ada = await run_command("contact.create", {"name": "Ada", "custom": {"tier": "Gold"}})
    await run_command("custom_field.archive", {"custom_field": "contact.tier"})

    bob = await run_command("contact.create", {"name": "Bob"})  # no longer required
    assert bob.custom == {}
    before = await snapshot(kith_app)
    with pytest.raises(KithError) as info:
        await run_command("contact.update", {"contact": ada.id, "custom": {"tier": "Silver"}})
    assert (info.value.fields[0].field, info.value.fields[0].code) == ("custom.tier", "archived")
    await assert_unchanged(kith_app, before)
    shown = await run_command("contact.get", {"contact": ada.id})
    assert shown.custom == {"tier": "Gold"}
    assert "archived" in shown.custom_flags["tier"]

    await run_command("custom_field.restore", {"custom_field": "contact.tier"})
    ada = await run_command("contact.update", {"contact": ada.id, "custom": {"tier": "Silver"}})
    assert ada.custom == {"tier": "Silver"} and ada.custom_flags == {}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"entity": "spaceship", "key": "x", "label": "X", "type": "text"}, "entity"),
        ({"entity": "contact", "key": "Bad Key", "label": "X", "type": "text"}, "key"),
        ({"entity": "contact", "key": "x", "label": "X", "type": "colour"}, "type"),
        ({"entity": "contact", "key": "x", "label": "X", "type": "choice"}, "options"),
        (
            {"entity": "contact", "key": "x", "label": "X", "type": "text", "options": ["a"]},
            "options",
        ),
        (
            {
                "entity": "contact",
                "key": "x",
                "label": "X",
                "type": "choice",
                "options": ["A", "a"],
            },
            "options",
        ),
    ],
)
async def test_bad_definitions_are_refused(kith_app, run_command, payload, field):
    before = await count_rows(kith_app, "custom_field_defs")
    with pytest.raises(KithError) as info:
        await run_command("custom_field.define", payload)
    assert info.value.fields[0].field == field
    assert await count_rows(kith_app, "custom_field_defs") == before


async def test_a_key_is_defined_once_per_entity(run_command):
    await define(run_command, key="tier", type="text")
    with pytest.raises(KithError) as info:
        await define(run_command, key="tier", type="number")
    assert info.value.code == "conflict"
    deal_tier = await run_command(
        "custom_field.define", {"entity": "deal", "key": "tier", "label": "Tier", "type": "text"}
    )
    assert deal_tier.entity == "deal"


async def test_only_managers_define_fields_and_everyone_lists_them(run_command, make_actor):
    agent = await make_actor("agent")
    with pytest.raises(KithError) as info:
        await run_command(
            "custom_field.define",
            {"entity": "contact", "key": "x", "label": "X", "type": "text"},
            actor=agent,
        )
    assert info.value.code == "forbidden"
    await define(run_command, key="b", type="text", position=1)
    await define(run_command, key="a", type="text", position=0)
    await run_command(
        "custom_field.define", {"entity": "deal", "key": "c", "label": "C", "type": "text"}
    )
    listed = await run_command("custom_field.list", {"entity": "contact"}, actor=agent)
    assert [f.key for f in listed.items] == ["a", "b"]


async def test_the_system_may_create_records_without_required_values(kith_app, run_command):
    """Mail, forms and imports run as the system and cannot know a required value."""
    from kith import SYSTEM

    await define(run_command, key="source", type="text", required=True)
    ticket = await kith_app.run(
        "ticket.create", {"subject": "Help", "requester": "new@customer.com"}, SYSTEM
    )
    assert ticket.requester_id is not None
