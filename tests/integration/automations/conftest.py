"""Fixtures for the automation stories: a pipeline, a sales team, and a tiny stand-in for the
sales plugin's ``deal.move`` emitting ``deal.stage_changed`` the way it does (``changes:
{"stage_id": [before, after]}``). The sales plugin itself is off here, so its own follow-up
jobs and tasks do not mix with the automations'; ``test_automations_with_sales.py`` runs
the example with the real plugin."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kith
import pytest
from kith.settings import PluginsFile
from pydantic import BaseModel

EXAMPLE = (Path(__file__).parent / "follow_up_qualified_deals.yaml").read_text(encoding="utf-8")


class MoveDeal(BaseModel):
    deal: int
    stage: str


@kith.command("test.move_deal", input=MoveDeal, permission="deals.write")
async def move_deal(ctx, data: MoveDeal):
    """Move a deal to a stage of its pipeline (a stand-in for the sales plugin)."""
    rows = await ctx.fetch(
        'SELECT * FROM "deals" WHERE "id" = ' + ctx.kith.db.statements.placeholders(1)[0],
        [data.deal],
    )
    deal = rows[0]
    stages = await ctx.fetch(
        'SELECT "id", "name", "kind" FROM "stages" WHERE "pipeline_id" = '
        + ctx.kith.db.statements.placeholders(1)[0],
        [deal["pipeline_id"]],
    )
    stage = next(s for s in stages if s["name"].lower() == data.stage.lower())
    before = deal["stage_id"]
    from kith.tables import Deal  # tests may reach into the core

    row = await ctx.get(Deal, data.deal)
    row, _ = await ctx.update(
        Deal, row, {"stage_id": stage["id"], "status": stage["kind"], "stage_changed_at": ctx.now()}
    )
    ctx.emit("deal.stage_changed", "deal", data.deal, changes={"stage_id": [before, stage["id"]]})
    return {"deal": data.deal, "stage": stage["name"]}


class SalesStandIn:
    @kith.hookimpl
    def kith_commands(self):
        return [move_deal]


WITHOUT_SALES = {"sales": False}


@pytest.fixture
def kith_plugins():
    return [("sales-stand-in", SalesStandIn())]


@pytest.fixture
def kith_plugins_file():
    return PluginsFile(enabled=dict(WITHOUT_SALES))


@dataclass
class Team:
    ana: kith.Actor
    ben: kith.Actor
    pipeline: Any


@pytest.fixture
async def sales(run_command, make_actor) -> Team:
    """Ana (agent) in the EMEA team led by Ben (manager); a Sales pipeline."""
    ana = await make_actor("agent", email="ana@example.com", name="Ana Rep")
    ben = await make_actor("manager", email="ben@example.com", name="Ben Boss")
    await run_command(
        "team.create", {"name": "EMEA", "lead": ben.user_id, "members": [ana.user_id, ben.user_id]}
    )
    pipeline = await run_command(
        "pipeline.create",
        {
            "name": "Sales",
            "stages": [
                {"name": "Qualification"},
                {"name": "Discovery"},
                {"name": "Proposal"},
                {"name": "Won", "kind": "won"},
            ],
        },
    )
    return Team(ana, ben, pipeline)


async def new_deal(run_command, team: Team, title: str, value: str = "5000") -> Any:
    return await run_command(
        "deal.create", {"title": title, "value": value, "owner": team.ana.user_id}
    )


async def runs_of(run_command, automation: str) -> list[dict]:
    return [
        r.model_dump(mode="json")
        for r in (
            await run_command("automation.runs", {"automation": automation, "limit": 100})
        ).runs
    ]
