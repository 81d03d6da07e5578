"""Moving deals through a pipeline: stage names, won/lost reasons, history, one event each."""

from __future__ import annotations

import pytest
from kith import KithError
from kith.testing import count_rows
from sales_helpers import history_of, named


@pytest.fixture
async def deal(pipeline, run_command, ana):
    return await run_command(
        "deal.create", {"title": "Initech — Pro", "value": "24000", "currency": "EUR"}, actor=ana
    )


async def test_a_new_deal_starts_in_qualification(deal, pipeline):
    stages = {s.id: s.name for s in pipeline.stages}
    assert stages[deal.stage_id] == "Qualification"


async def test_moving_by_a_stage_prefix_in_any_case(deal, run_command, ana, events, clock):
    clock.advance(days=2, hours=3)
    moved = await run_command("deal.move", {"deal": deal.id, "stage": "PROP"}, actor=ana)

    assert moved.stage == "Proposal" and moved.probability == 60 and moved.status == "open"
    changed = named(events, "deal.stage_changed")
    assert len(changed) == 1
    assert changed[0].data["from_stage"] == "Qualification"
    assert changed[0].data["to_stage"] == "Proposal"
    assert changed[0].data["seconds_in_stage"] == (2 * 24 + 3) * 3600
    assert not named(events, "deal.updated")


async def test_each_move_is_in_history_with_from_to_and_time_in_stage(
    deal, run_command, kith_app, clock
):
    clock.advance(hours=5)
    await run_command("deal.move", {"deal": deal.id, "stage": "demo"})
    clock.advance(hours=1)
    await run_command("deal.move", {"deal": deal.id, "stage": "Negotiation"})

    moves = [h for h in await history_of(kith_app, "deal", deal.id) if h["action"] == "moved"]
    assert [m["changes"]["stage"] for m in moves] == [
        ["Qualification", "Demo"],
        ["Demo", "Negotiation"],
    ]
    assert [m["changes"]["seconds_in_stage"][0] for m in moves] == [5 * 3600, 3600]
    assert await count_rows(kith_app, "sales_stage_moves") == 2


async def test_a_deal_can_be_found_by_a_fragment_of_its_title(deal, run_command):
    moved = await run_command("deal.move", {"deal": "initech", "stage": "demo"})
    assert moved.id == deal.id and moved.stage == "Demo"


async def test_an_ambiguous_prefix_lists_the_candidates(deal, run_command, pipeline):
    await run_command("stage.create", {"pipeline": "Sales", "name": "Demo scheduled"})
    with pytest.raises(KithError) as info:
        await run_command("deal.move", {"deal": deal.id, "stage": "dem"})
    assert info.value.code == "ambiguous"
    assert info.value.fields[0].field == "stage"
    assert {c["label"] for c in info.value.candidates} == {"Demo", "Demo scheduled"}


async def test_moving_to_the_same_stage_changes_nothing(deal, run_command, events, kith_app):
    before = await count_rows(kith_app, "history")
    await run_command("deal.move", {"deal": deal.id, "stage": "qualification"})
    assert await count_rows(kith_app, "history") == before
    assert not named(events, "deal.stage_changed")


async def test_losing_a_deal_needs_a_configured_reason(deal, run_command, events):
    lost = await run_command("deal.lost", {"deal": deal.id, "reason": "compet", "detail": "Acme"})

    assert lost.status == "lost" and lost.stage == "Lost"
    assert lost.close_reason == "Competitor — Acme"
    assert lost.closed_at is not None
    assert [e.data["reason"] for e in named(events, "deal.lost")] == ["Competitor — Acme"]
    assert not named(events, "deal.stage_changed")


async def test_moving_into_the_won_stage_is_winning(deal, run_command, events):
    won = await run_command("deal.move", {"deal": deal.id, "stage": "won"})
    assert won.status == "won" and won.probability == 100
    assert len(named(events, "deal.won")) == 1
    assert not named(events, "deal.stage_changed")


async def test_moving_into_the_lost_stage_needs_the_reason(deal, run_command, kith_app):
    before = await count_rows(kith_app, "history")
    with pytest.raises(KithError) as info:
        await run_command("deal.move", {"deal": deal.id, "stage": "lost"})
    assert info.value.fields[0].field == "reason"
    assert "Price" in info.value.message
    assert await count_rows(kith_app, "history") == before
    lost = await run_command("deal.move", {"deal": deal.id, "stage": "lost", "reason": "timing"})
    assert lost.close_reason == "Timing"


async def test_reopening_returns_the_deal_to_its_stage_before_closing(deal, run_command, events):
    await run_command("deal.move", {"deal": deal.id, "stage": "proposal"})
    await run_command("deal.lost", {"deal": deal.id, "reason": "Price"})
    reopened = await run_command("deal.reopen", {"deal": deal.id})

    assert reopened.status == "open" and reopened.stage == "Proposal"
    assert reopened.close_reason is None and reopened.closed_at is None
    assert len(named(events, "deal.reopened")) == 1


@pytest.mark.parametrize(
    "sales_settings", [{"won_reasons": ["Price", "Product fit"], "require_won_reason": True}]
)
async def test_won_reasons_can_be_required_and_configured(deal, run_command):
    with pytest.raises(KithError) as info:
        await run_command("deal.won", {"deal": deal.id})
    assert info.value.fields[0].field == "reason"
    with pytest.raises(KithError) as info:
        await run_command("deal.won", {"deal": deal.id, "reason": "luck"})
    assert "Product fit" in info.value.message
    won = await run_command("deal.won", {"deal": deal.id, "reason": "product"})
    assert won.close_reason == "Product fit"


async def test_a_viewer_may_not_move_deals(deal, run_command, make_actor):
    viewer = await make_actor("viewer")
    with pytest.raises(KithError) as info:
        await run_command("deal.move", {"deal": deal.id, "stage": "demo"}, actor=viewer)
    assert info.value.code == "forbidden"
