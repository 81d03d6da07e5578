"""Personal notifications: ``/kith notify`` choices, DMs on mentions and assignment, the
morning digest in the user's own time zone, and Slack retries handled once across
processes."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from kith.web import create_app

from .conftest import SlackClient, text_of

UTC = ZoneInfo("UTC")


@pytest.fixture
async def ben(make_actor, run_command):
    """Ben, a sales agent, linked to Slack user UBEN0001."""
    actor = await make_actor("agent", email="ben@kith.example", name="Ben Okafor")
    await run_command("user.update", {"user": actor.user_id, "slack_user_id": "UBEN0001"})
    return actor


@pytest.fixture
async def pipeline(run_command):
    return await run_command(
        "pipeline.create",
        {
            "name": "Sales",
            "is_default": True,
            "stages": [{"name": "Qualification", "rotting_days": 1}, {"name": "Proposal"}],
        },
    )


def dms_to(slack_api, user: str) -> list[dict]:
    return [p for p in slack_api.called("chat.postMessage") if p["channel"] == user]


async def test_notify_shows_and_changes_my_choices_with_clear_errors(
    slack, ana, run_command, kith_app
):
    shown = text_of(await slack.command("notify"))
    assert "assignments on" in shown and "mentions on" in shown and "digest off" in shown

    changed = text_of(await slack.command("notify digest 7:30 am mentions off"))
    assert "07:30 UTC" in changed and "mentions off" in changed
    assert "(next Tue 06 Jan 07:30)" in changed  # the clock says Monday 09:00 UTC

    bad = text_of(await slack.command("notify digest 25:00"))
    assert "digest" in bad and "not a time" in bad
    odd = text_of(await slack.command("notify loudly on"))
    assert "assigned, mentions or digest" in odd
    again = await run_command("slack.notify_get", {"user": ana.user_id})
    assert (again.digest_at, again.mentions, again.assigned) == ("07:30", False, True)

    timeline = await run_command("user.timeline", {"user": ana.user_id})
    changes = [i for i in timeline.items if "slack_notifications_changed" in str(i)]
    assert len(changes) == 1


async def test_an_agent_may_not_choose_for_someone_else(ana, ben, kith_app):
    import kith

    with pytest.raises(kith.KithError) as refused:
        await kith_app.run("slack.notify_set", {"user": ben.user_id, "assigned": False}, ana)
    assert refused.value.code == "forbidden"


async def test_a_note_mentioning_someone_or_their_record_sends_them_a_dm(
    slack, slack_api, ana, ben, pipeline, run_command, kith_app
):
    deal = await run_command("deal.create", {"title": "Globex Pro", "owner": ben.user_id})
    other = await run_command("deal.create", {"title": "Initech", "owner": ana.user_id})
    # Slack writes a typed @mention as <@U…|name>
    await slack.command(f"note deal:{other.id} <@UBEN0001|ben> can you join the call?")
    await kith_app.drain()
    (dm,) = dms_to(slack_api, "UBEN0001")
    assert "mentions you" in dm["text"] and "can you join the call?" in dm["text"]
    assert f"deal #{other.id}" in dm["text"]

    await slack.command(f"note deal:{other.id} Same blocker as @deal:{deal.id}")
    await kith_app.drain()
    assert "your deal Globex Pro" in dms_to(slack_api, "UBEN0001")[-1]["text"]
    assert dms_to(slack_api, "UANA0001") == []  # Ana wrote them: nothing for her

    # unescaped, as Slack sends a slash command's text: a first name or an email's name
    await slack.command(f"note deal:{other.id} @Ben please call them. @nobody knows.")
    await kith_app.drain()
    assert len(dms_to(slack_api, "UBEN0001")) == 3

    await kith_app.run("slack.notify_set", {"mentions": False}, ben)
    await slack.command(f"note deal:{other.id} <@UBEN0001> again")
    await kith_app.drain()
    assert len(dms_to(slack_api, "UBEN0001")) == 3


async def test_assignment_dms_can_be_turned_off(slack, slack_api, ana, run_command, kith_app):
    await slack.command("notify assigned off")
    ticket = await run_command(
        "ticket.create", {"subject": "Cannot log in", "requester": "joe@globex.example"}
    )
    await run_command("ticket.assign", {"ticket": ticket.id, "assignee": ana.user_id})
    await kith_app.drain()
    assert dms_to(slack_api, "UANA0001") == []


async def test_the_morning_digest_arrives_at_my_time_in_my_zone(
    slack, slack_api, ana, pipeline, run_command, run_jobs, kith_app
):
    await run_command("user.update", {"user": ana.user_id, "time_zone": "Europe/Paris"})
    await slack.command("notify digest 8am")
    got = await run_command("slack.notify_get", {"user": ana.user_id})
    assert got.next_digest_at == datetime(2026, 1, 6, 7, 0, tzinfo=UTC)  # 08:00 in Paris

    await run_command("deal.create", {"title": "Stale Globex", "owner": ana.user_id})
    kith_app.clock.advance(hours=48)
    await run_command("deal.create", {"title": "Fresh Initech", "owner": ana.user_id})
    await run_command(
        "task.create",
        {"title": "Send the quote", "due": "2026-01-08T14:00:00Z", "assignee": ana.user_id},
    )
    await run_command(
        "task.create",
        {"title": "Friday review", "due": "2026-01-09T14:00:00Z", "assignee": ana.user_id},
    )
    kith_app.clock.advance(hours=22)  # Thursday 07:00 UTC, 08:00 in Paris
    await run_jobs()
    (digest,) = dms_to(slack_api, "UANA0001")
    text = str(digest["blocks"])
    assert "Tasks due today" in text and "15:00" in text and "Send the quote" in text
    assert "Friday review" not in text
    assert "Deals rotting" in text and "Stale Globex" in text and "Fresh Initech" not in text
    after = await run_command("slack.notify_get", {"user": ana.user_id})
    assert after.next_digest_at == datetime(2026, 1, 9, 7, 0, tzinfo=UTC)

    await slack.command("notify digest off")
    kith_app.clock.advance(days=1)
    await run_jobs()
    assert len(dms_to(slack_api, "UANA0001")) == 1


async def test_a_new_time_zone_moves_the_digest(ana, run_command, kith_app):
    await kith_app.run("slack.notify_set", {"digest": "08:00"}, ana)
    await run_command("user.update", {"user": ana.user_id, "time_zone": "America/New_York"})
    await kith_app.drain()
    got = await run_command("slack.notify_get", {"user": ana.user_id})
    assert got.next_digest_at == datetime(2026, 1, 5, 13, 0, tzinfo=UTC)  # 08:00 in New York


async def test_a_retried_mention_reaching_another_process_is_answered_once(
    slack, slack_api, ana, kith_app
):
    event = {"type": "app_mention", "user": "UANA0001", "text": "<@UBOT> hi", "ts": "2.5",
             "channel": "CSALES001"}  # fmt: skip
    await slack.event(event, "Ev0002")
    # a second Kith process (its own bolt app, the same database) gets Slack's retry
    other = create_app(kith_app, manage_lifecycle=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://kith.test"
    ) as http:
        retried = await SlackClient(http, slack_api).event(event, "Ev0002", retry=1)
    assert retried.status_code == 200
    await asyncio.sleep(0.3)
    replies = [p for p in slack_api.called("chat.postMessage") if p.get("thread_ts") == "2.5"]
    assert len(replies) == 1
