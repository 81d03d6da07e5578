"""Moving deals: ``deal.move``, ``deal.won``, ``deal.lost``, ``deal.reopen``.

A move into a won or lost stage *is* winning or losing (same reason rules, same event); each
change writes one history row with the stage before and after and the time spent in the stage
left, one row in ``sales_stage_moves``, and exactly one event: ``deal.stage_changed``,
``deal.won``, ``deal.lost`` or ``deal.reopened`` (never also ``deal.updated``).
"""

from __future__ import annotations

from typing import Any

import kith
from pydantic import Field

from ..jobs import arm_deal
from ..records import find_stage, resolve, stages_of
from ..schemas import DealOut, deal_out
from ..settings import SalesSettings, settings_of
from ..tables import StageMove

EVENT_FOR = {"won": "deal.won", "lost": "deal.lost"}


class DealMove(kith.Input):
    deal: kith.Ref = Field(description="The deal: id or a unique fragment of its title")
    stage: kith.Ref = Field(description="Stage name (case-insensitive, a unique prefix is enough)")
    reason: str | None = Field(None, max_length=200, description="Why it was won/lost")
    detail: str | None = Field(None, max_length=2000, description="More about the reason")


class DealClose(kith.Input):
    deal: kith.Ref
    reason: str | None = Field(None, max_length=200)
    detail: str | None = Field(None, max_length=2000)
    stage: kith.Ref | None = Field(None, description="Which won/lost stage, if there are several")


class DealReopen(kith.Input):
    deal: kith.Ref
    stage: kith.Ref | None = Field(
        None, description="Default: the open stage it was in before it was closed"
    )


def check_reason(settings: SalesSettings, kind: str, reason: str | None) -> str | None:
    """The canonical reason for closing a deal ``kind`` (won/lost), or a field error."""
    allowed = settings.lost_reasons if kind == "lost" else settings.won_reasons
    required = settings.require_lost_reason if kind == "lost" else settings.require_won_reason
    text = (reason or "").strip()
    if not text:
        if required:
            hint = f": one of {', '.join(allowed)}" if allowed else ""
            raise kith.invalid("reason", f"say why the deal was {kind}{hint}", "missing")
        return None
    if not allowed:
        return text
    exact = [r for r in allowed if r.casefold() == text.casefold()]
    prefix = [r for r in allowed if r.casefold().startswith(text.casefold())]
    if exact or len(prefix) == 1:
        return (exact or prefix)[0]
    raise kith.invalid(
        "reason", f"{text!r} is not a {kind} reason; choose one of {', '.join(allowed)}"
    )


async def change_stage(
    ctx: kith.Context,
    deal: dict[str, Any],
    stage: dict[str, Any],
    *,
    reason: str | None = None,
    detail: str | None = None,
) -> DealOut:
    """Put ``deal`` in ``stage`` with history, a stage-move row, one event and follow-ups."""
    previous = await ctx.get(kith.Stage, deal["stage_id"])
    if stage["id"] == deal["stage_id"] and deal["status"] == stage["kind"]:
        return deal_out(deal, stage)  # already there: nothing to record
    kind = stage["kind"]
    now = ctx.now()
    values: dict[str, Any] = {"stage_id": stage["id"], "status": kind, "stage_changed_at": now}
    if kind in ("won", "lost"):
        canonical = check_reason(settings_of(ctx), kind, reason)
        text = " — ".join(t for t in (canonical, (detail or "").strip()) if t) or None
        values.update(closed_at=now, close_reason=text)
    else:
        values.update(closed_at=None, close_reason=None)
    entered = deal["stage_changed_at"] or deal["created_at"]
    seconds = max(0, int((now - entered).total_seconds()))
    updated, changes = await ctx.update(kith.Deal, deal, values, record_history=False)
    changes.pop("stage_changed_at", None)
    changes["stage"] = [previous["name"], stage["name"]]
    changes["seconds_in_stage"] = [seconds, 0]
    if deal["status"] != "open" and kind == "open":
        action, event = "reopened", "deal.reopened"
    else:
        action = {"won": "won", "lost": "lost"}.get(kind, "moved")
        event = EVENT_FOR.get(kind, "deal.stage_changed")
    ctx.record_history("deal", deal["id"], action, changes)
    await ctx.insert(
        StageMove,
        {
            "deal_id": deal["id"],
            "from_stage_id": previous["id"],
            "to_stage_id": stage["id"],
            "seconds_in_stage": seconds,
            "actor": ctx.actor.label,
            "at": now,
        },
        record_history=False,
    )
    data: dict[str, Any] = {
        "pipeline_id": deal["pipeline_id"],
        "from_stage": previous["name"],
        "from_stage_id": previous["id"],
        "to_stage": stage["name"],
        "to_stage_id": stage["id"],
        "seconds_in_stage": seconds,
        "value": kith.to_major(deal["value_minor"], deal["currency"]),
        "currency": deal["currency"],
        "owner_id": deal["owner_id"],
        "changes": changes,
    }
    if kind in ("won", "lost"):
        data.update(reason=values["close_reason"])
    ctx.emit(event, "deal", deal["id"], **data)
    await arm_deal(ctx, updated, stage)
    return deal_out(updated, stage)


