"""Record visibility: with ``visibility.<entity>`` at own or team, agents see only their own or
their team's records — through every command, as if the others did not exist."""

from __future__ import annotations

import pytest
from kith import KithError
from kith.settings import PluginsFile
from kith.testing import count_rows


@pytest.fixture
def kith_plugins_file() -> PluginsFile:
    """Core visibility alone: the service plugin would round-robin tickets to an agent, which
    its own tests cover (tests/integration/service)."""
    return PluginsFile(enabled={"service": False})


@pytest.fixture
async def office(run_command, make_actor):
    """Ana and Carl sell in EMEA (Ben manages it); Dana sells in APAC; each owns a deal."""
    ana = await make_actor("agent", email="ana@staff.example.com", name="Ana Lopez")
    carl = await make_actor("agent", email="carl@staff.example.com", name="Carl Berg")
    dana = await make_actor("agent", email="dana@staff.example.com", name="Dana Wu")
    ben = await make_actor("manager", email="ben@staff.example.com", name="Ben Okafor")
    viewer = await make_actor("viewer", email="vic@staff.example.com", name="Vic Viewer")
    await run_command(
        "team.create", {"name": "EMEA", "members": [ana.user_id, carl.user_id, ben.user_id]}
    )
    await run_command("team.create", {"name": "APAC", "members": [dana.user_id]})
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "New"}]})
    deals = {}
    for who, actor in (("ana", ana), ("carl", carl), ("dana", dana)):
        deals[who] = await run_command(
            "deal.create", {"title": f"Zephyr deal of {actor.name}", "owner": actor.user_id}
        )
    return {
        "ana": ana,
        "carl": carl,
        "dana": dana,
        "ben": ben,
        "viewer": viewer,
        **{f"{k}_deal": v for k, v in deals.items()},
    }


async def set_visibility(run_command, entity: str, value: str):
    return await run_command("setting.set", {"key": f"visibility.{entity}", "value": value})


async def titles(run_command, actor) -> set[str]:
    page = await run_command("deal.list", {}, actor=actor)
    return {d.title for d in page.items}


async def test_by_default_everyone_sees_every_deal(office, run_command):
    assert len(await titles(run_command, office["ana"])) == 3


async def test_an_agent_with_own_visibility_cannot_reach_another_agents_deal_at_all(
    kith_app, office, run_command
):
    await set_visibility(run_command, "deal", "own")
    ana, theirs = office["ana"], office["dana_deal"]
    other = {"deal": theirs.id}
    counts = {
        t: await count_rows(kith_app, t)
        for t in ("history", "activities", "tasks", "record_tags", "deals")
    }

    attempts = [
        ("deal.get", other),
        ("deal.get", {"deal": "Zephyr deal of Dana"}),
        ("deal.timeline", other),
        ("deal.update", {**other, "title": "Mine now"}),
        ("deal.archive", other),
        ("activity.log", {"kind": "note", "body": "peek", "deal": theirs.id}),
        ("activity.log", {"kind": "note", "body": "peek", "deal": "Zephyr deal of Dana"}),
        ("task.create", {"title": "peek", "deal": theirs.id}),
        ("tag.add", {"entity": "deal", "record": theirs.id, "tag": "peek"}),
    ]
    for name, payload in attempts:
        with pytest.raises(KithError) as info:
            await run_command(name, payload, actor=ana)
        assert info.value.code == "not_found", name
        assert "Dana Wu" not in str(info.value.as_dict()), name  # only what she typed
    assert counts == {t: await count_rows(kith_app, t) for t in counts}

    assert await titles(run_command, ana) == {"Zephyr deal of Ana Lopez"}
    found = await run_command("find", {"q": "zephyr"}, actor=ana)
    assert [(h.entity, h.id) for h in found.items] == [("deal", office["ana_deal"].id)]
    # A name that matches several deals lists only her own as candidates: here, exactly one.
    mine = await run_command("deal.get", {"deal": "zephyr"}, actor=ana)
    assert mine.id == office["ana_deal"].id
    # Her own deal works everywhere.
    await run_command("activity.log", {"kind": "call", "deal": mine.id}, actor=ana)
    assert (await run_command("deal.timeline", {"deal": mine.id}, actor=ana)).items


