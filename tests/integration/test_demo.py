"""``kith demo``: a realistic data set made through commands, the same for the same seed."""

from __future__ import annotations

import kith
import pytest
from kith import KithError
from kith.demo import DemoSize, load_demo
from kith.testing import count_rows


class ExtraDemo:
    """A plugin adding its own demo records through the hook."""

    def __init__(self) -> None:
        self.calls = 0

    @kith.hookimpl
    async def kith_demo_data(self, kith, users, rng):
        self.calls += 1
        await kith.run(
            "contact.create", {"name": f"Plugin Person {rng.randint(1, 9)}"}, users["ana"]
        )


extra = ExtraDemo()


@pytest.fixture
def kith_plugins():
    extra.calls = 0
    return [("extra-demo", extra)]


async def counts(kith_app) -> dict[str, int]:
    tables = (
        "users",
        "teams",
        "pipelines",
        "stages",
        "organizations",
        "contacts",
        "deals",
        "leads",
        "activities",
        "tasks",
        "tickets",
        "custom_field_defs",
        "record_tags",
    )
    return {t: await count_rows(kith_app, t) for t in tables}


@pytest.mark.kith_backends("sqlite")
async def test_the_demo_fills_a_database_a_newcomer_can_explore(kith_app):
    steps: list[int] = []
    result = await load_demo(kith_app, progress=steps.append)
    n = await counts(kith_app)
    assert n["pipelines"] == 2 and n["contacts"] >= 200 and n["organizations"] >= 50
    assert n["deals"] >= 80 and n["tickets"] >= 30 and n["activities"] > 0 and n["tasks"] > 0
    assert n["custom_field_defs"] > 0 and n["record_tags"] > 0
    assert sum(steps) == DemoSize().steps
    assert extra.calls == 1
    # Deals sit in every stage of both pipelines.
    empty = await kith_app.db.fetch(
        'SELECT s."name" FROM "stages" s LEFT JOIN "deals" d ON d."stage_id" = s."id" '
        'GROUP BY s."id", s."name" HAVING COUNT(d."id") = 0'
    )
    assert empty == []
    # The journeys' team signs in; Ada is there to be found.
    assert {"ana", "ben", "chloe", "dev"} <= set(result.users)
    found = await kith_app.run("find", {"q": "lovelace"}, result.users["ana"])
    assert [h.label for h in found.items if h.entity == "contact"] == ["Ada Lovelace"]


async def test_the_demo_refuses_to_load_twice(kith_app):
    await load_demo(kith_app, seed=7, size=DemoSize().scaled(0.1))
    rows = await kith_app.db.fetch('SELECT "name", "email" FROM "contacts" ORDER BY "id"')
    first = [(r["name"], r["email"]) for r in rows]
    with pytest.raises(KithError) as info:
        await load_demo(kith_app, seed=7, size=DemoSize().scaled(0.1))
    assert info.value.code == "conflict"
    assert await count_rows(kith_app, "contacts") == len(first)
    assert first[0] == ("Ada Lovelace", first[0][1])
    assert len({name for name, _ in first}) == len(first)
