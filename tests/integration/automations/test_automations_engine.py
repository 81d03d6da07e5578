"""The engine: durable waits across a restart, loops stopped, floods capped, versions kept,
and a dry run that shows exactly what the real run then does."""

from __future__ import annotations

import kith
import pytest
from conftest import EXAMPLE, WITHOUT_SALES, SalesStandIn, new_deal, runs_of
from kith.settings import PluginsFile, Settings
from kith.testing import count_rows


@pytest.fixture
def kith_plugins_file():
    return PluginsFile(
        enabled=dict(WITHOUT_SALES), settings={"automations": {"runs_per_record_per_hour": 3}}
    )


async def _enable_example(run_command):
    await run_command("automation.import", {"yaml": EXAMPLE})
    await run_command("automation.enable", {"automation": "Follow up qualified deals"})


async def test_a_run_waiting_when_kith_restarts_finishes_after_the_restart(
    kith_app, kith_db_url, run_command, run_jobs, clock, sales
):
    await _enable_example(run_command)
    deal = await new_deal(run_command, sales, "Initech — Pro")
    await run_command("test.move_deal", {"deal": deal.id, "stage": "Discovery"})
    await run_jobs()
    (run,) = await runs_of(run_command, "Follow up qualified deals")
    assert run["status"] == "waiting"

    await kith_app.stop()  # the process goes away in the middle of the wait
    seen: list[kith.Event] = []

    class Recorder:
        @kith.hookimpl
        def kith_on_event(self, event):
            seen.append(event)

    again = kith.Kith(
        Settings(database_url=kith_db_url, plugins_file="/nonexistent/plugins.toml"),
        clock=clock,
        plugins_file=PluginsFile(enabled=dict(WITHOUT_SALES)),
        extra_plugins=[("sales-stand-in", SalesStandIn()), ("recorder", Recorder())],
    )
    await again.start()
    try:
        clock.advance(days=3)
        assert await again.jobs.run_due() == 1
        await again.drain()
        posts = [e for e in seen if e.name == "automation.slack_post_requested"]
        assert [p.data["text"] for p in posts] == ["Initech — Pro is still in Discovery"]
        runs = await again.run("automation.runs", {}, kith.SYSTEM)
        assert runs.runs[0].status == "done"
    finally:
        await again.stop()


SELF_LOOP = """
name: Shout deal titles
when: deal.updated
then:
  - set_field: {field: title, value: "{{ deal.title }}!"}
"""


async def test_an_automation_retriggering_itself_is_stopped_at_the_depth_limit(
    run_command, run_jobs, sales
):
    await run_command("automation.create", {"definition": SELF_LOOP, "enabled": True})
    deal = await new_deal(run_command, sales, "Hooli")
    await run_command("deal.update", {"deal": deal.id, "title": "Hooli"})
    await run_command("deal.update", {"deal": deal.id, "title": "Hooli X"})
    for _ in range(6):
        await run_jobs()

    deal = await run_command("deal.get", {"deal": deal.id})
    assert deal.title == "Hooli X!!!"  # depth 1, 2, 3 ran; the 4th was stopped
    runs = await runs_of(run_command, "Shout deal titles")
    assert [r["status"] for r in reversed(runs)] == ["done", "done", "done", "stopped_loop"]
    assert [r["depth"] for r in reversed(runs)] == [1, 2, 3, 4]
    assert "max_depth 3" in runs[0]["error"]


TASK_ON_UPDATE = """
name: Note every change
when: deal.updated
then:
  - create_task: {title: "Look at {{ deal.title }}"}
"""


async def test_one_record_changed_in_a_burst_runs_an_automation_at_most_n_times_an_hour(
    run_command, run_jobs, clock, sales
):
    await run_command("automation.create", {"definition": TASK_ON_UPDATE, "enabled": True})
    deal = await new_deal(run_command, sales, "Umbrella")
    for i in range(6):
        await run_command("deal.update", {"deal": deal.id, "title": f"Umbrella {i}"})
    await run_jobs()
    runs = await runs_of(run_command, "Note every change")
    statuses = [r["status"] for r in reversed(runs)]
    assert statuses == ["done", "done", "done", "rate_limited"]  # logged once per window
    assert "already 3 runs" in runs[0]["error"]

    clock.advance(hours=1, minutes=1)
    await run_command("deal.update", {"deal": deal.id, "title": "Umbrella again"})
    await run_jobs()
    assert (await runs_of(run_command, "Note every change"))[0]["status"] == "done"


