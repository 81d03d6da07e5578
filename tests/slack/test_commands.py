"""``/kith`` verbs over signed Slack requests: each verb runs its command as the linked user."""

from __future__ import annotations

import asyncio

import pytest
from kith.testing import count_rows

from .conftest import text_of


@pytest.fixture
async def sales(run_command, ana):
    await run_command(
        "pipeline.create",
        {
            "name": "Sales",
            "is_default": True,
            "stages": [
                {"name": "Qualification", "probability": 20},
                {"name": "Proposal", "probability": 60},
                {"name": "Won", "probability": 100, "kind": "won"},
                {"name": "Lost", "probability": 0, "kind": "lost"},
            ],
        },
    )
    org = await run_command("organization.create", {"name": "Acme", "domain": "acme.example"})
    deal = await run_command(
        "deal.create",
        {"title": "Acme renewal", "value": "12000", "organization": org.id, "owner": ana.user_id},
    )
    return deal


async def test_deal_move_by_title_and_stage_prefix(slack, sales, run_command, kith_app):
    answer = await slack.command('deal move "Acme renewal" prop')
    assert answer.status_code == 200
    assert "Moved" in text_of(answer) and "Acme renewal" in text_of(answer)
    assert "stage: Proposal" in text_of(answer)
    assert "https://kith.example.com/admin/deals/" in text_of(answer)
    deal = await run_command("deal.get", {"deal": sales.id})
    assert deal.stage_id != sales.stage_id
    rows = await kith_app.db.fetch(
        'SELECT "actor" FROM "history" WHERE "entity" = \'deal\' AND "command" = \'deal.move\''
    )
    assert rows and all(r["actor"].startswith("slack:UANA0001") for r in rows)


async def test_lead_with_company_and_source(slack, ana, run_command):
    line = "lead Ada Lovelace ada@analytical.example Analytical Engines #webinar"
    answer = await slack.command(line)
    assert "Captured" in text_of(answer), text_of(answer)
    leads = (await run_command("lead.list", {"q": "Lovelace"})).items
    assert len(leads) == 1 and leads[0].source == "webinar"


async def test_call_on_a_contact_then_on_a_deal_by_title(slack, sales, run_command):
    await run_command("contact.create", {"name": "Jane Roe", "email": "jane@acme.example"})
    on_contact = await slack.command('call jane@acme.example "Talked pricing" 20m')
    assert "Logged" in text_of(on_contact), text_of(on_contact)
    on_deal = await slack.command('call "Acme renewal" Budget approved for Q3')
    assert "Logged" in text_of(on_deal), text_of(on_deal)
    calls = (await run_command("activity.list", {"filter": {"kind": "call"}})).items
    assert {c.duration_seconds for c in calls} == {1200, None}
    assert {bool(c.contact_id) for c in calls} == {True, False}
    assert any(c.deal_id == sales.id for c in calls)


async def test_task_due_tomorrow_in_the_users_time_zone(slack, ana, run_command, clock):
    await run_command("user.update", {"user": ana.user_id, "time_zone": "Europe/Paris"})
    answer = await slack.command("task Send the Initech quote due tomorrow 9am")
    assert "Created" in text_of(answer), text_of(answer)
    (task,) = (await run_command("task.list", {})).items
    local = task.due_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (9, 0)
    assert (local.date() - clock.now().astimezone(local.tzinfo).date()).days == 1


async def test_find_and_help(slack, ana, run_command):
    await run_command("contact.create", {"name": "Ada Lovelace", "email": "ada@example.com"})
    found = await slack.command("find lovelace")
    assert "Ada Lovelace" in text_of(found)
    helped = await slack.command("help")
    assert "deal move <deal> <stage>" in text_of(helped)
    one = await slack.command("help deal")
    assert "deal lost <deal> <reason>" in text_of(one)


async def test_ticket_new_and_claim(slack, ana, run_command):
    opened = await slack.command("ticket new jane@initech.example Printer on fire")
    assert "Created" in text_of(opened), text_of(opened)
    (ticket,) = (await run_command("ticket.list", {})).items
    claimed = await slack.command(f"ticket claim {ticket.id}")
    assert "Assigned" in text_of(claimed), text_of(claimed)
    assert (await run_command("ticket.get", {"ticket": ticket.id})).assignee_id == ana.user_id


