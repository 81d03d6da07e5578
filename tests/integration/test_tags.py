"""Tags on any record: added once, removed, recorded in history, listed with their counts."""

from __future__ import annotations

import pytest
from kith import KithError
from kith.testing import count_rows


async def test_tagging_a_record_is_idempotent_and_recorded(kith_app, run_command, events):
    ada = await run_command("contact.create", {"name": "Ada"})
    tagged = await run_command(
        "tag.add", {"entity": "contact", "record": ada.id, "tag": "  VIP   Customer "}
    )
    assert tagged.tags == ["vip customer"]
    again = await run_command(
        "tag.add", {"entity": "contact", "record": "Ada", "tag": "vip customer"}
    )
    assert again.tags == ["vip customer"]
    assert await count_rows(kith_app, "record_tags") == 1
    assert [e.name for e in events if e.name.startswith("tag.")] == ["tag.added"]

    shown = await run_command("contact.get", {"contact": ada.id})
    assert shown.tags == ["vip customer"]
    timeline = await run_command("contact.timeline", {"contact": ada.id})
    assert timeline.items[0].data["action"] == "tagged"
    assert timeline.items[0].data["changes"] == {"tags": [[], ["vip customer"]]}

    removed = await run_command(
        "tag.remove", {"entity": "contact", "record": ada.id, "tag": "VIP customer"}
    )
    assert removed.tags == []
    await run_command("tag.remove", {"entity": "contact", "record": ada.id, "tag": "never-there"})
    assert await count_rows(kith_app, "record_tags") == 0
    assert [e.name for e in events if e.name.startswith("tag.")] == ["tag.added", "tag.removed"]


async def test_tags_work_on_every_entity_and_are_counted(run_command):
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "New"}]})
    deal = await run_command("deal.create", {"title": "Initech — Pro"})
    org = await run_command("organization.create", {"name": "Initech"})
    await run_command("tag.add", {"entity": "deal", "record": deal.id, "tag": "q3"})
    await run_command("tag.add", {"entity": "organization", "record": org.id, "tag": "q3"})
    await run_command("tag.add", {"entity": "organization", "record": org.id, "tag": "partner"})
    assert (await run_command("deal.get", {"deal": deal.id})).tags == ["q3"]
    counted = await run_command("tag.list", {})
    assert [(t.name, t.records) for t in counted.items] == [("partner", 1), ("q3", 2)]
    only_deals = await run_command("tag.list", {"entity": "deal"})
    assert [(t.name, t.records) for t in only_deals.items] == [("q3", 1)]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"entity": "spaceship", "record": 1, "tag": "x"}, "entity"),
        ({"entity": "contact", "record": 999, "tag": "x"}, "record"),
        ({"entity": "contact", "record": 1, "tag": "   "}, "tag"),
        ({"entity": "contact", "record": 1, "tag": "a,b"}, "tag"),
        ({"entity": "contact", "record": 1, "tag": "x" * 51}, "tag"),
    ],
)
async def test_bad_tags_are_refused(kith_app, run_command, payload, field):
    await run_command("contact.create", {"name": "Ada"})
    with pytest.raises(KithError) as info:
        await run_command("tag.add", payload)
    assert info.value.fields[0].field == field
    assert await count_rows(kith_app, "tags") == 0


async def test_viewers_cannot_tag(run_command, make_actor):
    viewer = await make_actor("viewer")
    ada = await run_command("contact.create", {"name": "Ada"})
    with pytest.raises(KithError) as info:
        await run_command(
            "tag.add", {"entity": "contact", "record": ada.id, "tag": "x"}, actor=viewer
        )
    assert info.value.code == "forbidden"
