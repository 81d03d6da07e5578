"""Triggers beyond events: "matches for N days" (the shipped Proposal reminder) and
schedules; and the defaults Kith ships."""

from __future__ import annotations

import pytest
from conftest import new_deal, runs_of
from kith import KithError
from kith.automations.yaml_io import default_automations

PROPOSAL = "Remind about deals in Proposal for 14 days"


async def test_the_defaults_import_disabled_and_say_which_plugin_they_need(run_command):
    result = await run_command("automation.import", {"yaml": default_automations()})
    by_name = {r["name"]: r for r in result.results}
    assert len(by_name) == 3 and not any(r["enabled"] for r in by_name.values())
    lead = by_name["Assign new leads and contact them within 4 hours"]
    assert "needs plugin sales" in lead["problems"][0]["message"]
    ticket = by_name["Remind customers of pending tickets, then solve them"]
    assert {p["message"].split(":")[0] for p in ticket["problems"]} == {
        "needs plugin email",
        "needs plugin service",
    }
    assert by_name[PROPOSAL]["problems"] == []

    with pytest.raises(KithError) as info:
        await run_command("automation.enable", {"automation": lead["id"]})
    assert info.value.code == "needs_plugin"
    assert "needs plugin sales" in info.value.message
    assert info.value.fields[0].field == "definition.then.0.assign_by_rule"


async def test_a_deal_in_proposal_for_14_days_reminds_its_owner_then_their_manager(
    run_command, run_jobs, clock, events, sales
):
    await run_command("automation.import", {"yaml": default_automations()})
    await run_command("automation.enable", {"automation": PROPOSAL})
    stuck = await new_deal(run_command, sales, "Initech — Pro")
    moving = await new_deal(run_command, sales, "Globex")
    await run_command("test.move_deal", {"deal": stuck.id, "stage": "Proposal"})
    await run_command("test.move_deal", {"deal": moving.id, "stage": "Proposal"})
    await run_jobs()
    clock.advance(days=5)
    await run_command("test.move_deal", {"deal": moving.id, "stage": "Won"})  # timer stopped
    clock.advance(days=9)  # 14 days after entering Proposal (Monday 19 January 09:00)
    await run_jobs()

    tasks = [e.data["record"] for e in events if e.name == "task.created"]
    assert [t["title"] for t in tasks] == [
        "Follow up: Initech — Pro has been in Proposal for 14 days"
    ]
    assert tasks[0]["assignee_id"] == sales.ana.user_id

    clock.advance(days=3)  # Thursday: 3 business days later
    await run_jobs()
    tasks = [e.data["record"] for e in events if e.name == "task.created"]
    assert tasks[-1]["title"] == (
        "Initech — Pro is still in Proposal after 17 days (owner: Ana Rep)"
    )
    assert tasks[-1]["assignee_id"] == sales.ben.user_id  # the lead of Ana's team
    (run,) = await runs_of(run_command, PROPOSAL)
    assert run["status"] == "done" and run["record_id"] == stuck.id
    assert run["trigger"]["kind"] == "matches_for"


async def test_enabling_a_matches_for_automation_starts_timers_for_records_already_matching(
    run_command, run_jobs, clock, events, sales
):
    deal = await new_deal(run_command, sales, "Initech — Pro")
    await run_command("test.move_deal", {"deal": deal.id, "stage": "Proposal"})
    await run_command("automation.import", {"yaml": default_automations()})
    await run_command("automation.enable", {"automation": PROPOSAL})
    await run_jobs()  # the scan
    clock.advance(days=14)
    await run_jobs()
    assert [e.data["record"]["record_id"] for e in events if e.name == "task.created"] == [deal.id]


DAILY = """
name: Daily review of big open deals
when: {schedule: "0 8 * * mon-fri", entity: deal}
time_zone: Europe/Paris
if:
  all:
    - {field: status, equals: open}
    - {field: value, at_least: 10000}
then:
  - create_task: {title: "Review {{ deal.title }} ({{ deal.value }} {{ deal.currency }})"}
"""


async def test_a_scheduled_automation_runs_on_each_matching_record_at_its_time(
    run_command, run_jobs, clock, events, sales
):
    big = await new_deal(run_command, sales, "Big one", value="25000")
    await new_deal(run_command, sales, "Small one", value="100")
    await run_command("automation.create", {"definition": DAILY, "enabled": True})
    await run_jobs()
    assert not [e for e in events if e.name == "task.created"]
    clock.advance(hours=22)  # Tuesday 07:00 UTC = 08:00 in Paris
    await run_jobs()
    titles = [e.data["record"]["title"] for e in events if e.name == "task.created"]
    assert titles == ["Review Big one (25000.00 EUR)"]
    assert [e.data["record"]["record_id"] for e in events if e.name == "task.created"] == [big.id]
    clock.advance(days=1)
    await run_jobs()
    assert len([e for e in events if e.name == "task.created"]) == 2  # the next day's tick


async def test_disabling_a_scheduled_automation_stops_its_ticks(
    run_command, run_jobs, clock, events, sales
):
    await new_deal(run_command, sales, "Big one", value="25000")
    await run_command("automation.create", {"definition": DAILY, "enabled": True})
    await run_command("automation.disable", {"automation": "Daily review of big open deals"})
    clock.advance(days=2)
    await run_jobs()
    assert not [e for e in events if e.name == "task.created"]