async def _deal_and_pipeline(ctx: kith.Context, ref: Any) -> tuple[dict, dict]:
    deal = await resolve(ctx, "deal", kith.Deal, ref, for_update=True)
    pipeline = await ctx.get(kith.Pipeline, deal["pipeline_id"])
    return deal, pipeline


async def _closing_stage(
    ctx: kith.Context, pipeline: dict[str, Any], kind: str, ref: Any
) -> dict[str, Any]:
    if ref is not None:
        stage = await find_stage(ctx, pipeline, ref)
        if stage["kind"] != kind:
            raise kith.invalid("stage", f"{stage['name']} is not a {kind} stage")
        return stage
    for stage in await stages_of(ctx, pipeline["id"]):
        if stage["kind"] == kind:
            return stage
    raise kith.invalid("deal", f"pipeline {pipeline['name']} has no {kind} stage; add one first")


@kith.command("deal.move", input=DealMove, output=DealOut, permission="deals.write")
async def move_deal(ctx: kith.Context, data: DealMove) -> DealOut:
    """Move a deal to another stage of its pipeline, by stage name (case-insensitive; a unique
    prefix is enough). Moving into a won or lost stage wins or loses the deal and needs what
    deal.won / deal.lost need (a lost reason)."""
    deal, pipeline = await _deal_and_pipeline(ctx, data.deal)
    stage = await find_stage(ctx, pipeline, data.stage)
    return await change_stage(ctx, deal, stage, reason=data.reason, detail=data.detail)


@kith.command("deal.won", input=DealClose, output=DealOut, permission="deals.write")
async def win_deal(ctx: kith.Context, data: DealClose) -> DealOut:
    """Mark a deal won (moves it to its pipeline's won stage), with a reason if required."""
    deal, pipeline = await _deal_and_pipeline(ctx, data.deal)
    stage = await _closing_stage(ctx, pipeline, "won", data.stage)
    return await change_stage(ctx, deal, stage, reason=data.reason, detail=data.detail)


@kith.command("deal.lost", input=DealClose, output=DealOut, permission="deals.write")
async def lose_deal(ctx: kith.Context, data: DealClose) -> DealOut:
    """Mark a deal lost (moves it to its pipeline's lost stage) with the reason it was lost,
    one of the configured lost reasons (lost_reasons in plugins.toml)."""
    deal, pipeline = await _deal_and_pipeline(ctx, data.deal)
    stage = await _closing_stage(ctx, pipeline, "lost", data.stage)
    return await change_stage(ctx, deal, stage, reason=data.reason, detail=data.detail)


@kith.command("deal.reopen", input=DealReopen, output=DealOut, permission="deals.write")
async def reopen_deal(ctx: kith.Context, data: DealReopen) -> DealOut:
    """Reopen a won or lost deal, into the open stage it was in before (or the stage given)."""
    deal, pipeline = await _deal_and_pipeline(ctx, data.deal)
    if deal["status"] == "open":
        raise kith.invalid("deal", f"deal #{deal['id']} is open already")
    if data.stage is not None:
        stage = await find_stage(ctx, pipeline, data.stage)
        if stage["kind"] != "open":
            raise kith.invalid(
                "stage", f"{stage['name']} is a {stage['kind']} stage; pick an open one"
            )
    else:
        stage = await _stage_before_closing(ctx, deal, pipeline)
    return await change_stage(ctx, deal, stage)


async def _stage_before_closing(
    ctx: kith.Context, deal: dict[str, Any], pipeline: dict[str, Any]
) -> dict[str, Any]:
    stages = {s["id"]: s for s in await stages_of(ctx, pipeline["id"])}
    moves = await ctx.select(StageMove, deal_id=deal["id"], order_by="id", descending=True)
    for move in moves:
        stage = stages.get(move["from_stage_id"])
        if stage is not None and stage["kind"] == "open":
            return stage
    open_stages = [s for s in stages.values() if s["kind"] == "open"]
    if not open_stages:
        raise kith.invalid("stage", f"pipeline {pipeline['name']} has no open stage")
    return open_stages[0]
