"""Routing: organization owner first, territory rules, team strategies, capacity, away."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from kith import SYSTEM, KithError
from sales_helpers import history_of, rows

EMEA = {"routing": {"team": "EMEA", "strategy": "round_robin"}}


@pytest.fixture
def sales_settings():
    return EMEA


@pytest.fixture
async def team(make_actor, run_command):
    members = [
        await make_actor("agent", email=f"{n}@staff.example.com", name=n.title())
        for n in ("ana", "carl", "dana")
    ]
    await run_command("team.create", {"name": "EMEA", "members": [m.user_id for m in members]})
    return members


_serial = iter(range(1_000_000))


async def capture(run_command, n: int, **fields):
    out = []
    for _ in range(n):
        i = next(_serial)
        payload = {"name": f"Lead {i}", "email": f"lead{i}@gmail.com", **fields}
        out.append(await run_command("lead.capture", payload, actor=SYSTEM))
    return out


async def test_round_robin_gives_each_member_a_lead_in_turn(team, run_command, kith_app):
    leads = await capture(run_command, 6)
    ids = [m.user_id for m in team]
    assert [c.routing.owner_id for c in leads] == ids + ids
    assert {c.routing.rule for c in leads} == {"team EMEA"}
    history = await history_of(kith_app, "lead", leads[0].lead.id)
    routed = [h for h in history if h["action"] == "routed"]
    assert routed[0]["changes"]["routing_rule"] == [None, "team EMEA"]
    assert routed[0]["changes"]["owner_id"] == [None, ids[0]]


async def test_an_away_member_is_skipped_until_back(team, run_command, clock):
    ana, carl, dana = team
    back = clock.now() + timedelta(days=1)
    await run_command(
        "routing_member.set", {"user": "carl@staff.example.com", "away_until": back.isoformat()}
    )
    leads = await capture(run_command, 4)
    assert [c.routing.owner_id for c in leads] == [ana.user_id, dana.user_id] * 2
    clock.advance(days=2)
    later = await capture(run_command, 2)
    assert [c.routing.owner_id for c in later] == [ana.user_id, carl.user_id]


async def test_members_set_their_own_availability_not_others(team, run_command):
    ana, carl, _ = team
    out = await run_command("routing_member.set", {"opted_out": True}, actor=ana)
    assert out.user_id == ana.user_id and not out.can_take_leads
    with pytest.raises(KithError) as info:
        await run_command(
            "routing_member.set", {"user": carl.user_id, "available": False}, actor=ana
        )
    assert info.value.code == "forbidden"
    leads = await capture(run_command, 2)
    assert ana.user_id not in {c.routing.owner_id for c in leads}


async def test_capacity_caps_open_leads(team, run_command):
    ana, carl, dana = team
    await run_command("routing_member.set", {"user": ana.user_id, "capacity": 1})
    leads = await capture(run_command, 5)
    owners = Counter(c.routing.owner_id for c in leads)
    assert owners[ana.user_id] == 1 and owners[carl.user_id] + owners[dana.user_id] == 4
    listed = await run_command("routing_member.list", {"team": "EMEA"})
    by_user = {m.user_id: m for m in listed.members}
    assert by_user[ana.user_id].open_leads == 1 and not by_user[ana.user_id].can_take_leads


async def test_when_everyone_is_full_the_lead_waits_unassigned(team, run_command):
    for member in team:
        await run_command("routing_member.set", {"user": member.user_id, "capacity": 0})
    out = (await capture(run_command, 1))[0]
    assert out.routing.owner_id is None
    assert "nobody in team EMEA" in out.routing.rule
    assert out.routing.contact_task_id is None


@pytest.mark.parametrize(
    "sales_settings", [{"routing": {"team": "EMEA", "strategy": "load_balanced"}}]
)
async def test_load_balanced_gives_the_lead_to_whoever_has_fewest(team, run_command):
    ana, carl, dana = team
    for i in range(3):
        await run_command("lead.create", {"name": f"Old {i}", "owner": ana.user_id}, actor=SYSTEM)
    leads = await capture(run_command, 4)
    owners = [c.routing.owner_id for c in leads]
    assert ana.user_id not in owners[:4]
    assert Counter(owners) == {carl.user_id: 2, dana.user_id: 2}


@pytest.mark.parametrize("sales_settings", [{"routing": {"team": "EMEA", "strategy": "random"}}])
async def test_random_only_picks_members_who_can_take_leads(team, run_command):
    await run_command("routing_member.set", {"user": team[0].user_id, "available": False})
    leads = await capture(run_command, 6)
    assert {c.routing.owner_id for c in leads} <= {team[1].user_id, team[2].user_id}


async def test_the_owner_of_the_existing_organization_comes_first(team, run_command):
    ana, _, dana = team
    await run_command(
        "organization.create", {"name": "Initech", "domain": "initech.io", "owner": dana.user_id}
    )
    out = await run_command("lead.capture", {"name": "Jane", "email": "jane@initech.io"})
    assert out.routing.owner_id == dana.user_id
    assert out.routing.rule == "owner of Initech (#1)"
    await run_command("routing_member.set", {"user": dana.user_id, "available": False})
    out = await run_command("lead.capture", {"name": "Bill", "email": "bill@initech.io"})
    assert out.routing.owner_id == ana.user_id and out.routing.rule == "team EMEA"


@pytest.mark.parametrize(
    "sales_settings",
    [
        {
            "routing": {
                "team": "EMEA",
                "rules": [
                    {"name": "DACH", "when": {"country": ["DE", "AT", "CH"]}, "team": "DACH"},
                    {
                        "name": "Big fish",
                        "when": {"score": {"min": 80}},
                        "users": ["ben@staff.example.com"],
                    },
                    {
                        "name": "Partners",
                        "when": {"custom.channel": "partner"},
                        "users": ["ben@staff.example.com"],
                    },
                ],
            }
        }
    ],
)
async def test_territory_rules_on_any_field(team, run_command, make_actor):
    ben = await make_actor("manager", email="ben@staff.example.com", name="Ben")
    dach = await make_actor("agent", email="dieter@staff.example.com", name="Dieter")
    await run_command("team.create", {"name": "DACH", "members": [dach.user_id]})
    await run_command(
        "custom_field.define",
        {"entity": "lead", "key": "channel", "label": "Channel", "type": "text"},
    )

    german = await run_command(
        "lead.capture",
        {"name": "Hans", "email": "hans@firma.de", "company": "Firma", "country": "de"},
    )
    assert (german.routing.owner_id, german.routing.rule) == (dach.user_id, "rule DACH")
    org = await run_command("organization.get", {"organization": "firma.de"})
    assert org.owner_id == dach.user_id and org.country == "DE"

    big = await run_command("lead.capture", {"name": "Whale", "email": "w@gmail.com", "score": 95})
    assert (big.routing.owner_id, big.routing.rule) == (ben.user_id, "rule Big fish")
    partner = await run_command(
        "lead.capture", {"name": "P", "email": "p@gmail.com", "custom": {"channel": "Partner"}}
    )
    assert partner.routing.rule == "rule Partners"
    other = await run_command(
        "lead.capture", {"name": "Other", "email": "o@gmail.com", "country": "FR"}
    )
    assert other.routing.rule == "team EMEA"


async def test_rules_made_by_command_come_first(team, run_command, make_actor):
    carl = team[1]
    rule = await run_command(
        "routing_rule.save",
        {"name": "Healthcare", "when": {"industry": "health"}, "users": [carl.user_id]},
    )
    assert rule.user_ids == [carl.user_id]
    out = await run_command(
        "lead.capture",
        {"name": "Doc", "email": "doc@clinic.example", "company": "Clinic", "industry": "Health"},
    )
    assert (out.routing.owner_id, out.routing.rule) == (carl.user_id, "rule Healthcare")
    listed = await run_command("routing_rule.list", {})
    assert [r.name for r in listed.rules] == ["Healthcare"] and listed.fallback_team == "EMEA"
    await run_command("routing_rule.delete", {"rule": "Healthcare"})
    assert (await run_command("routing_rule.list", {})).rules == []


async def test_a_rule_needs_a_team_or_users(team, run_command):
    with pytest.raises(KithError) as info:
        await run_command("routing_rule.save", {"name": "Empty", "when": {"country": "FR"}})
    assert info.value.fields[0].field == "team"


async def test_a_lead_created_elsewhere_is_routed_after_commit(team, run_command, kith_app):
    lead = await run_command(
        "lead.create", {"name": "Imported", "email": "i@x.example"}, actor=SYSTEM
    )
    got = await run_command("lead.get", {"lead": lead.id})
    assert got.owner_id == team[0].user_id
    tasks = await rows(kith_app, 'SELECT * FROM "tasks" WHERE "record_type" = \'lead\'')
    assert [t["assignee_id"] for t in tasks] == [team[0].user_id]


async def test_concurrent_captures_skip_and_double_nobody(team, kith_app):
    ids = [m.user_id for m in team]
    n = 30

    async def one(i: int):
        return await kith_app.run(
            "lead.capture", {"name": f"Rush {i}", "email": f"rush{i}@gmail.com"}, SYSTEM
        )

    results = await asyncio.gather(*(one(i) for i in range(n)))
    await kith_app.drain()
    owners = Counter(r.routing.owner_id for r in results)
    assert owners == {uid: n // 3 for uid in ids}
    # In commit order the owners cycle exactly: nobody skipped, nobody twice in a row.
    order = await rows(kith_app, 'SELECT "user_id" FROM "sales_assignments" ORDER BY "id"')
    sequence = [r["user_id"] for r in order]
    start = ids.index(sequence[0])
    assert sequence == [ids[(start + i) % 3] for i in range(n)]


async def test_routing_again_moves_the_contact_task_to_the_new_owner(team, run_command, kith_app):
    ana, carl, _ = team
    out = (await capture(run_command, 1))[0]
    assert out.routing.owner_id == ana.user_id
    same = await run_command("lead.route", {"lead": out.lead.id})
    assert same.routing.owner_id == ana.user_id and same.routing.contact_task_id is None
    await run_command("routing_member.set", {"user": ana.user_id, "available": False})
    moved = await run_command("lead.route", {"lead": out.lead.id, "force": True})
    assert moved.routing.owner_id == carl.user_id
    tasks = await rows(kith_app, 'SELECT "assignee_id", "status" FROM "tasks" ORDER BY "id"')
    assert [(t["assignee_id"], t["status"]) for t in tasks] == [
        (ana.user_id, "cancelled"),
        (carl.user_id, "open"),
    ]
    history = await history_of(kith_app, "lead", out.lead.id)
    assert [h["changes"]["owner_id"] for h in history if h["action"] == "routed"][-1] == [
        ana.user_id,
        carl.user_id,
    ]


async def test_two_leads_from_one_new_company_at_once_both_land_on_one_organization(team, kith_app):
    """On PostgreSQL both captures try to create the company's organization; the loser's
    transaction is run again and finds the winner's (a web form must not fail on that)."""

    async def one(i: int):
        return await kith_app.run(
            "lead.capture",
            {"name": f"Ops {i}", "email": f"ops{i}@newco.example", "company": "NewCo"},
            SYSTEM,
        )

    results = await asyncio.gather(*(one(i) for i in range(6)))
    await kith_app.drain()
    orgs = await rows(
        kith_app, 'SELECT "id" FROM "organizations" WHERE "domain" = \'newco.example\''
    )
    assert len(orgs) == 1
    assert {r.lead.organization_id for r in results} == {orgs[0]["id"]}
