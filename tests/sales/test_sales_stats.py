"""Win rate, cycle time and lead sources over a recent period (the dashboards' figures)."""

from __future__ import annotations


async def test_win_rate_and_cycle_time_count_only_the_period(
    pipeline, run_command, make_actor, kith_app
):
    ana = await make_actor("agent", name="Ana")
    carl = await make_actor("agent", name="Carl")
    old = await run_command("deal.create", {"title": "Old", "value": "10", "owner": ana.user_id})
    await run_command("deal.lost", {"deal": old.id, "reason": "price"})
    kith_app.clock.advance(days=100)  # that loss is now outside a 90-day window
    won = [
        await run_command("deal.create", {"title": f"W{i}", "value": "10", "owner": ana.user_id})
        for i in range(3)
    ]
    lost = await run_command("deal.create", {"title": "L", "value": "10", "owner": carl.user_id})
    kith_app.clock.advance(days=10)
    for deal in won:
        await run_command("deal.won", {"deal": deal.id})
    await run_command("deal.lost", {"deal": lost.id, "reason": "timing"})
    stats = await run_command("deal.stats", {"days": 90})
    assert (stats.won, stats.lost) == (3, 1)
    assert stats.win_rate == 0.75
    assert stats.avg_cycle_days == 10.0
    by_owner = {s.owner: (s.won, s.lost) for s in stats.by_owner}
    assert by_owner == {"Ana": (3, 0), "Carl": (0, 1)}
    mine = await run_command("deal.stats", {"days": 365, "owner": ana.user_id})
    assert (mine.won, mine.lost) == (3, 1)  # the old loss is within a year


async def test_lead_sources_count_leads_of_the_period(run_command, kith_app):
    for source in ("webinar", "webinar", "referral"):
        await run_command("lead.create", {"name": f"Lead {source}", "source": source})
    await run_command("lead.create", {"name": "No source"})
    result = await run_command("lead.sources", {"days": 30})
    assert [(s.source, s.leads) for s in result.sources][:1] == [("webinar", 2)]
    assert {s.source: s.leads for s in result.sources} == {
        "webinar": 2,
        "referral": 1,
        "unknown": 1,
    }
    kith_app.clock.advance(days=31)
    assert (await run_command("lead.sources", {"days": 30})).sources == []
