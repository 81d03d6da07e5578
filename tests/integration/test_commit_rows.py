"""A command's history and outbox rows are all written with its commit, in order, however
many it records; and none of them when it fails."""

from __future__ import annotations

import kith
import pytest
from kith.testing import count_rows
from pydantic import BaseModel, ConfigDict


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    names: list[str]
    fail: bool = False


@kith.command("bench.batch", input=Batch, permission="contacts.write")
async def batch(ctx, data):
    """Create one contact per name (a test command)."""
    ids = []
    for name in data.names:
        row = await ctx.insert(Contact, {"name": name})
        ctx.emit("contact.created", "contact", row["id"], person=name)
        ids.append(row["id"])
    if data.fail:
        raise kith.invalid("fail", "asked to fail")
    return {"ids": ids}


class BatchPlugin:
    @kith.hookimpl
    def kith_commands(self):
        return [batch]


from kith.tables import Contact  # noqa: E402


@pytest.fixture
def kith_plugins():
    return [("batch", BatchPlugin())]


@pytest.mark.parametrize("count", [1, 3, 17, 40])
async def test_every_history_row_and_event_lands_in_order(kith_app, run_command, events, count):
    names = [f"Person {i}" for i in range(count)]
    result = await run_command("bench.batch", {"names": names})
    history = await kith_app.db.fetch(
        "SELECT entity_id, command FROM history WHERE command = 'bench.batch' ORDER BY id"
    )
    outbox = await kith_app.db.fetch(
        "SELECT entity_id, name FROM outbox_events WHERE name = 'contact.created' ORDER BY id"
    )
    assert [h["entity_id"] for h in history] == result["ids"]
    assert [o["entity_id"] for o in outbox] == result["ids"]
    assert [e.data["person"] for e in events if e.name == "contact.created"] == names


async def test_a_failing_batch_writes_no_row_history_or_event(kith_app, run_command, events):
    before = {t: await count_rows(kith_app, t) for t in ("contacts", "history", "outbox_events")}
    with pytest.raises(kith.KithError) as err:
        await run_command("bench.batch", {"names": ["A", "B"], "fail": True})
    assert err.value.fields[0].field == "fail"
    after = {t: await count_rows(kith_app, t) for t in ("contacts", "history", "outbox_events")}
    assert after == before
    assert not [e for e in events if e.name == "contact.created"]