async def test_team_visibility_shows_the_teams_records(office, run_command):
    await set_visibility(run_command, "deal", "team")
    emea = {"Zephyr deal of Ana Lopez", "Zephyr deal of Carl Berg"}
    assert await titles(run_command, office["ana"]) == emea
    assert await titles(run_command, office["dana"]) == {"Zephyr deal of Dana Wu"}
    carl_deal = await run_command("deal.get", {"deal": office["carl_deal"].id}, actor=office["ana"])
    assert carl_deal.owner_id == office["carl"].user_id


async def test_managers_see_their_teams_and_admins_see_all(office, run_command, admin):
    await set_visibility(run_command, "deal", "own")
    emea = {"Zephyr deal of Ana Lopez", "Zephyr deal of Carl Berg"}
    assert await titles(run_command, office["ben"]) == emea
    assert len(await titles(run_command, admin)) == 3
    assert await titles(run_command, office["viewer"]) == set()


async def test_visibility_applies_to_contacts_activities_and_tickets(office, run_command):
    ana, dana = office["ana"], office["dana"]
    mine = await run_command("contact.create", {"name": "Ada Mine"}, actor=ana)
    theirs = await run_command("contact.create", {"name": "Ada Theirs"}, actor=dana)
    await run_command("activity.log", {"kind": "note", "contact": mine.id, "body": "a"}, actor=ana)
    await run_command("activity.log", {"kind": "note", "contact": mine.id, "body": "d"}, actor=dana)
    for entity in ("contact", "activity", "ticket"):
        await set_visibility(run_command, entity, "own")

    assert [c.name for c in (await run_command("contact.list", {}, actor=ana)).items] == [
        "Ada Mine"
    ]
    with pytest.raises(KithError):
        await run_command(
            "deal.update", {"deal": office["ana_deal"].id, "contact": theirs.id}, actor=ana
        )
    # Dana's note on Ana's contact is hidden from Ana's timeline (activities are own too).
    items = (await run_command("contact.timeline", {"contact": mine.id}, actor=ana)).items
    assert [i.data.get("body") for i in items if i.kind == "activity"] == ["a"]
    # A ticket is visible to its assignee and, with team visibility, to its team.
    ticket = await run_command(
        "ticket.create",
        {"subject": "Printer on fire", "requester": "x@customer.com", "team": "APAC"},
    )
    with pytest.raises(KithError):
        await run_command("ticket.get", {"ticket": ticket.id}, actor=dana)
    await set_visibility(run_command, "ticket", "team")
    assert (await run_command("ticket.get", {"ticket": ticket.id}, actor=dana)).id == ticket.id


async def test_a_duplicate_email_does_not_reveal_whose_it_is(office, run_command):
    await set_visibility(run_command, "contact", "own")
    await run_command(
        "contact.create",
        {"name": "Secret Person", "email": "s@example.com"},
        actor=office["dana"],
    )
    with pytest.raises(KithError) as info:
        await run_command(
            "contact.create", {"name": "Me", "email": "s@example.com"}, actor=office["ana"]
        )
    assert info.value.code == "conflict"
    assert "Secret" not in str(info.value.as_dict())


async def test_settings_are_for_admins_and_checked(kith_app, office, run_command, events):
    with pytest.raises(KithError) as info:
        await run_command(
            "setting.set", {"key": "visibility.deal", "value": "own"}, actor=office["ben"]
        )
    assert info.value.code == "forbidden"
    for payload, field in [
        ({"key": "visibility.deal", "value": "mine"}, "value"),
        ({"key": "visibility.spaceship", "value": "own"}, "key"),
        ({"key": "visibility.deal", "value": 3}, "value"),
    ]:
        with pytest.raises(KithError) as info:
            await run_command("setting.set", payload)
        assert info.value.fields[0].field == field
    assert await count_rows(kith_app, "settings") == 0

    shown = await run_command("setting.get", {"key": "visibility.deal"})
    assert (shown.value, shown.is_default) == ("all", True)
    changed = await set_visibility(run_command, "deal", "OWN")
    assert (changed.value, changed.is_default) == ("own", False)
    assert [e.data for e in events if e.name == "setting.changed"] == [
        {"key": "visibility.deal", "before": "all", "after": "own"}
    ]
    listed = await run_command("setting.list", {"prefix": "visibility."})
    assert {s.key for s in listed.items} >= {"visibility.deal", "visibility.contact"}
