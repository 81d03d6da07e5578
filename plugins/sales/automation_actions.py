"""The sales plugin's automation actions (``kith_automation_actions``): move a deal, route
a lead with the routing rules."""

from __future__ import annotations

from typing import Any

import kith
from pydantic import Field


class MoveDeal(kith.ActionConfig):
    stage: str = Field(min_length=1, max_length=200, description="Stage name (a prefix works)")
    reason: str | None = Field(None, max_length=200, description="For Won / Lost")


@kith.automation_action(
    "move_deal",
    config=MoveDeal,
    emits=["deal.stage_changed", "deal.won", "deal.lost", "deal.reopened"],
    entities=["deal"],
    commands=["deal.move"],
)
async def move_deal(actx: kith.ActionContext, config: MoveDeal) -> dict[str, Any]:
    """Move the deal to another stage of its pipeline (deal.move)."""
    payload: dict[str, Any] = {"deal": actx.record_id, "stage": config.stage}
    if config.reason:
        payload["reason"] = config.reason
    deal = await actx.command("deal.move", payload)
    return {"deal": deal.id, "stage": config.stage}


class AssignByRule(kith.ActionConfig):
    force: bool = Field(False, description="Route again even if the lead has an owner")


@kith.automation_action(
    "assign_by_rule",
    config=AssignByRule,
    emits=["lead.updated", "lead.assigned", "task.created"],
    entities=["lead"],
    commands=["lead.route"],
)
async def assign_by_rule(actx: kith.ActionContext, config: AssignByRule) -> dict[str, Any]:
    """Give the lead an owner with the routing rules (lead.route)."""
    result = await actx.command(
        "lead.route",
        {"lead": actx.record_id, "force": config.force, "only_if_new": not config.force},
    )
    return {"lead": result.lead.id, "owner": result.lead.owner_id, "message": result.message}


ACTIONS = [move_deal, assign_by_rule]
