"""``<entity>.list``: text search, filters on columns, custom fields and tags, sorting, cursors."""

from __future__ import annotations

import pytest
from kith import KithError


@pytest.fixture
async def crm(run_command, make_actor, clock):
    """A small CRM: two reps, contacts with custom fields and tags, deals in a pipeline."""
    ana = await make_actor("agent", email="ana@staff.example.com", name="Ana Lopez")
    ben = await make_actor("manager", email="ben@staff.example.com", name="Ben Okafor")
    await run_command(
        "custom_field.define",
        {
            "entity": "contact",
            "key": "tier",
            "label": "Tier",
            "type": "choice",
            "options": ["Bronze", "Silver", "Gold"],
        },
    )
    await run_command(
        "custom_field.define",
        {"entity": "contact", "key": "seats", "label": "Seats", "type": "number"},
    )
    await run_command(
        "custom_field.define",
        {
            "entity": "contact",
            "key": "topics",
            "label": "Topics",
            "type": "multi-choice",
            "options": ["API", "Billing"],
        },
    )
    await run_command(
        "custom_field.define",
        {"entity": "contact", "key": "renewal", "label": "Renewal", "type": "date"},
    )
    await run_command(
        "custom_field.define",
        {"entity": "contact", "key": "vip", "label": "VIP", "type": "bool"},
    )
    await run_command(
        "custom_field.define",
        {"entity": "contact", "key": "budget", "label": "Budget", "type": "money"},
    )
    people = [
        (
            "Ada Lovelace",
            "ada@example.com",
            ana,
            {
                "tier": "Gold",
                "seats": 50,
                "topics": ["API"],
                "renewal": "2027-01-31",
                "vip": True,
                "budget": "12000 EUR",
            },
        ),
        (
            "Grace Hopper",
            "grace@navy.example",
            ana,
            {
                "tier": "Silver",
                "seats": 5,
                "topics": ["API", "Billing"],
                "renewal": "2026-06-30",
                "vip": False,
                "budget": "900.50 EUR",
            },
        ),
        ("Alan Turing", "alan@example.org", ben, {"tier": "Gold", "seats": 7}),
        ("Katherine Johnson", None, ben, {}),
        ("Chloé Dubois", "chloe@example.fr", ana, {"tier": "Bronze"}),
    ]
    contacts = {}
    for name, email, owner, custom in people:
        clock.advance(minutes=1)
        c = await run_command(
            "contact.create",
            {"name": name, "email": email, "owner": owner.user_id, "custom": custom},
        )
        contacts[name.split()[0].lower()] = c
    await run_command("tag.add", {"entity": "contact", "record": contacts["ada"].id, "tag": "VIP"})
    await run_command(
        "tag.add", {"entity": "contact", "record": contacts["alan"].id, "tag": "speaker"}
    )
    await run_command("tag.add", {"entity": "contact", "record": contacts["alan"].id, "tag": "vip"})
    return {"ana": ana, "ben": ben, **contacts}


def names(page) -> list[str]:
    return [c.name for c in page.items]


async def test_a_list_is_newest_first_by_default_with_tags_and_emails(crm, run_command):
    page = await run_command("contact.list", {})
    assert names(page) == [
        "Chloé Dubois",
        "Katherine Johnson",
        "Alan Turing",
        "Grace Hopper",
        "Ada Lovelace",
    ]
    assert page.next_cursor is None
    ada = page.items[-1]
    assert ada.tags == ["vip"] and ada.emails[0].email == "ada@example.com"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"custom.tier": "gold"}, {"Ada Lovelace", "Alan Turing"}),
        ({"custom.tier": ["Silver", "Bronze"]}, {"Grace Hopper", "Chloé Dubois"}),
        ({"custom.tier": {"ne": "Gold"}}, {"Grace Hopper", "Chloé Dubois", "Katherine Johnson"}),
        ({"custom.tier": None}, {"Katherine Johnson"}),
        (
            {"custom.tier": {"null": False}, "custom.seats": {"gte": 7}},
            {"Ada Lovelace", "Alan Turing"},
        ),
        ({"custom.seats": {"gt": 5, "lt": 50}}, {"Alan Turing"}),
        ({"custom.seats": 5}, {"Grace Hopper"}),
        ({"custom.topics": "Billing"}, {"Grace Hopper"}),
        ({"custom.topics": ["billing", "api"]}, {"Ada Lovelace", "Grace Hopper"}),
        ({"custom.renewal": {"lt": "2026-12-31"}}, {"Grace Hopper"}),
        ({"custom.vip": True}, {"Ada Lovelace"}),
        ({"custom.vip": False}, {"Grace Hopper"}),
        ({"custom.budget": {"gt": "1000"}}, {"Ada Lovelace"}),
        ({"tag": "vip"}, {"Ada Lovelace", "Alan Turing"}),
        ({"tag": ["speaker"]}, {"Alan Turing"}),
        ({"tag": {"ne": "vip"}}, {"Grace Hopper", "Katherine Johnson", "Chloé Dubois"}),
        ({"tag": {"null": True}}, {"Grace Hopper", "Katherine Johnson", "Chloé Dubois"}),
        ({"email": None}, {"Katherine Johnson"}),
        ({"email": {"contains": "EXAMPLE.org"}}, {"Alan Turing"}),
        ({"tag": "vip", "custom.tier": "Gold", "custom.seats": {"lt": 10}}, {"Alan Turing"}),
    ],
)
async def test_filters(crm, run_command, filters, expected):
    page = await run_command("contact.list", {"filter": filters})
    assert set(names(page)) == expected


