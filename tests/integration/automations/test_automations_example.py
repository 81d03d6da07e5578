"""The issue's example, imported as written, end to end with the clock moved forward."""

from __future__ import annotations

from datetime import datetime

from conftest import EXAMPLE, new_deal, runs_of


async def test_a_deal_entering_discovery_gets_a_demo_task_and_a_slack_nudge_three_days_later(
    run_command, run_jobs, clock, events, sales
):
    imported = await run_command("automation.import", {"yaml": EXAMPLE})
    assert imported.results[0]["result"] == "created"
    assert imported.results[0]["enabled"] is False  # imported disabled
    await run_command("automation.enable", {"automation": "Follow up qualified deals"})

    deal = await new_deal(run_command, sales, "Initech — Pro", value="24000")
    await run_command("test.move_deal", {"deal": deal.id, "stage": "Discovery"})
    await run_jobs()

    tasks = [e for e in events if e.name == "task.created"]
    assert len(tasks) == 1
    task = tasks[0].data["record"]
    assert task["title"] == "Book a demo for Initech — Pro"
    assert task["assignee_id"] == sales.ana.user_id
    # Monday 09:00 + 2 business days = Wednesday 09:00
    assert datetime.fromisoformat(task["due_at"]).isoformat() == "2026-01-07T09:00:00+00:00"
    assert task["record_type"] == "deal" and task["record_id"] == deal.id
    assert tasks[0].actor.startswith("automation:")
    assert not [e for e in events if e.name == "automation.slack_post_requested"]

    clock.advance(days=2, hours=23)
    assert await run_jobs() == 0  # still waiting
    clock.advance(hours=1)
    await run_jobs()
    posts = [e for e in events if e.name == "automation.slack_post_requested"]
    assert len(posts) == 1
    assert posts[0].data["channel"] == "#sales"
    assert posts[0].data["text"] == "Initech — Pro is still in Discovery"

    (run,) = await runs_of(run_command, "Follow up qualified deals")
    assert run["status"] == "done"
    assert [c["field"] for c in run["conditions"]] == ["stage", "value"]
    assert run["conditions"][0]["actual"] == "Discovery"
    assert run["conditions"][1]["actual"] == "24000.00"
    kinds = [s.get("action") or ("wait" if "wait" in s else "if") for s in run["steps"]]
    assert kinds == ["create_task", "wait", "if", "post_to_slack"]


async def test_a_deal_that_moves_on_during_the_wait_gets_no_slack_nudge(
    run_command, run_jobs, clock, events, sales
):
    await run_command("automation.import", {"yaml": EXAMPLE})
    await run_command("automation.enable", {"automation": "Follow up qualified deals"})
    deal = await new_deal(run_command, sales, "Globex")
    await run_command("test.move_deal", {"deal": deal.id, "stage": "Discovery"})
    await run_jobs()
    clock.advance(days=1)
    await run_command("test.move_deal", {"deal": deal.id, "stage": "Proposal"})
    clock.advance(days=2)
    await run_jobs()

    assert not [e for e in events if e.name == "automation.slack_post_requested"]
    (run,) = await runs_of(run_command, "Follow up qualified deals")
    assert run["status"] == "done"
    branch = run["steps"][-1]
    assert branch["result"] is False
    assert branch["conditions"][0]["actual"] == "Proposal"  # re-checked on the record as it is now


async def test_small_deals_and_other_stages_do_not_start_a_run(run_command, run_jobs, sales):
    await run_command("automation.import", {"yaml": EXAMPLE})
    await run_command("automation.enable", {"automation": "Follow up qualified deals"})
    small = await new_deal(run_command, sales, "Tiny", value="500")
    await run_command("test.move_deal", {"deal": small.id, "stage": "Discovery"})
    big = await new_deal(run_command, sales, "Big")
    await run_command("test.move_deal", {"deal": big.id, "stage": "Proposal"})
    await run_jobs()
    assert await runs_of(run_command, "Follow up qualified deals") == []
