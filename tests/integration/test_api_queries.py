"""Finding records over the REST API with the core's queries: search, filters (custom fields,
tags, operators), cursor pages, timelines — and the token's user's record visibility."""

from __future__ import annotations

import httpx
import kith
import pytest
from kith.web import create_app

API = "/api/v1"


@pytest.fixture
async def client(kith_app):
    app = create_app(kith_app, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as c:
        yield c


@pytest.fixture
def headers_for(kith_app):
    async def make(actor):
        created = await kith_app.run("token.create", {"user": actor.user_id}, kith.SYSTEM)
        return {"Authorization": f"Bearer {created.token}"}

    return make


@pytest.fixture
async def admin_headers(headers_for, admin):
    return await headers_for(admin)


async def create(client, headers, path, body):
    r = await client.post(f"{API}/{path}", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_newcomer_creates_then_finds_a_contact(client, admin_headers):
    await create(
        client, admin_headers, "contacts", {"name": "Ada Lovelace", "email": "ada@example.com"}
    )
    await create(client, admin_headers, "contacts", {"name": "Charles Babbage"})
    r = await client.get(
        f"{API}/contacts",
        params={"q": "lovelace", "filter[lifecycle_stage]": "subscriber", "limit": "20"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert [c["name"] for c in r.json()["items"]] == ["Ada Lovelace"]
    assert r.json()["next_cursor"] is None


async def test_pages_follow_the_cursor_without_gaps_or_repeats(client, admin_headers):
    for i in range(7):
        await create(client, admin_headers, "contacts", {"name": f"Person {i}"})
    seen: list[int] = []
    url = f"{API}/contacts?sort=-id&limit=3"
    pages = 0
    while url:
        r = await client.get(url, headers=admin_headers)
        assert r.status_code == 200, r.text
        seen += [c["id"] for c in r.json()["items"]]
        pages += 1
        link = r.headers.get("link")
        url = link.split(";")[0].strip("<>") if link else None
        assert (link is None) == (r.json()["next_cursor"] is None)
    assert pages == 3 and seen == sorted(seen, reverse=True) and len(set(seen)) == 7


async def test_filters_on_custom_fields_tags_and_operators(client, admin_headers):
    await create(
        client,
        admin_headers,
        "custom-fields",
        {
            "entity": "contact",
            "key": "tier",
            "label": "Tier",
            "type": "choice",
            "options": ["Gold", "Silver"],
        },
    )
    gold = await create(
        client, admin_headers, "contacts", {"name": "Gold One", "custom": {"tier": "Gold"}}
    )
    await create(
        client, admin_headers, "contacts", {"name": "Silver One", "custom": {"tier": "Silver"}}
    )
    r = await client.post(
        f"{API}/tags/vip/add",
        json={"entity": "contact", "record": gold["id"]},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text

    async def names(params):
        r = await client.get(f"{API}/contacts", params=params, headers=admin_headers)
        assert r.status_code == 200, r.text
        return sorted(c["name"] for c in r.json()["items"])

    assert await names({"filter[custom.tier]": "Gold"}) == ["Gold One"]
    assert await names([("filter[custom.tier]", "Gold"), ("filter[custom.tier]", "Silver")]) == [
        "Gold One",
        "Silver One",
    ]
    assert await names({"filter[tag]": "vip"}) == ["Gold One"]
    assert await names({"filter[id][gt]": str(gold["id"])}) == ["Silver One"]
    r = await client.get(f"{API}/contacts", params={"filter[shoe]": "9"}, headers=admin_headers)
    assert r.status_code == 400 and r.json()["command"] == "contact.list"
    assert "filter" in r.json()["fields"][0]["field"]


async def test_the_api_caps_pages_below_the_commands_own_cap(client, admin_headers):
    r = await client.get(f"{API}/contacts", params={"limit": "150"}, headers=admin_headers)
    assert r.status_code == 400 and r.json()["fields"][0]["field"] == "limit"
    r = await client.get(f"{API}/contacts", params={"cursor": "forged"}, headers=admin_headers)
    assert r.status_code == 400 and r.json()["fields"][0]["field"] == "cursor"


async def test_a_contacts_timeline_shows_what_happened(client, admin_headers):
    ada = await create(client, admin_headers, "contacts", {"name": "Ada"})
    await client.patch(
        f"{API}/contacts/{ada['id']}", json={"title": "Countess"}, headers=admin_headers
    )
    r = await client.get(f"{API}/contacts/{ada['id']}/timeline", headers=admin_headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) >= 2 and "title" in str(items[0])


async def test_a_token_sees_only_what_its_user_may_see(
    client, admin_headers, headers_for, make_actor, run_command
):
    await run_command("setting.set", {"key": "visibility.contact", "value": "own"})
    ana, ben = await make_actor("agent"), await make_actor("agent")
    ana_h, ben_h = await headers_for(ana), await headers_for(ben)
    mine = await create(client, ana_h, "contacts", {"name": "Ana's customer"})
    await create(client, ben_h, "contacts", {"name": "Ben's customer"})
    r = await client.get(f"{API}/contacts", headers=ana_h)
    assert [c["name"] for c in r.json()["items"]] == ["Ana's customer"]
    assert (await client.get(f"{API}/contacts/{mine['id']}", headers=ben_h)).status_code == 404
    r = await client.patch(f"{API}/contacts/{mine['id']}", json={"title": "x"}, headers=ben_h)
    assert r.status_code == 404
    r = await client.get(f"{API}/contacts", headers=admin_headers)
    assert len(r.json()["items"]) == 2