# ---- errors ------------------------------------------------------------------------------------


async def test_a_line_that_is_not_enough_names_the_part_and_the_syntax(slack, sales, kith_app):
    before = await count_rows(kith_app, "history")
    answer = await slack.command("deal move 42")
    assert "stage: is missing" in text_of(answer)
    assert "deal move <deal> <stage>" in text_of(answer)
    unknown = await slack.command("frobnicate")
    assert "'frobnicate' is not a verb" in text_of(unknown)
    bad_date = await slack.command("task call back due someday")
    assert "due:" in text_of(bad_date) and "tomorrow 9am" in text_of(bad_date)
    assert await count_rows(kith_app, "history") == before


async def test_a_command_error_names_the_field(slack, sales, kith_app):
    answer = await slack.command('deal lost "Acme renewal" ' + "x" * 300)
    assert "reason" in text_of(answer)
    missing = await slack.command("deal move 999999 won")
    assert ":warning:" in text_of(missing) and "999999" in text_of(missing)


async def test_an_ambiguous_deal_answers_with_buttons_that_run_as_the_clicker(
    slack, sales, run_command, ana
):
    other = await run_command("deal.create", {"title": "Acme expansion", "owner": ana.user_id})
    answer = await slack.command("deal move Acme proposal")
    blocks = answer.json()["blocks"]
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    labels = {e["text"]["text"] for e in actions["elements"]}
    assert labels == {"Acme renewal", "Acme expansion"}
    button = next(e for e in actions["elements"] if e["text"]["text"] == "Acme expansion")
    clicked = await slack.click("UANA0001", button)
    assert clicked.status_code == 200
    for _ in range(50):
        if slack.stand_in.called("click"):
            break
        await asyncio.sleep(0.05)
    assert "Moved" in slack.stand_in.called("click")[0]["text"]
    moved = await run_command("deal.get", {"deal": other.id})
    assert moved.stage_id != sales.stage_id
    # the same click delivered twice moves nothing twice
    before = len((await run_command("deal.timeline", {"deal": other.id})).items)
    await slack.click("UANA0001", button)
    await asyncio.sleep(0.2)
    assert len((await run_command("deal.timeline", {"deal": other.id})).items) == before


# ---- safety ------------------------------------------------------------------------------------


async def test_bad_signature_and_stale_timestamp_are_refused(slack, ana, kith_app):
    import time

    forged = await slack.command("lead Eve eve@evil.example", secret="not-the-secret")
    assert forged.status_code == 401
    stale = await slack.command("lead Eve eve@evil.example", timestamp=int(time.time()) - 6 * 60)
    assert stale.status_code == 401
    assert await count_rows(kith_app, "leads") == 0


async def test_an_unlinked_user_can_only_link(slack, ana, make_actor, run_command, kith_app):
    answer = await slack.command("lead Eve eve@x.example", user="UBOB0002")
    assert "not linked" in text_of(answer) and "/kith link" in text_of(answer)
    assert await count_rows(kith_app, "leads") == 0
    bob = await make_actor("agent", email="bob@kith.example", name="Bob")
    slack.stand_in.emails["UBOB0002"] = "bob@kith.example"
    linked = await slack.command("link", user="UBOB0002")
    assert "Linked" in text_of(linked)
    assert (await run_command("user.get", {"user": bob.user_id})).slack_user_id == "UBOB0002"
    assert slack.stand_in.called("users.info")[-1]["user"] == "UBOB0002"


async def test_a_viewer_cannot_move_deals(slack, sales, make_actor, run_command):
    viewer = await make_actor("viewer", email="vic@kith.example", name="Vic")
    await run_command("user.update", {"user": viewer.user_id, "slack_user_id": "UVIC0003"})
    answer = await slack.command('deal move "Acme renewal" proposal', user="UVIC0003")
    assert "may not" in text_of(answer)
    assert (await run_command("deal.get", {"deal": sales.id})).stage_id == sales.stage_id


async def test_a_user_is_rate_limited(slack, ana, slack_settings):
    for _ in range(30):
        await slack.command("help")
    limited = await slack.command("help")
    assert "Slow down" in text_of(limited)
