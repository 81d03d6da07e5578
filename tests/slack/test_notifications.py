"""Notifications: events posted to their Slack channels with buttons; DMs on assignment."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from kith.web import create_app

from .conftest import text_of


@pytest.fixture
def slack_settings(slack_api):
    return {
        "signing_secret": "8f742231b10e8888abcd99yyyzzz85a5",
        "bot_token": "xoxb-test-token",
        "api_url": slack_api.api_url,
        "public_url": "https://kith.example.com",
        "notify": {
            "ticket.created": "CSUPPORT1",
            "deal.won": "CSALES001",
            "deal.rotting": "CSALES001",
        },
    }


async def test_a_new_ticket_is_posted_with_a_claim_button_that_runs_as_the_clicker(
    slack, slack_api, ana, run_command, kith_app
):
    ticket = await run_command(
        "ticket.create", {"subject": "Printer on fire", "requester": "jane@initech.example"}
    )
    await kith_app.drain()
    (posted,) = [p for p in slack_api.called("chat.postMessage") if p["channel"] == "CSUPPORT1"]
    assert "Printer on fire" in posted["text"]
    blocks = blocks_of(posted)
    (claim,) = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert claim["text"]["text"] == "Claim"

    clicked = await slack.click("UANA0001", claim, message_ts="1700000000.000100")
    assert clicked.status_code == 200
    for _ in range(50):
        if slack_api.called("click"):
            break
        await asyncio.sleep(0.05)
    assert "Assigned" in slack_api.called("click")[0]["text"]
    assert (await run_command("ticket.get", {"ticket": ticket.id})).assignee_id == ana.user_id


async def test_a_won_deal_is_posted_to_the_sales_channel(slack_api, ana, run_command, kith_app):
    await run_command(
        "pipeline.create",
        {
            "name": "Sales",
            "is_default": True,
            "stages": [{"name": "Demo"}, {"name": "Won", "probability": 100, "kind": "won"}],
        },
    )
    deal = await run_command("deal.create", {"title": "Globex Pro", "value": "9000"})
    await run_command("deal.won", {"deal": deal.id})
    await kith_app.drain()
    (posted,) = [p for p in slack_api.called("chat.postMessage") if p["channel"] == "CSALES001"]
    assert "deal.won" in posted["text"] and "Globex Pro" in posted["text"]
    assert "9000" in posted["text"]


async def test_a_rotting_deal_is_posted_with_move_and_snooze_buttons(
    slack, slack_api, ana, run_command, run_jobs, kith_app
):
    await run_command(
        "pipeline.create",
        {
            "name": "Sales",
            "is_default": True,
            "stages": [
                {"name": "Demo", "rotting_days": 2},
                {"name": "Lost", "probability": 0, "kind": "lost"},
                {"name": "Proposal", "probability": 60},
            ],
        },
    )
    deal = await run_command("deal.create", {"title": "Globex Pro", "owner": ana.user_id})
    kith_app.clock.advance(days=3)
    await run_jobs()
    await kith_app.drain()
    posts = [p for p in slack_api.called("chat.postMessage") if p["channel"] == "CSALES001"]
    # two nudges: no next step planned, and three days in Demo without activity
    assert sorted("no next step" in p["text"] for p in posts) == [False, True]
    (posted,) = [p for p in posts if "3 days in Demo without activity" in p["text"]]
    assert "deal.rotting" in posted["text"] and "Globex Pro" in posted["text"]
    move, snooze = next(b for b in blocks_of(posted) if b["type"] == "actions")["elements"]
    assert move["text"]["text"] == "Move to Proposal"  # the next open stage, not Lost
    assert snooze["text"]["text"] == "Snooze to Mon 12 Jan"  # Sunday is no working day

    await slack.click("UANA0001", snooze, message_ts="1700000000.000200")
    await slack.click("UANA0001", move, message_ts="1700000000.000200")
    for _ in range(60):
        if len(slack_api.called("click")) == 2:
            break
        await asyncio.sleep(0.05)
    moved = await run_command("deal.get", {"deal": deal.id})
    stage = await run_command("stage.get", {"stage": moved.stage_id})
    assert stage.name == "Proposal"
    task = await run_command("task.get", {"task": json.loads(snooze["value"])["p"]["task"]})
    assert task.due_at.date().isoformat() == "2026-01-12"
    timeline = await run_command("deal.timeline", {"deal": deal.id})
    assert any("slack:UANA0001" in str(item) for item in timeline.items)


async def test_the_owner_gets_a_dm_when_a_ticket_is_assigned_to_them(
    slack_api, ana, admin, run_command, kith_app
):
    ticket = await run_command(
        "ticket.create", {"subject": "Cannot log in", "requester": "joe@globex.example"}
    )
    await run_command("ticket.assign", {"ticket": ticket.id, "assignee": ana.user_id})
    await kith_app.drain()
    dms = [p for p in slack_api.called("chat.postMessage") if p["channel"] == "UANA0001"]
    assert len(dms) == 1 and "Cannot log in" in dms[0]["text"]


async def test_a_mention_is_answered_once_even_when_slack_retries(slack, slack_api, ana):
    event = {"type": "app_mention", "user": "UANA0001", "text": "<@UBOT> hi", "ts": "1.5",
             "channel": "CSALES001"}  # fmt: skip
    first = await slack.event(event, "Ev0001")
    again = await slack.event(event, "Ev0001", retry=1)
    assert first.status_code == 200 and again.status_code == 200
    for _ in range(50):
        if slack_api.called("chat.postMessage"):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    replies = [p for p in slack_api.called("chat.postMessage") if p.get("thread_ts") == "1.5"]
    assert len(replies) == 1 and "/kith help" in replies[0]["text"]


def blocks_of(posted):
    """Blocks as the Web API received them (a JSON list, or a JSON string in a form post)."""
    blocks = posted["blocks"]
    return blocks if isinstance(blocks, list) else json.loads(blocks)


async def test_a_slow_command_is_acked_at_once_and_answers_through_response_url(
    slack, slack_api, ana, kith_app, monkeypatch
):
    real_run = kith_app.run

    async def slow_run(name, payload, actor, **kwargs):
        if name == "find":
            await asyncio.sleep(0.5)
        return await real_run(name, payload, actor, **kwargs)

    monkeypatch.setattr(kith_app, "run", slow_run)
    settings = kith_app.plugin_settings("slack")
    monkeypatch.setattr(settings, "answer_within_s", 0.1)  # a fresh bolt app below reads it
    transport = httpx.ASGITransport(app=create_app(kith_app, manage_lifecycle=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as http:
        slack.http = http
        acked = await slack.command("find lovelace")
    assert "Working on it" in text_of(acked)
    for _ in range(60):
        if slack_api.called("r1"):
            break
        await asyncio.sleep(0.05)
    (answer,) = slack_api.called("r1")
    assert "Nothing found" in answer["text"]


async def test_an_answer_after_the_response_url_expired_arrives_by_dm(
    slack, slack_api, ana, kith_app, monkeypatch
):
    real_run = kith_app.run

    async def slow_run(name, payload, actor, **kwargs):
        if name == "find":
            await asyncio.sleep(0.3)
            kith_app.clock.advance(minutes=31)  # Slack no longer takes the response_url
        return await real_run(name, payload, actor, **kwargs)

    monkeypatch.setattr(kith_app, "run", slow_run)
    settings = kith_app.plugin_settings("slack")
    monkeypatch.setattr(settings, "answer_within_s", 0.1)
    transport = httpx.ASGITransport(app=create_app(kith_app, manage_lifecycle=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as http:
        slack.http = http
        acked = await slack.command("find lovelace")
    assert "Working on it" in text_of(acked)
    for _ in range(60):
        if slack_api.called("chat.postMessage"):
            break
        await asyncio.sleep(0.05)
    (dm,) = slack_api.called("chat.postMessage")
    assert dm["channel"] == "UANA0001"
    assert "Nothing found" in dm["text"]
    assert slack_api.called("r1") == []
