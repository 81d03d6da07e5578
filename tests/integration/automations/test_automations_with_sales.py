"""The issue's example with the real sales plugin: ``deal.move`` emits ``deal.stage_changed``,
and the plugin's own actions (``move_deal``, ``assign_by_rule``) work in automations."""

from __future__ import annotations

import pytest
from conftest import EXAMPLE, runs_of
from kith.automations.yaml_io import default_automations
from kith.plugins.sales.commands.pipelines import ensure_default_pipeline
from kith.settings import PluginsFile


@pytest.fixture
def kith_plugins():
    return []


@pytest.fixture
def kith_plugins_file():
    return PluginsFile()  # sales on


@pytest.fixture
async def pipeline(kith_app, admin):
    await ensure_default_pipeline(kith_app)
    await kith_app.drain()


async def test_the_example_works_as_written_with_deal_move(
    run_command, run_jobs, clock, events, make_actor, pipeline
):
    ana = await make_actor("agent", email="ana@example.com", name="Ana Rep")
    await run_command("automation.import", {"yaml": EXAMPLE})
    await run_command("automation.enable", {"automation": "Follow up qualified deals"})
    deal = await run_command(
        "deal.create", {"title": "Initech — Pro", "value": "24000", "owner": ana.user_id}
    )
    await run_command("deal.move", {"deal": deal.id, "stage": "Discovery"})
    await run_jobs()
    demo = [e.data["record"] for e in events if e.name == "task.created"]
    assert [t["title"] for t in demo if t["title"].startswith("Book")] == [
        "Book a demo for Initech — Pro"
    ]
    clock.advance(days=3)
    await run_jobs()
    posts = [e.data["text"] for e in events if e.name == "automation.slack_post_requested"]
    assert posts == ["Initech — Pro is still in Discovery"]
    (run,) = await runs_of(run_command, "Follow up qualified deals")
    assert run["status"] == "done"


MOVE_BIG_DEALS = """
name: Big deals skip to Proposal
when: deal.created
if: {field: value, at_least: 100000}
then:
  - move_deal: {stage: Proposal}
"""


async def test_a_plugin_action_moves_the_deal(run_command, run_jobs, events, pipeline):
    await run_command("automation.create", {"definition": MOVE_BIG_DEALS, "enabled": True})
    deal = await run_command("deal.create", {"title": "Whale", "value": "250000"})
    await run_jobs()
    moved = [e for e in events if e.name == "deal.stage_changed"]
    assert [(e.entity_id, e.data["to_stage"]) for e in moved] == [(deal.id, "Proposal")]
    assert moved[0].actor.startswith("automation:")


async def test_the_default_lead_automation_can_be_enabled_once_sales_is_installed(
    run_command, run_jobs, make_actor, pipeline
):
    await make_actor("agent", email="ana@example.com", name="Ana Rep")
    result = await run_command("automation.import", {"yaml": default_automations()})
    lead_rule = next(r for r in result.results if r["name"].startswith("Assign new leads"))
    assert lead_rule["problems"] == []
    await run_command("automation.enable", {"automation": lead_rule["id"]})
    await run_command("lead.create", {"name": "Jane Roe", "email": "jane@initech.io"})
    await run_jobs()
    (run,) = await runs_of(run_command, lead_rule["name"])
    assert run["status"] == "done", run
    assert [s["action"] for s in run["steps"]] == ["assign_by_rule", "create_task"]
