"""Bad input: a clear error naming the field and the reason, and nothing written."""

from __future__ import annotations

from datetime import timedelta

import kith
import pytest
from conftest import open_ticket, snapshot, utc


async def refused(kith_app, run_command, name, payload, actor=None) -> kith.KithError:
    before = await snapshot(kith_app)
    with pytest.raises(kith.KithError) as info:
        await run_command(name, payload, actor=actor)
    assert await snapshot(kith_app) == before, "a refused command wrote something"
    return info.value


def fields(err: kith.KithError) -> list[str]:
    return [f.field for f in err.fields]


async def test_unknown_assignee(kith_app, desk, run_command):
    ticket = await open_ticket(run_command)
    err = await refused(
        kith_app, run_command, "ticket.assign", {"ticket": ticket.id, "assignee": "nobody@x.io"}
    )
    assert err.code == "not_found" and fields(err) == ["assignee"]


async def test_unknown_team(kith_app, desk, run_command):
    ticket = await open_ticket(run_command)
    err = await refused(
        kith_app, run_command, "ticket.assign", {"ticket": ticket.id, "team": "Billing"}
    )
    assert err.code == "not_found" and fields(err) == ["team"]


async def test_unknown_ticket(kith_app, desk, run_command):
    err = await refused(kith_app, run_command, "ticket.reply", {"ticket": "#999", "body": "Hi"})
    assert err.code == "not_found" and fields(err) == ["ticket"]


async def test_agent_outside_a_team_that_takes_only_its_members(
    kith_app, desk, run_command, make_actor
):
    outsider = await make_actor("agent", email="out@kith.example", name="Otto Side")
    ticket = await open_ticket(run_command)
    err = await refused(
        kith_app, run_command, "ticket.assign", {"ticket": ticket.id, "assignee": outsider.user_id}
    )
    assert err.code == "not_in_team" and fields(err) == ["assignee"]
    assert "Otto Side is not in team Support" in err.message
    # Once the team allows outside agents, the same assignment works.
    await run_command(
        "service_team.configure", {"team": "Support", "allow_outside_assignees": True}
    )
    done = await run_command("ticket.assign", {"ticket": ticket.id, "assignee": outsider.user_id})
    assert done.ticket.assignee_id == outsider.user_id


async def test_a_viewer_cannot_hold_tickets(kith_app, desk, run_command, make_actor):
    viewer = await make_actor("viewer", email="v@kith.example", name="Vi Ewer")
    ticket = await open_ticket(run_command)
    err = await refused(
        kith_app, run_command, "ticket.assign", {"ticket": ticket.id, "assignee": viewer.user_id}
    )
    assert fields(err) == ["assignee"] and "cannot hold tickets" in err.message


@pytest.mark.parametrize(
    ("path", "to", "reason"),
    [
        (["pending"], "new", "new only until someone works on it"),
        (["solved", "closed"], "open", "closed tickets stay closed"),
        ([], "closed", "only a solved ticket can be closed"),
    ],
)
async def test_status_changes_that_make_no_sense(kith_app, desk, run_command, path, to, reason):
    ticket = await open_ticket(run_command)
    for status in path:
        await run_command("ticket.set_status", {"ticket": ticket.id, "status": status})
    err = await refused(
        kith_app, run_command, "ticket.set_status", {"ticket": ticket.id, "status": to}
    )
    assert err.code == "invalid_transition" and fields(err) == ["status"]
    assert reason in err.message


async def test_an_unknown_status(kith_app, desk, run_command):
    ticket = await open_ticket(run_command)
    err = await refused(
        kith_app, run_command, "ticket.set_status", {"ticket": ticket.id, "status": "done"}
    )
    assert err.code == "invalid_input" and fields(err) == ["status"]


async def test_a_reply_on_a_closed_ticket(kith_app, desk, run_command):
    ticket = await open_ticket(run_command)
    await run_command("ticket.set_status", {"ticket": ticket.id, "status": "solved"})
    await run_command("ticket.set_status", {"ticket": ticket.id, "status": "closed"})
    err = await refused(kith_app, run_command, "ticket.reply", {"ticket": ticket.id, "body": "Hi"})
    assert err.code == "closed" and "follow-up" in err.message


async def test_a_calendar_with_no_working_hours(kith_app, desk, run_command):
    err = await refused(kith_app, run_command, "calendar.create", {"name": "Never", "hours": {}})
    assert fields(err) == ["hours"] and "needs working hours" in err.message


async def test_a_calendar_in_no_time_zone(kith_app, desk, run_command):
    err = await refused(
        kith_app,
        run_command,
        "calendar.create",
        {"name": "Mars", "time_zone": "Mars/Olympus", "hours": {"mon": "09:00-17:00"}},
    )
    assert fields(err) == ["time_zone"]


