"""Commands: one transaction with history rows and outbox events, or nothing at all."""

from __future__ import annotations

import pytest
from kith import Actor, KithError
from kith.testing import count_rows


async def history_of(kith_app, entity: str, entity_id: int) -> list[dict]:
    marks = kith_app.db.statements.placeholders(2)
    return await kith_app.db.fetch(
        f'SELECT * FROM "history" WHERE "entity" = {marks[0]} '
        f'AND "entity_id" = {marks[1]} ORDER BY "id"',
        [entity, entity_id],
    )


async def test_creating_a_contact_leaves_one_history_row_and_one_event(
    kith_app, run_command, events
):
    before = await count_rows(kith_app, "history")
    contact = await run_command(
        "contact.create", {"name": "Ada Lovelace", "email": "ADA@Example.com"}
    )

    assert contact.name == "Ada Lovelace"
    assert contact.email == "ada@example.com"
    assert [e.email for e in contact.emails] == ["ada@example.com"]
    rows = await history_of(kith_app, "contact", contact.id)
    assert len(rows) == 1 and rows[0]["action"] == "created"
    assert await count_rows(kith_app, "history") == before + 1
    created = [e for e in events if e.name == "contact.created"]
    assert len(created) == 1
    assert created[0].entity_id == contact.id
    assert created[0].data["record"]["email"] == "ada@example.com"


async def test_update_records_before_and_after_of_each_changed_field(kith_app, run_command, events):
    contact = await run_command("contact.create", {"name": "Ada Lovelace", "phone": "+44 1"})
    updated = await run_command(
        "contact.update", {"contact": contact.id, "name": "Ada King", "phone": "+44 1"}
    )

    assert updated.name == "Ada King"
    rows = await history_of(kith_app, "contact", contact.id)
    assert rows[-1]["action"] == "updated"
    changes = rows[-1]["changes"]
    changes = changes if isinstance(changes, dict) else __import__("json").loads(changes)
    assert changes == {"name": ["Ada Lovelace", "Ada King"]}
    update_events = [e for e in events if e.name == "contact.updated"]
    assert [e.data["changes"] for e in update_events] == [{"name": ["Ada Lovelace", "Ada King"]}]
    assert not any(e.name == "contact.created" and e.entity_id != contact.id for e in events)


async def test_an_update_that_changes_nothing_writes_nothing(kith_app, run_command, events):
    contact = await run_command("contact.create", {"name": "Ada"})
    n_history = await count_rows(kith_app, "history")
    await run_command("contact.update", {"contact": contact.id, "name": "Ada"})
    assert await count_rows(kith_app, "history") == n_history
    assert not [e for e in events if e.name == "contact.updated"]


async def assert_nothing_written(kith_app, before: dict[str, int]) -> None:
    for table, n in before.items():
        assert await count_rows(kith_app, table) == n, f"{table} changed"


async def snapshot(kith_app) -> dict[str, int]:
    return {
        t: await count_rows(kith_app, t)
        for t in ("contacts", "contact_emails", "history", "outbox_events")
    }


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"name": "Ada", "nickname": "A"}, "nickname", "unknown_field"),
        ({"name": 42}, "name", "string_type"),
        ({}, "name", "missing"),
        ({"name": "Ada", "email": "not-an-email"}, "email", "value_error"),
        ({"name": "Ada", "lifecycle_stage": "alien"}, "lifecycle_stage", "literal_error"),
    ],
)
async def test_bad_input_names_the_field_and_writes_nothing(
    kith_app, run_command, payload, field, code
):
    before = await snapshot(kith_app)
    with pytest.raises(KithError) as info:
        await run_command("contact.create", payload)
    err = info.value
    assert err.code == "invalid_input"
    assert err.command == "contact.create"
    assert [(f.field, f.code) for f in err.fields] == [(field, code)]
    await assert_nothing_written(kith_app, before)


