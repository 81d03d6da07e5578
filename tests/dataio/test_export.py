"""Export any list as CSV or JSON lines, streamed, with custom fields as columns."""

from __future__ import annotations

import csv
import io
import json

import pytest
from kith import KithError
from kith.dataio.export import export_stream
from kith.testing import count_rows

from .conftest import import_now


async def collect(kith_app, actor, entity, **kwargs) -> str:
    return "".join([c async for c in export_stream(kith_app, actor, entity, **kwargs)])


async def test_contacts_export_as_csv_with_their_addresses_and_custom_fields(
    kith_app, admin, run_command
):
    await run_command(
        "custom_field.define",
        {"entity": "contact", "key": "tier", "label": "Tier", "type": "text"},
    )
    org = await run_command("organization.create", {"name": "Initech", "domain": "initech.io"})
    await run_command(
        "contact.create",
        {
            "name": "Jane Roe",
            "email": "jane@initech.io",
            "emails": ["jr@home.example"],
            "organization": org.id,
            "custom": {"tier": "gold"},
            "title": "=HYPERLINK(evil)",
        },
    )
    await run_command("contact.create", {"name": "Zoë Dupré", "phone": "+33 1"})

    text = await collect(kith_app, admin, "contacts")

    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in table] == ["Jane Roe", "Zoë Dupré"]
    jane = table[0]
    assert jane["email"] == "jane@initech.io"
    assert jane["emails"] == "jane@initech.io; jr@home.example"
    assert jane["organization_id"] == str(org.id)
    assert jane["custom.tier"] == "gold"
    assert jane["title"] == "'=HYPERLINK(evil)"
    assert table[1]["phone"] == "+33 1"


async def test_deals_export_as_json_lines_with_money_in_major_units(kith_app, admin, run_command):
    await run_command("pipeline.create", {"name": "Sales", "stages": [{"name": "New"}]})
    await run_command(
        "deal.create", {"title": "Initech — Pro", "value": "24000.50", "currency": "EUR"}
    )

    lines = (await collect(kith_app, admin, "deals", fmt="jsonl")).splitlines()

    record = json.loads(lines[0])
    assert (record["title"], record["value"], record["value_minor"]) == (
        "Initech — Pro",
        "24000.50",
        2400050,
    )


async def test_an_export_streams_page_by_page_and_filters(kith_app, admin, csv_file):
    kith_app.settings.import_batch_rows = 1000
    text = "Name,Email,Lifecycle stage\n" + "".join(
        f"P{i},p{i}@x.example,{'customer' if i % 3 == 0 else 'lead'}\n" for i in range(1, 1201)
    )
    await import_now(kith_app, admin, "contacts", csv_file("many.csv", text))

    chunks = [c async for c in export_stream(kith_app, admin, "contacts")]
    assert len(chunks) == 1 + 3  # header, then pages of 500
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert len(rows) == 1200 and len({r["id"] for r in rows}) == 1200

    customers = await collect(kith_app, admin, "contacts", filters={"lifecycle_stage": "customer"})
    assert len(list(csv.DictReader(io.StringIO(customers)))) == 400


async def test_archived_records_are_left_out_unless_asked_for(kith_app, admin, run_command):
    a = await run_command("organization.create", {"name": "Old Co"})
    await run_command("organization.create", {"name": "New Co"})
    await run_command("organization.archive", {"organization": a.id})
    assert "Old Co" not in await collect(kith_app, admin, "organizations")
    assert "Old Co" in await collect(kith_app, admin, "organizations", include_archived=True)


async def test_the_export_command_returns_content_inline_up_to_its_limit(kith_app, run_command):
    for name in ("A", "B", "C"):
        await run_command("organization.create", {"name": name})
    result = await run_command("export.run", {"entity": "organizations", "limit": 2})
    assert (result.rows, result.truncated) == (2, True)
    assert [r["name"] for r in csv.DictReader(io.StringIO(result.content))] == ["A", "B"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"entity": "planets"}, "entity"),
        ({"entity": "contacts", "filters": {"shoe_size": "42"}}, "filter.shoe_size"),
        ({"entity": "contacts", "filters": {"owner": "bob"}}, "filter.owner"),
        ({"entity": "contacts", "format": "xlsx"}, "format"),
    ],
)
async def test_bad_export_requests_name_the_field(kith_app, run_command, args, field):
    with pytest.raises(KithError) as info:
        await run_command("export.run", args)
    assert info.value.fields[0].field == field


async def test_an_agent_may_not_export(kith_app, run_command, make_actor):
    agent = await make_actor("agent")
    with pytest.raises(KithError) as info:
        await run_command("export.run", {"entity": "contacts"}, actor=agent)
    assert info.value.code == "forbidden"
    assert await count_rows(kith_app, "contacts") == 0
