"""Sequences that branch on a reply ("follow up if they did not answer"), and the cap on all
marketing mail a day from our sending address."""

from __future__ import annotations

import kith
import pytest
from kith.settings import PluginsFile

FOLLOW_UP = {
    "name": "Follow up",
    "purpose": "newsletter",
    "steps": [
        {"kind": "email", "subject": "Quick question, {{ contact.first_name }}", "text": "Hi!"},
        {"kind": "branch", "on": "reply", "within_days": 3, "replied": 4},
        {"kind": "email", "subject": "Following up", "text": "Did you see my note?"},
        {"kind": "task", "title": "Call them", "due_days": 1},
    ],
    "window_start": 0,
    "window_end": 24,
}


@pytest.fixture
def kith_plugins_file(kith_plugins_file: PluginsFile) -> PluginsFile:
    kith_plugins_file.settings["marketing"]["sender_daily_cap"] = 2
    return kith_plugins_file


async def subscriber(run_command, name: str, email: str):
    contact = await run_command("contact.create", {"name": name, "email": email})
    await run_command(
        "consent.grant", {"contact": contact.id, "purpose": "newsletter", "source": "call"}
    )
    return contact


async def test_no_reply_in_time_sends_the_follow_up(run_command, run_jobs, sink, clock):
    grace = await subscriber(run_command, "Grace Hopper", "grace@navy.example")
    await run_command("sequence.create", FOLLOW_UP)
    await run_command("sequence.enroll", {"sequence": "Follow up", "contact": grace.id})
    await run_jobs()
    assert [m["Subject"] for m in sink.messages] == ["Quick question, Grace"]
    clock.advance(days=2)
    await run_jobs()
    assert len(sink.messages) == 1  # still waiting for a reply
    clock.advance(days=1, minutes=1)
    await run_jobs()
    assert [m["Subject"] for m in sink.messages][-1] == "Following up"
    (enrollment,) = (await run_command("sequence.enrollments", {"contact": grace.id})).items
    assert enrollment.status == "completed"
    assert [e["took"] for e in enrollment.log if e["kind"] == "branch_taken"] == ["no reply"]


async def test_a_reply_takes_the_other_way_at_once(run_command, run_jobs, sink, clock):
    ada = await subscriber(run_command, "Ada Lovelace", "ada@analytical.example")
    await run_command("sequence.create", FOLLOW_UP)
    await run_command("sequence.enroll", {"sequence": "Follow up", "contact": ada.id})
    await run_jobs()
    clock.advance(hours=5)
    outcome = await run_command("sequence.replied", {"contact": ada.id})
    assert outcome.stopped == [] and len(outcome.branched) == 1
    await run_jobs()
    (enrollment,) = (await run_command("sequence.enrollments", {"contact": ada.id})).items
    assert enrollment.status == "completed"
    assert [e["took"] for e in enrollment.log if e["kind"] == "branch_taken"] == ["replied"]
    assert [t.title for t in (await run_command("task.list", {})).items] == ["Call them"]
    clock.advance(days=5)
    await run_jobs()
    assert [m["Subject"] for m in sink.messages] == ["Quick question, Ada"]  # no follow-up


async def test_a_reply_outside_a_branch_still_stops_the_sequence(run_command, run_jobs):
    ada = await subscriber(run_command, "Ada Lovelace", "ada@analytical.example")
    steps = [{"kind": "wait", "days": 1}, FOLLOW_UP["steps"][0], {"kind": "branch"}]
    await run_command("sequence.create", {**FOLLOW_UP, "steps": steps})
    await run_command("sequence.enroll", {"sequence": "Follow up", "contact": ada.id})
    await run_jobs()
    outcome = await run_command("sequence.replied", {"contact": ada.id})
    assert len(outcome.stopped) == 1 and outcome.branched == []


async def test_a_branch_may_only_go_forward(run_command):
    steps = [*FOLLOW_UP["steps"][:1], {"kind": "branch", "replied": 1}, FOLLOW_UP["steps"][2]]
    with pytest.raises(kith.KithError) as refused:
        await run_command("sequence.create", {**FOLLOW_UP, "steps": steps})
    assert refused.value.fields[0].field == "steps.1.replied"
    assert "goes forward" in refused.value.fields[0].message
    assert (await run_command("sequence.enrollments", {})).items == []


async def test_all_sequences_together_respect_the_senders_daily_cap(
    run_command, run_jobs, sink, clock
):
    await run_command("sequence.create", FOLLOW_UP)
    await run_command("sequence.create", {**FOLLOW_UP, "name": "Other"})
    people = [
        await subscriber(run_command, name, f"{name.split()[0].lower()}@example.org")
        for name in ("Ana One", "Ben Two", "Cy Three")
    ]
    for person, sequence in zip(people, ["Follow up", "Other", "Other"], strict=True):
        await run_command("sequence.enroll", {"sequence": sequence, "contact": person.id})
    await run_jobs()
    assert len(sink.messages) == 2  # the cap is 2 a day, whatever the sequence
    clock.advance(days=1, minutes=1)
    await run_jobs()
    assert "Quick question, Cy" in [m["Subject"] for m in sink.messages]
