"""Actions at run time: webhooks under the SSRF guard, templates in the sandbox, and a
refused action logged without undoing the steps before it."""

from __future__ import annotations

import json

from conftest import new_deal, runs_of
from local_http import LocalServer


def _webhook(url: str) -> dict:
    return {
        "name": "Tell billing",
        "when": "deal.created",
        "then": [
            {
                "call_webhook": {
                    "url": url,
                    "headers": {"Authorization": "Bearer s3cret"},
                    "body": {"deal": "{{ deal.title }}", "value": "{{ deal.value }}"},
                }
            }
        ],
    }


async def test_a_webhook_reaches_its_receiver_with_the_rendered_body(
    kith_app, run_command, run_jobs, sales
):
    kith_app.settings.webhooks_allow_private = True  # a local receiver, for development
    async with LocalServer() as server:
        await run_command(
            "automation.create", {"definition": _webhook(server.url), "enabled": True}
        )
        await new_deal(run_command, sales, "Initech — Pro", value="24000")
        await run_jobs()
    (request,) = server.requests
    assert request["method"] == "POST"
    assert json.loads(request["body"]) == {"deal": "Initech — Pro", "value": "24000.00"}
    assert request["headers"]["authorization"] == "Bearer s3cret"
    assert len(request["headers"]["x-kith-delivery"]) == 32
    (run,) = await runs_of(run_command, "Tell billing")
    assert run["steps"][-1]["status"] == 200


async def test_a_webhook_to_a_private_address_is_refused_and_logged(run_command, run_jobs, sales):
    async with LocalServer() as server:
        await run_command(
            "automation.create", {"definition": _webhook(server.url), "enabled": True}
        )
        await new_deal(run_command, sales, "Initech — Pro")
        await run_jobs()
    assert server.requests == []
    (run,) = await runs_of(run_command, "Tell billing")
    assert "private, loopback, link-local" in run["steps"][-1]["error"]


async def test_a_failing_receiver_is_retried_later(kith_app, run_command, run_jobs, clock, sales):
    kith_app.settings.webhooks_allow_private = True
    async with LocalServer() as server:
        server.status = 503
        await run_command(
            "automation.create", {"definition": _webhook(server.url), "enabled": True}
        )
        await new_deal(run_command, sales, "Initech — Pro")
        await run_jobs()
        server.status = 200
        clock.advance(minutes=2)
        await run_jobs()
    assert len(server.requests) == 2
    (run,) = await runs_of(run_command, "Tell billing")
    assert run["steps"][-1]["status"] == 200


SNEAKY = """
name: Sneaky template
when: deal.created
then:
  - create_task: {title: "First"}
  - create_task: {title: "{{ deal.__class__.__mro__ }}"}
"""


async def test_a_template_reaching_for_python_internals_fails_the_run_and_keeps_earlier_steps(
    run_command, run_jobs, events, sales
):
    await run_command("automation.create", {"definition": SNEAKY, "enabled": True})
    await new_deal(run_command, sales, "Initech")
    await run_jobs()
    (run,) = await runs_of(run_command, "Sneaky template")
    assert run["status"] == "failed"
    assert "unsafe" in run["error"]
    assert [e.data["record"]["title"] for e in events if e.name == "task.created"] == ["First"]


REFUSED = """
name: Assign to a stranger
when: deal.created
then:
  - create_task: {title: "Mine"}
  - create_task: {title: "Theirs", assignee: "nobody@example.com"}
  - create_task: {title: "Never"}
"""


async def test_a_refused_action_is_logged_with_its_reason_and_stops_the_run(
    kith_app, run_command, run_jobs, sales
):
    await run_command("automation.create", {"definition": REFUSED, "enabled": True})
    await new_deal(run_command, sales, "Initech")
    await run_jobs()
    (run,) = await runs_of(run_command, "Assign to a stranger")
    assert run["status"] == "failed"
    assert run["steps"][1]["error"].startswith("No user matches 'nobody@example.com'")
    assert run["error"].startswith("definition.then.1.create_task")
    titles = [r["title"] for r in await kith_app.db.fetch('SELECT "title" FROM "tasks"')]
    assert titles == ["Mine"]


LEAD_OWNER = """
name: Give leads to Ben
when: lead.created
if: {field: owner, empty: true}
then:
  - set_field: {field: owner, value: ben@example.com}
  - create_task: {title: "Call {{ lead.name }} ({{ lead.owner }})", assignee: owner}
"""


async def test_set_field_changes_the_record_and_later_steps_see_the_change(
    run_command, run_jobs, events, sales
):
    await run_command("automation.create", {"definition": LEAD_OWNER, "enabled": True})
    lead = await run_command("lead.create", {"name": "Jane Roe", "owner": None})
    await run_jobs()
    lead = await run_command("lead.get", {"lead": lead.id})
    assert lead.owner_id == sales.ben.user_id
    task = next(e.data["record"] for e in events if e.name == "task.created")
    assert task["title"] == "Call Jane Roe (Ben Boss)"
    assert task["assignee_id"] == sales.ben.user_id
    updated = next(e for e in events if e.name == "lead.updated")
    assert updated.actor.startswith("automation:")