async def test_hours_that_end_before_they_start(kith_app, desk, run_command):
    err = await refused(
        kith_app,
        run_command,
        "calendar.update",
        {"calendar": "Paris office", "hours": {"mon-fri": "18:00-09:00"}},
    )
    assert fields(err) == ["hours"] and "night shift" in err.message


async def test_a_policy_without_targets_or_with_a_bad_duration(kith_app, desk, run_command):
    err = await refused(
        kith_app, run_command, "sla_policy.create", {"name": "Empty", "targets": {}}
    )
    assert "at least one target" in err.message
    err = await refused(
        kith_app,
        run_command,
        "sla_policy.create",
        {"name": "Odd", "targets": {"normal": {"first_response": "soon"}}},
    )
    assert fields(err) == ["targets.normal.first_response"] and "not a duration" in err.message
    err = await refused(
        kith_app,
        run_command,
        "sla_policy.create",
        {
            "name": "Loud",
            "targets": {"normal": {"first_response": 30}},
            "escalation": [{"on": "breach", "actions": [{"type": "notify_slack"}]}],
        },
    )
    assert fields(err)[0].startswith("escalation.0.actions.0") and "needs a channel" in err.message


async def test_a_new_ticket_needs_a_subject(kith_app, desk, run_command):
    err = await refused(
        kith_app, run_command, "ticket.customer_message", {"from": "jane@initech.io", "body": "Hi"}
    )
    assert fields(err) == ["subject"]


async def test_a_bad_sender_address(kith_app, desk, run_command):
    err = await refused(
        kith_app,
        run_command,
        "ticket.customer_message",
        {"from": "not an address", "subject": "x", "body": "Hi"},
    )
    assert fields(err) == ["from"]


async def test_merging_a_ticket_into_itself_or_twice(kith_app, desk, run_command):
    a = await open_ticket(run_command)
    b = await open_ticket(run_command, subject="Same problem")
    err = await refused(kith_app, run_command, "ticket.merge", {"survivor": a.id, "loser": a.id})
    assert fields(err) == ["loser"]
    await run_command("ticket.merge", {"survivor": a.id, "loser": b.id})
    err = await refused(kith_app, run_command, "ticket.merge", {"survivor": a.id, "loser": b.id})
    assert err.code == "merged" and fields(err) == ["loser"]
    err = await refused(
        kith_app, run_command, "ticket.set_priority", {"ticket": b.id, "priority": "high"}
    )
    assert err.code == "merged" and f"merged into #{a.id}" in err.message


async def test_a_macro_with_an_unknown_placeholder_or_python_internals(kith_app, desk, run_command):
    err = await refused(
        kith_app, run_command, "macro.create", {"name": "Typo", "body": "Hi {{ requestor.name }}"}
    )
    assert fields(err) == ["body"] and "requestor" in err.message
    err = await refused(
        kith_app,
        run_command,
        "macro.create",
        {"name": "Escape", "body": "{{ ticket.__class__.__mro__[1].__subclasses__() }}"},
    )
    assert fields(err) == ["body"]


async def test_a_tampered_or_expired_rating_link(
    kith_app, desk, run_command, run_jobs, clock, events
):
    ticket = await open_ticket(run_command)
    await run_command("ticket.set_status", {"ticket": ticket.id, "status": "solved"})
    await run_jobs()
    token = next(e for e in events if e.name == "ticket.csat_requested").data["token"]
    payload, _, signature = token.partition(".")
    forged = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    err = await refused(kith_app, run_command, "csat.record", {"token": forged, "rating": "good"})
    assert err.code == "invalid_token" and fields(err) == ["token"]
    clock.advance(timedelta(days=31))
    err = await refused(kith_app, run_command, "csat.record", {"token": token, "rating": "good"})
    assert "expired" in err.message


async def test_an_agent_cannot_change_someone_elses_availability(kith_app, desk, run_command):
    err = await refused(
        kith_app,
        run_command,
        "agent.set_availability",
        {"user": desk.dan.user_id, "available": False},
        actor=desk.chloe,
    )
    assert err.code == "forbidden"


async def test_service_settings_are_for_managers(kith_app, desk, run_command):
    err = await refused(
        kith_app,
        run_command,
        "calendar.create",
        {"name": "Mine", "hours": {"mon": "09:00-10:00"}},
        actor=desk.chloe,
    )
    assert err.code == "forbidden" and "service.manage" in err.message


async def test_nothing_is_half_done_when_a_reply_fails(kith_app, desk, run_command, clock):
    clock.set(utc(2026, 1, 7, 8, 0))
    ticket = await open_ticket(run_command)
    err = await refused(
        kith_app,
        run_command,
        "ticket.reply",
        {"ticket": ticket.id, "body": "Hi", "cc": ["ok@x.io", "bad address"]},
    )
    assert fields(err) == ["cc.1"]