async def test_a_run_in_progress_finishes_on_the_version_it_started_with(
    run_command, run_jobs, clock, events, sales
):
    await _enable_example(run_command)
    deal = await new_deal(run_command, sales, "Initech — Pro")
    await run_command("test.move_deal", {"deal": deal.id, "stage": "Discovery"})
    await run_jobs()
    changed = EXAMPLE.replace("is still in Discovery", "needs a nudge")
    updated = await run_command(
        "automation.update", {"automation": "Follow up qualified deals", "definition": changed}
    )
    assert updated.version == 2 and updated.enabled
    clock.advance(days=3)
    await run_jobs()
    posts = [e.data["text"] for e in events if e.name == "automation.slack_post_requested"]
    assert posts == ["Initech — Pro is still in Discovery"]  # version 1's text

    other = await new_deal(run_command, sales, "Globex")
    await run_command("test.move_deal", {"deal": other.id, "stage": "Discovery"})
    await run_jobs()
    clock.advance(days=3)
    await run_jobs()
    posts = [e.data["text"] for e in events if e.name == "automation.slack_post_requested"]
    assert posts[-1] == "Globex needs a nudge"


async def test_dry_run_shows_exactly_the_immediate_actions_the_real_run_then_performs(
    run_command, run_jobs, sales
):
    await run_command("automation.import", {"yaml": EXAMPLE})  # disabled
    deal = await new_deal(run_command, sales, "Initech — Pro")
    await run_command("test.move_deal", {"deal": deal.id, "stage": "Discovery"})
    tasks_before = await run_command("automation.runs", {})
    assert tasks_before.runs == []

    dry = await run_command(
        "automation.dry_run", {"automation": "Follow up qualified deals", "events": 5}
    )
    (result,) = dry.results
    assert result["matched"] is True and result["status"] == "waiting"
    assert result["later"] == ["if stage equals Discovery", "post_to_slack"]
    assert await run_command("automation.runs", {}) == tasks_before  # nothing written

    await run_command("automation.enable", {"automation": "Follow up qualified deals"})
    await run_command("test.move_deal", {"deal": deal.id, "stage": "Qualification"})
    await run_command("test.move_deal", {"deal": deal.id, "stage": "Discovery"})
    await run_jobs()
    (run,) = await runs_of(run_command, "Follow up qualified deals")

    def immediate(steps):
        return [{k: s.get(k) for k in ("step", "action", "input", "wait", "until")} for s in steps]

    assert immediate(result["steps"]) == immediate(run["steps"])
    assert result["steps"][0]["input"] == {
        "title": "Book a demo for Initech — Pro",
        "assignee": "owner",
        "due": "+2 business days",
    }
    assert result["conditions"] == run["conditions"]


async def test_a_dry_run_writes_nothing(kith_app, run_command, sales):
    await run_command("automation.import", {"yaml": EXAMPLE})
    deal = await new_deal(run_command, sales, "Initech — Pro")
    await run_command("test.move_deal", {"deal": deal.id, "stage": "Discovery"})
    before = {t: await count_rows(kith_app, t) for t in ("tasks", "jobs", "automation_runs")}
    history = await count_rows(kith_app, "history")
    await run_command("automation.dry_run", {"automation": "Follow up qualified deals"})
    after = {t: await count_rows(kith_app, t) for t in ("tasks", "jobs", "automation_runs")}
    assert after == before
    assert await count_rows(kith_app, "history") == history


async def test_disabling_with_cancel_runs_stops_the_waiting_runs(
    run_command, run_jobs, clock, events, sales
):
    await _enable_example(run_command)
    deal = await new_deal(run_command, sales, "Initech — Pro")
    await run_command("test.move_deal", {"deal": deal.id, "stage": "Discovery"})
    await run_jobs()
    await run_command(
        "automation.disable", {"automation": "Follow up qualified deals", "cancel_runs": True}
    )
    clock.advance(days=3)
    await run_jobs()
    assert not [e for e in events if e.name == "automation.slack_post_requested"]
    (run,) = await runs_of(run_command, "Follow up qualified deals")
    assert run["status"] == "cancelled"