async def test_filter_by_owner_me_and_by_date(crm, run_command, clock):
    mine = await run_command("contact.list", {"filter": {"owner": "me"}}, actor=crm["ana"])
    assert set(names(mine)) == {"Ada Lovelace", "Grace Hopper", "Chloé Dubois"}
    by_id = await run_command("contact.list", {"filter": {"owner_id": crm["ben"].user_id}})
    assert set(names(by_id)) == {"Alan Turing", "Katherine Johnson"}
    since = crm["alan"].created_at.isoformat()
    newer = await run_command("contact.list", {"filter": {"created_at": {"gte": since}}})
    assert set(names(newer)) == {"Alan Turing", "Katherine Johnson", "Chloé Dubois"}


async def test_q_finds_words_in_names_and_emails(crm, run_command):
    assert names(await run_command("contact.list", {"q": "lovel"})) == ["Ada Lovelace"]
    assert names(await run_command("contact.list", {"q": "navy"})) == ["Grace Hopper"]
    assert set(names(await run_command("contact.list", {"q": "example"}))) == {
        "Ada Lovelace",
        "Grace Hopper",
        "Alan Turing",
        "Chloé Dubois",
    }
    # q without a full-text index (tasks) falls back to matching the text columns
    await run_command("task.create", {"title": "Send the Lovelace proposal"})
    tasks = await run_command("task.list", {"q": "lovelace proposal"})
    assert [t.title for t in tasks.items] == ["Send the Lovelace proposal"]


async def test_sorting_and_paging_with_cursors_visits_every_record_once(crm, run_command):
    seen = []
    cursor = None
    while True:
        page = await run_command(
            "contact.list", {"sort": "name", "limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        seen += names(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == 5

    by_email_desc = await run_command("contact.list", {"sort": "-email", "limit": 3})
    first = names(by_email_desc)
    rest = await run_command(
        "contact.list", {"sort": "-email", "limit": 3, "cursor": by_email_desc.next_cursor}
    )
    assert first + names(rest) == [
        "Grace Hopper",
        "Chloé Dubois",
        "Alan Turing",
        "Ada Lovelace",
        "Katherine Johnson",
    ]  # nulls last


async def test_archived_records_are_left_out_unless_asked_for(crm, run_command):
    await run_command("contact.archive", {"contact": crm["ada"].id})
    assert "Ada Lovelace" not in names(await run_command("contact.list", {}))
    everything = await run_command("contact.list", {"include_archived": True})
    assert "Ada Lovelace" in names(everything)
    only = await run_command("contact.list", {"filter": {"archived_at": {"null": False}}})
    assert names(only) == ["Ada Lovelace"]


async def test_every_entity_has_a_list(run_command, make_actor):
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "New"}]})
    deal = await run_command("deal.create", {"title": "Initech — Pro", "value": "24000"})
    big = await run_command("deal.list", {"filter": {"value_minor": {"gte": 2_000_000}}})
    assert [d.id for d in big.items] == [deal.id]
    assert big.items[0].value == "24000.00"
    for entity in (
        "user",
        "team",
        "organization",
        "lead",
        "pipeline",
        "stage",
        "activity",
        "task",
        "ticket",
    ):
        page = await run_command(f"{entity}.list", {"limit": 1})
        assert page.items is not None


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"filter": {"shoe_size": 42}}, "filter.shoe_size", "unknown_field"),
        ({"filter": {"custom.shoe_size": 42}}, "filter.custom.shoe_size", "unknown_field"),
        ({"filter": {"name": {"like": "A%"}}}, "filter.name.like", "unknown_operator"),
        ({"filter": {"created_at": "yesterday"}}, "filter.created_at", "invalid"),
        ({"filter": {"custom.seats": {"gt": "many"}}}, "filter.custom.seats", "invalid"),
        ({"filter": {"custom.tier": {"gt": "Gold"}}}, "filter.custom.tier", "invalid"),
        ({"filter": {"owner_id": []}}, "filter.owner_id", "invalid"),
        ({"sort": "phone"}, "sort", "invalid"),
        ({"cursor": "not-a-cursor"}, "cursor", "invalid_cursor"),
        ({"cursor": "eyJwIjpbMSwxXSwicSI6IngifQ.AAAAAAAAAAAAAAAA"}, "cursor", "invalid_cursor"),
        ({"limit": 201}, "limit", "value_error"),
        ({"limit": 0}, "limit", "greater_than_equal"),
        ({"q": "?!…"}, "q", "invalid"),
    ],
)
async def test_bad_list_input_is_a_clear_error(crm, run_command, payload, field, code):
    with pytest.raises(KithError) as info:
        await run_command("contact.list", payload)
    err = info.value
    assert err.code == "invalid_input"
    assert [(f.field, f.code) for f in err.fields] == [(field, code)]
    if field == "limit" and code == "value_error":
        assert "200" in err.fields[0].message


async def test_a_cursor_only_continues_its_own_query(crm, run_command):
    page = await run_command("contact.list", {"sort": "name", "limit": 2})
    with pytest.raises(KithError) as info:
        await run_command("contact.list", {"sort": "-name", "limit": 2, "cursor": page.next_cursor})
    assert info.value.fields[0].field == "cursor"
    tampered = page.next_cursor[:-2] + ("AA" if not page.next_cursor.endswith("AA") else "BB")
    with pytest.raises(KithError):
        await run_command("contact.list", {"sort": "name", "limit": 2, "cursor": tampered})