async def test_unknown_reference_is_an_error_naming_the_field(kith_app, run_command):
    before = await snapshot(kith_app)
    with pytest.raises(KithError) as info:
        await run_command("contact.create", {"name": "Ada", "owner": "nobody@example.com"})
    assert info.value.code == "not_found"
    assert info.value.fields[0].field == "owner"
    await assert_nothing_written(kith_app, before)


async def test_ambiguous_reference_lists_the_candidates(kith_app, run_command):
    await run_command("contact.create", {"name": "Jane Roe"})
    await run_command("contact.create", {"name": "Jane Doe"})
    with pytest.raises(KithError) as info:
        await run_command("activity.log", {"kind": "note", "body": "hi", "contact": "jane"})
    err = info.value
    assert err.code == "ambiguous"
    assert err.fields[0].field == "contact"
    assert sorted(c["label"] for c in err.candidates) == ["Jane Doe", "Jane Roe"]


async def test_a_viewer_may_not_write_and_nothing_is_written(kith_app, run_command, make_actor):
    viewer = await make_actor("viewer")
    before = await snapshot(kith_app)
    with pytest.raises(KithError) as info:
        await run_command("contact.create", {"name": "Ada"}, actor=viewer)
    assert info.value.code == "forbidden"
    assert info.value.status == 403
    await assert_nothing_written(kith_app, before)


async def test_a_viewer_may_read(kith_app, run_command, make_actor):
    viewer = await make_actor("viewer")
    contact = await run_command("contact.create", {"name": "Ada"})
    shown = await run_command("contact.get", {"contact": contact.id}, actor=viewer)
    assert shown.name == "Ada"


async def test_only_admins_manage_users(run_command, make_actor):
    manager = await make_actor("manager")
    with pytest.raises(KithError) as info:
        await run_command("user.create", {"email": "x@example.com", "name": "X"}, actor=manager)
    assert info.value.code == "forbidden"


async def test_a_write_to_an_archived_record_is_refused(kith_app, run_command):
    contact = await run_command("contact.create", {"name": "Ada"})
    await run_command("contact.archive", {"contact": contact.id})
    before = await snapshot(kith_app)
    with pytest.raises(KithError) as info:
        await run_command("contact.update", {"contact": contact.id, "name": "Ada King"})
    assert info.value.code == "archived"
    await assert_nothing_written(kith_app, before)
    restored = await run_command("contact.restore", {"contact": contact.id})
    assert restored.archived_at is None
    assert (
        await run_command("contact.update", {"contact": contact.id, "name": "Ada King"})
    ).name == "Ada King"


async def test_a_duplicate_email_is_refused_with_the_owner_named(kith_app, run_command):
    first = await run_command("contact.create", {"name": "Ada", "email": "ada@example.com"})
    before = await snapshot(kith_app)
    with pytest.raises(KithError) as info:
        await run_command(
            "contact.create", {"name": "Other", "emails": ["x@example.com", "Ada@Example.com"]}
        )
    assert info.value.code == "conflict"
    assert info.value.candidates == [{"id": first.id, "label": "Ada"}]
    await assert_nothing_written(kith_app, before)


async def test_a_failing_handler_rolls_back_every_row_of_the_command(kith_app, run_command):
    """A pipeline whose second stage repeats the first: the pipeline row and the first stage
    were inserted before the error, and must vanish with it."""
    before = {
        t: await count_rows(kith_app, t)
        for t in ("pipelines", "stages", "history", "outbox_events")
    }
    with pytest.raises(KithError) as info:
        await run_command(
            "pipeline.create", {"name": "Sales", "stages": [{"name": "Demo"}, {"name": "demo"}]}
        )
    assert info.value.fields[0].field == "stages.1.name"
    for table, n in before.items():
        assert await count_rows(kith_app, table) == n, table


