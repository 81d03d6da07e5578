"""``<entity>.timeline``: history, activities, tasks and plugin items, newest first, in pages."""

from __future__ import annotations

import kith
import pytest
from kith import KithError


class Emails:
    """A plugin whose e-mails show on deal timelines (kept in memory for the test)."""

    def __init__(self) -> None:
        self.emails: list[dict] = []
        self.calls: list[object] = []

    @kith.hookimpl
    async def kith_timeline_items(self, ctx, entity, record_id, before, limit):
        self.calls.append(before)
        if entity != "deal":
            return []
        items = [e for e in self.emails if e["deal"] == record_id]
        if before is not None:
            items = [
                e
                for e in items
                if (e["at"], "email", e["id"]) < (before.at, before.kind, before.id)
            ]
        items.sort(key=lambda e: (e["at"], e["id"]), reverse=True)
        return [
            {
                "at": e["at"],
                "kind": "email",
                "id": e["id"],
                "summary": f"email: {e['subject']}",
                "data": {"subject": e["subject"]},
            }
            for e in items[:limit]
        ]


class Failing:
    @kith.hookimpl
    def kith_timeline_items(self, entity):
        raise RuntimeError("mail server down")


class Digest:
    """A plugin whose write command reads a timeline inside its own transaction."""

    @kith.hookimpl
    def kith_commands(self):
        from pydantic import BaseModel, ConfigDict

        class Note(BaseModel):
            model_config = ConfigDict(extra="forbid")
            deal: int

        @kith.command("digest.note", input=Note, permission="activities.write")
        async def digest(ctx, data):
            """Log a note counting the deal's timeline items."""
            page = await ctx.run("deal.timeline", {"deal": data.deal})
            await ctx.run(
                "activity.log",
                {"kind": "note", "deal": data.deal, "body": f"{len(page.items)} items"},
            )
            return {"items": len(page.items)}

        return [digest]


emails = Emails()


@pytest.fixture
def kith_plugins():
    emails.emails.clear()
    emails.calls.clear()
    return [("emails", emails), ("failing", Failing()), ("digest", Digest())]


async def test_a_command_can_read_a_timeline_inside_its_transaction(run_command):
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "New"}]})
    deal = await run_command("deal.create", {"title": "Initech — Pro"})
    assert await run_command("digest.note", {"deal": deal.id}) == {"items": 1}
    with pytest.raises(KithError) as info:
        await run_command("digest.note", {"deal": 999})
    assert info.value.code == "not_found"


async def test_a_deal_timeline_tells_its_story_newest_first(run_command, clock):
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "New"}]})
    deal = await run_command("deal.create", {"title": "Initech — Pro", "value": "1000"})
    clock.advance(minutes=5)
    await run_command("activity.log", {"kind": "call", "deal": deal.id, "subject": "Intro call"})
    clock.advance(minutes=5)
    emails.emails.append(
        {"deal": deal.id, "at": clock.now(), "id": 1, "subject": "Proposal attached"}
    )
    clock.advance(minutes=5)
    await run_command("task.create", {"title": "Follow up", "deal": deal.id})
    clock.advance(minutes=5)
    await run_command("deal.update", {"deal": deal.id, "value": "2000"})

    page = await run_command("deal.timeline", {"deal": deal.id})
    assert [(i.kind, i.summary) for i in page.items] == [
        ("history", "updated: value_minor"),
        ("task", "task: Follow up (open)"),
        ("email", "email: Proposal attached"),
        ("activity", "call: Intro call"),
        ("history", "created"),
    ]
    assert page.items[2].source == "emails" and page.items[0].source == "core"
    assert page.items[0].data["changes"] == {"value_minor": [100000, 200000]}
    assert page.next_cursor is None


async def test_pages_never_repeat_or_skip_an_item(run_command, clock):
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "New"}]})
    deal = await run_command("deal.create", {"title": "Busy deal"})
    for i in range(12):
        if i % 3 == 0:
            clock.advance(seconds=30)  # several items share a timestamp
        await run_command("activity.log", {"kind": "note", "deal": deal.id, "body": f"note {i}"})
        emails.emails.append({"deal": deal.id, "at": clock.now(), "id": i, "subject": f"m{i}"})
        await run_command("deal.update", {"deal": deal.id, "title": f"Busy deal {i}"})
    everything = (await run_command("deal.timeline", {"deal": deal.id, "limit": 200})).items
    assert len(everything) == 1 + 12 * 3
    assert [i.at for i in everything] == sorted((i.at for i in everything), reverse=True)

    walked, cursor = [], None
    while True:
        page = await run_command(
            "deal.timeline", {"deal": deal.id, "limit": 5, **({"cursor": cursor} if cursor else {})}
        )
        walked += [(i.kind, i.id) for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert walked == [(i.kind, i.id) for i in everything]
    assert emails.calls[-1] is not None  # plugins were told where the page started


async def test_every_entity_has_a_timeline(run_command):
    ada = await run_command("contact.create", {"name": "Ada"})
    await run_command("activity.log", {"kind": "note", "contact": ada.id, "body": "Met at a fair"})
    await run_command("task.create", {"title": "Send brochure", "contact": ada.id})
    await run_command("contact.update", {"contact": ada.id, "phone": "+44 1"})
    kinds = [i.kind for i in (await run_command("contact.timeline", {"contact": "Ada"})).items]
    assert sorted(kinds) == ["activity", "history", "history", "task"]
    user = await run_command("user.timeline", {"user": "admin@staff.example.com"})
    assert [i.summary for i in user.items] == ["created"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"deal": 999}, "deal"),
        ({"deal": 1, "cursor": "garbage"}, "cursor"),
        ({"deal": 1, "limit": 500}, "limit"),
    ],
)
async def test_bad_timeline_input(run_command, payload, field):
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "New"}]})
    await run_command("deal.create", {"title": "X"})
    with pytest.raises(KithError) as info:
        await run_command("deal.timeline", payload)
    assert info.value.fields[0].field == field


async def test_a_cursor_of_another_record_is_refused(run_command, clock):
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "New"}]})
    one = await run_command("deal.create", {"title": "One"})
    two = await run_command("deal.create", {"title": "Two"})
    for _ in range(3):
        clock.advance(minutes=1)
        await run_command("activity.log", {"kind": "note", "deal": one.id, "body": "x"})
    page = await run_command("deal.timeline", {"deal": one.id, "limit": 2})
    with pytest.raises(KithError) as info:
        await run_command("deal.timeline", {"deal": two.id, "cursor": page.next_cursor})
    assert info.value.fields[0].field == "cursor"
