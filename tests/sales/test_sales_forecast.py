"""The forecast: weighted pipeline, commit and best case by owner, team and month."""

from __future__ import annotations

import pytest
from kith import KithError

RATES = {"forecast": {"base_currency": "EUR", "rates": {"USD": "0.9"}}}


@pytest.fixture
def sales_settings():
    return RATES


@pytest.fixture
async def book(pipeline, run_command, make_actor):
    ana = await make_actor("agent", email="ana@staff.example.com", name="Ana")
    carl = await make_actor("agent", email="carl@staff.example.com", name="Carl")
    await run_command("team.create", {"name": "EMEA", "members": [ana.user_id, carl.user_id]})

    async def deal(title, value, currency, owner, close, stage=None, reason=None):
        d = await run_command(
            "deal.create",
            {
                "title": title,
                "value": value,
                "currency": currency,
                "owner": owner.user_id,
                "expected_close": close,
            },
        )
        if stage:
            await run_command("deal.move", {"deal": d.id, "stage": stage, "reason": reason})
        return d

    await deal("Initech", "24000", "EUR", ana, "2026-02-15", "negotiation")
    await deal("Acme", "10000", "USD", ana, "2026-01-20", "demo")
    await deal("Pounds", "700", "GBP", ana, "2026-01-20", "demo")
    await deal("Globex", "5000", "EUR", carl, "2026-03-01")
    await deal("Won one", "3000", "EUR", carl, "2026-06-01", "won")
    await deal("Lost one", "9999", "EUR", carl, "2026-01-10", "lost", "Price")
    await deal("Later", "8000", "EUR", carl, "2026-04-02")
    await deal("Undated", "1000", "EUR", carl, None)
    return ana, carl


async def test_totals_in_the_base_currency(book, run_command):
    f = await run_command("forecast.get", {})
    assert f.months == ["2026-01", "2026-02", "2026-03"]
    t = f.total
    assert (t["pipeline"], t["weighted"], t["won"], t["commit"], t["best_case"]) == (
        "38000.00",
        "22600.00",
        "3000.00",
        "27000.00",
        "36000.00",
    )
    assert t["deals"] == 3 and t["currency"] == "EUR"
    assert t["unconverted"] == ["GBP"]
    assert t["by_currency"]["USD"]["weighted"] == "4000.00"
    assert t["by_currency"]["GBP"]["pipeline"] == "700.00"
    assert f.undated["pipeline"] == "1000.00"


async def test_by_owner_month_and_team(book, run_command):
    f = await run_command("forecast.get", {"period": "quarter"})
    owners = {o["owner"]: o for o in f.by_owner}
    assert (owners["Ana"]["pipeline"], owners["Ana"]["commit"], owners["Ana"]["best_case"]) == (
        "33000.00",
        "24000.00",
        "33000.00",
    )
    assert (owners["Carl"]["won"], owners["Carl"]["weighted"]) == ("3000.00", "1000.00")
    months = {m["month"]: m for m in f.by_month}
    assert months["2026-01"]["won"] == "3000.00" and months["2026-01"]["best_case"] == "12000.00"
    assert months["2026-02"]["commit"] == "24000.00"
    assert [t["team"] for t in f.by_team] == ["EMEA"]
    assert f.by_team[0]["pipeline"] == f.total["pipeline"]


async def test_filters(book, run_command):
    assert book
    mine = await run_command("forecast.get", {"owner": "ana@staff.example.com"})
    assert [o["owner"] for o in mine.by_owner] == ["Ana"]
    assert mine.total["pipeline"] == "33000.00"
    team = await run_command("forecast.get", {"team": "EMEA", "pipeline": "default"})
    assert team.total["pipeline"] == "38000.00"
    april = await run_command("forecast.get", {"start": "2026-04", "months": 1})
    assert april.total["pipeline"] == "8000.00" and april.months == ["2026-04"]


async def test_a_viewer_can_read_the_forecast(book, run_command, make_actor):
    viewer = await make_actor("viewer")
    f = await run_command("forecast.get", {"period": "month"}, actor=viewer)
    assert f.months == ["2026-01"]


async def test_bad_filters_name_the_field(book, run_command):
    with pytest.raises(KithError) as info:
        await run_command("forecast.get", {"owner": "nobody@nowhere.example"})
    assert info.value.fields[0].field == "owner"
    with pytest.raises(KithError) as info:
        await run_command("forecast.get", {"start": "April"})
    assert info.value.fields[0].field == "start"
    with pytest.raises(KithError) as info:
        await run_command("forecast.get", {"months": 0})
    assert info.value.fields[0].field == "months"