async def test_money_is_stored_in_minor_units_and_shown_in_major(kith_app, run_command):
    await run_command(
        "pipeline.create",
        {"name": "Sales", "stages": [{"name": "Qualification", "probability": 20}]},
    )
    deal = await run_command(
        "deal.create", {"title": "Initech — Pro", "value": "24000.50", "currency": "eur"}
    )
    assert (deal.value, deal.currency, deal.value_minor) == ("24000.50", "EUR", 2400050)
    yen = await run_command("deal.create", {"title": "Tokyo", "value": "1200", "currency": "JPY"})
    assert yen.value_minor == 1200


@pytest.mark.parametrize(
    ("value", "currency", "field"),
    [
        ("-5", "EUR", "value"),
        ("ten", "EUR", "value"),
        ("10.001", "EUR", "value"),
        ("10", "EURO", "currency"),
    ],
)
async def test_bad_money_is_refused(kith_app, run_command, value, currency, field):
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "Qualification"}]})
    before = await count_rows(kith_app, "deals")
    with pytest.raises(KithError) as info:
        await run_command("deal.create", {"title": "X", "value": value, "currency": currency})
    assert info.value.fields[0].field == field
    assert await count_rows(kith_app, "deals") == before


async def test_people_resolve_users_by_email_slack_id_and_me(kith_app, run_command, make_actor):
    ana = await make_actor(
        "agent", email="ana@staff.example.com", name="Ana Lopez", slack_user_id="U024BE7LH"
    )
    by_email = await run_command("contact.create", {"name": "A", "owner": "ana@staff.example.com"})
    by_slack = await run_command("contact.create", {"name": "B", "owner": "<@U024BE7LH>"})
    by_me = await run_command("contact.create", {"name": "C", "owner": "me"}, actor=ana)
    assert by_email.owner_id == by_slack.owner_id == by_me.owner_id == ana.user_id


async def test_unknown_command_suggests_its_siblings(run_command):
    with pytest.raises(KithError) as info:
        await run_command("contact.explode", {})
    assert info.value.code == "unknown_command"
    assert "contact.create" in info.value.message


async def test_task_completed_by_command(run_command, events):
    task = await run_command("task.create", {"title": "Call Jane"})
    done = await run_command("task.complete", {"task": task.id})
    assert done.status == "done" and done.completed_at is not None
    assert [e.name for e in events if e.entity == "task"] == ["task.created", "task.completed"]


async def test_activity_log_links_the_contacts_organization(run_command):
    org = await run_command(
        "organization.create", {"name": "Initech", "domain": "https://www.Initech.io/about"}
    )
    assert org.domain == "initech.io"
    jane = await run_command(
        "contact.create",
        {"name": "Jane Roe", "email": "jane@initech.io", "organization": "initech.io"},
    )
    call = await run_command(
        "activity.log",
        {"kind": "call", "contact": "jane@initech.io", "duration": "20m", "body": "Wants a demo"},
    )
    assert call.duration_seconds == 1200
    assert call.contact_id == jane.id and call.organization_id == org.id


async def test_ticket_for_an_unknown_email_creates_the_requester(run_command, events):
    ticket = await run_command(
        "ticket.create", {"subject": "Invoices page 500", "requester": "Mia@Customer.com"}
    )
    contact = await run_command("contact.get", {"contact": "mia@customer.com"})
    assert ticket.requester_id == contact.id
    names = [e.name for e in events]
    assert names.index("contact.created") < names.index("ticket.created")


async def test_actor_label_is_recorded_in_history(kith_app, run_command, make_actor):
    agent = await make_actor("agent")
    slack_agent = Actor(user_id=agent.user_id, role="agent", via="slack:U1234567")
    contact = await run_command("contact.create", {"name": "Ada"}, actor=slack_agent)
    rows = await history_of(kith_app, "contact", contact.id)
    assert rows[0]["actor"] == f"slack:U1234567:user:{agent.user_id}"
    assert rows[0]["actor_user_id"] == agent.user_id
