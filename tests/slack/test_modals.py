"""A line that is not enough opens a form pre-filled with what was typed; the form's
submission runs the same command, and a refused field is marked on the form."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from kith.testing import count_rows

from .conftest import text_of


def opened_view(slack_api) -> dict:
    (call,) = slack_api.called("views.open")
    view = call["view"]
    return view if isinstance(view, dict) else json.loads(view)


def prefilled(view: dict) -> dict[str, str | None]:
    return {
        b["block_id"]: b["element"].get("initial_value")
        for b in view["blocks"]
        if b["type"] == "input"
    }


async def until_called(slack_api, method: str) -> list[dict]:
    for _ in range(60):
        if slack_api.called(method):
            break
        await asyncio.sleep(0.05)
    return slack_api.called(method)


async def test_a_lead_without_an_email_opens_a_form_with_what_was_typed(
    slack, slack_api, ana, run_command, kith_app
):
    answer = await slack.command("lead Ada Lovelace #webinar")
    assert answer.status_code == 200 and text_of(answer) == ""  # the form says it all
    view = opened_view(slack_api)
    assert view["title"]["text"] == "New lead"
    assert prefilled(view) == {
        "name": "Ada Lovelace",
        "email": None,
        "company": None,
        "source": "webinar",
    }
    assert "email" in json.dumps(view["blocks"][0])  # the form says what was missing

    before = await count_rows(kith_app, "leads")
    refused = await slack.submit(
        "UANA0001", view, {"name": "Ada Lovelace", "email": "ada at home", "source": "webinar"}
    )
    assert refused.json()["response_action"] == "errors"
    assert set(refused.json()["errors"]) == {"email"}
    assert await count_rows(kith_app, "leads") == before

    accepted = await slack.submit(
        "UANA0001",
        view,
        {"name": "Ada Lovelace", "email": "ada@analytical.example", "company": "Analytical"},
    )
    assert accepted.status_code == 200 and not accepted.content  # the form closes
    (shown,) = await until_called(slack_api, "chat.postEphemeral")
    assert shown["user"] == "UANA0001" and "Ada Lovelace" in shown["text"]
    leads = await run_command("lead.list", {"q": "Lovelace"})
    assert [lead.email for lead in leads.items] == ["ada@analytical.example"]


async def test_a_task_form_reads_due_in_my_time_zone_and_marks_a_bad_date(
    slack, slack_api, ana, run_command
):
    await run_command("user.update", {"user": ana.user_id, "time_zone": "Europe/Paris"})
    await slack.command("task")
    view = opened_view(slack_api)
    assert prefilled(view) == {"title": None, "due": None}

    refused = await slack.submit("UANA0001", view, {"title": "Call Initech", "due": "someday"})
    assert list(refused.json()["errors"]) == ["due"]

    await slack.submit("UANA0001", view, {"title": "Call Initech", "due": "tomorrow 9am"})
    (task,) = (await run_command("task.list", {"q": "Initech"})).items
    # the frozen clock says Monday 5 January 2026; 9am in Paris is 08:00 UTC
    assert task.due_at == datetime(2026, 1, 6, 8, 0, tzinfo=ZoneInfo("UTC"))


async def test_a_call_form_logs_on_the_deal_named_and_lines_that_are_wrong_still_explain(
    slack, slack_api, ana, run_command, kith_app
):
    await run_command(
        "pipeline.create",
        {"name": "Sales", "is_default": True, "stages": [{"name": "Qualification"}]},
    )
    deal = await run_command("deal.create", {"title": "Initech renewal"})
    await slack.command(f"call deal:{deal.id}")
    view = opened_view(slack_api)
    assert prefilled(view)["record"] == f"deal:{deal.id}"
    typed = {"record": f"deal:{deal.id}", "notes": "Budget is signed", "duration": "20m"}
    await slack.submit("UANA0001", view, typed)
    timeline = await run_command("deal.timeline", {"deal": deal.id})
    items = [json.dumps(item.model_dump(mode="json")) for item in timeline.items]
    assert any("Budget is signed" in item and "1200" in item for item in items)

    # a wrong word (not a missing one) answers with the reason, as before: no form
    bad = await slack.command("task call back due someday")
    assert "due:" in text_of(bad)
    assert len(slack_api.called("views.open")) == 1


async def test_an_unlinked_user_cannot_submit_a_form(slack, slack_api, ana, kith_app):
    await slack.command("lead Ada")
    view = opened_view(slack_api)
    before = await count_rows(kith_app, "leads")
    refused = await slack.submit("UNOBODY01", view, {"name": "Ada", "email": "ada@x.example"})
    assert "link" in json.dumps(refused.json()["errors"]).lower()
    assert await count_rows(kith_app, "leads") == before
