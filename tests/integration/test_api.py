"""The REST API, as a program using it would notice: tokens, roles and scopes, resources,
errors as problem+json, limits, idempotency, batches and plugins' commands."""

from __future__ import annotations

import asyncio
import json

import httpx
import kith
import pytest
from api_support import SEEN, WidgetPlugin
from kith.settings import PluginsFile
from kith.testing import count_rows
from kith.web import create_app

API = "/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture
def kith_plugins():
    return [("widgets", WidgetPlugin())]


@pytest.fixture
def api_settings() -> dict:
    return {}


@pytest.fixture
def kith_plugins_file(api_settings):
    return PluginsFile(settings={"api": api_settings})


@pytest.fixture
async def client(kith_app):
    app = create_app(kith_app, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app, client=("10.0.0.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as c:
        yield c


@pytest.fixture
def token_for(kith_app, make_actor):
    """``await token_for("agent", scopes=[...], expires=None)`` → (headers, actor, token)."""

    async def make(role="agent", scopes=(), expires=None, actor=None):
        actor = actor or await make_actor(role)
        created = await kith_app.run(
            "token.create",
            {"user": actor.user_id, "scopes": list(scopes), "expires": expires},
            kith.SYSTEM,
        )
        return {"Authorization": f"Bearer {created.token}"}, actor, created

    return make


@pytest.fixture
async def admin_headers(token_for, admin):
    headers, _, _ = await token_for(actor=admin)
    return headers


def assert_problem(response, status, code, field=None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:kith:problem:{code}"
    assert body["detail"]
    assert "Traceback" not in response.text
    if field is not None:
        assert field in [f["field"] for f in body["fields"]], body
    return body


# ---- auth ----------------------------------------------------------------------------------------


async def test_a_request_without_a_token_is_refused_with_401(client, kith_app):
    r = await client.post(f"{API}/contacts", json={"name": "Ada"})
    body = assert_problem(r, 401, "unauthorized", "authorization")
    assert "kith token create" in body["detail"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert await count_rows(kith_app, "contacts") == 0


async def test_a_made_up_token_is_refused_with_401(client):
    for value in ("Bearer kith_notarealtoken", "Bearer something-else", "Basic YWRhOnB3"):
        r = await client.get(f"{API}/contacts/1", headers={"Authorization": value})
        assert_problem(r, 401, "unauthorized")


async def test_a_revoked_token_stops_working_at_once(client, token_for, admin_headers):
    headers, _, created = await token_for("agent")
    assert (
        await client.post(f"{API}/contacts", json={"name": "Ada"}, headers=headers)
    ).status_code == 201
    r = await client.post(f"{API}/tokens/{created.id}/revoke", headers=admin_headers)
    assert r.status_code == 200 and r.json()["revoked_at"]
    r = await client.post(f"{API}/contacts", json={"name": "Bob"}, headers=headers)
    assert "revoked" in assert_problem(r, 401, "unauthorized")["detail"]


async def test_an_expired_token_is_refused(client, token_for, clock, kith_app):
    headers, _, _ = await token_for("agent", expires="2h")
    assert (
        await client.post(f"{API}/contacts", json={"name": "Ada"}, headers=headers)
    ).status_code == 201
    clock.advance(hours=3)
    r = await client.post(f"{API}/contacts", json={"name": "Bob"}, headers=headers)
    assert "expired" in assert_problem(r, 401, "unauthorized")["detail"]
    assert await count_rows(kith_app, "contacts") == 1


async def test_a_deactivated_users_token_is_refused_within_seconds(
    client, token_for, admin_headers, clock
):
    headers, actor, _ = await token_for("agent")
    assert (await client.get(f"{API}/users/me", headers=headers)).status_code == 200
    r = await client.patch(
        f"{API}/users/{actor.user_id}", json={"active": False}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    clock.advance(seconds=6)  # token lookups are cached for 5 s per process
    r = await client.get(f"{API}/users/me", headers=headers)
    assert "deactivated" in assert_problem(r, 401, "unauthorized")["detail"]


async def test_a_viewer_may_read_but_not_write(client, token_for, admin_headers, kith_app):
    await client.post(f"{API}/contacts", json={"name": "Ada"}, headers=admin_headers)
    headers, _, _ = await token_for("viewer")
    assert (await client.get(f"{API}/contacts/1", headers=headers)).status_code == 200
    r = await client.post(f"{API}/contacts", json={"name": "Bob"}, headers=headers)
    body = assert_problem(r, 403, "forbidden")
    assert body["command"] == "contact.create" and "contacts.write" in body["detail"]
    assert await count_rows(kith_app, "contacts") == 1


async def test_a_read_scoped_token_cannot_write_even_for_an_admin(
    client, token_for, admin, kith_app
):
    headers, _, _ = await token_for(actor=admin, scopes=["read"])
    r = await client.post(f"{API}/contacts", json={"name": "Ada"}, headers=headers)
    assert "scope" in assert_problem(r, 403, "forbidden")["detail"]
    r = await client.post(f"{API}/commands/echo.shout", json={"text": "hi"}, headers=headers)
    assert_problem(r, 403, "forbidden")
    assert (await client.get(f"{API}/users/me", headers=headers)).status_code == 200
    assert (await client.get(f"{API}/widgets", headers=headers)).status_code == 200
    assert await count_rows(kith_app, "contacts") == 0


async def test_a_pattern_scope_allows_only_matching_commands(client, token_for, kith_app):
    headers, _, _ = await token_for("agent", scopes=["contact.*"])
    r = await client.post(f"{API}/contacts", json={"name": "Ada"}, headers=headers)
    assert r.status_code == 201, r.text
    assert (await client.get(f"{API}/contacts/1", headers=headers)).status_code == 200
    r = await client.post(f"{API}/organizations", json={"name": "Initech"}, headers=headers)
    assert_problem(r, 403, "forbidden")
    r = await client.get(f"{API}/users/me", headers=headers)
    assert_problem(r, 403, "forbidden")
    assert await count_rows(kith_app, "organizations") == 0


async def test_a_scope_does_not_widen_the_role(client, token_for, kith_app):
    headers, _, _ = await token_for("viewer", scopes=["write"])
    r = await client.post(f"{API}/contacts", json={"name": "Ada"}, headers=headers)
    assert_problem(r, 403, "forbidden")


async def test_api_changes_are_attributed_to_the_token(client, token_for, kith_app, events):
    headers, actor, created = await token_for("agent")
    await client.post(f"{API}/contacts", json={"name": "Ada"}, headers=headers)
    await kith_app.drain()
    created_events = [e for e in events if e.name == "contact.created"]
    assert created_events[0].actor == f"api:token:{created.id}:user:{actor.user_id}"


async def test_only_admins_manage_tokens(client, token_for):
    headers, actor, _ = await token_for("manager")
    r = await client.post(f"{API}/tokens", json={"user": actor.user_id}, headers=headers)
    assert_problem(r, 403, "forbidden")
    assert_problem(await client.get(f"{API}/tokens", headers=headers), 403, "forbidden")


async def test_an_admin_creates_a_token_over_the_api_and_it_works(
    client, admin_headers, make_actor
):
    agent = await make_actor("agent", email="bo@staff.example.com")
    r = await client.post(
        f"{API}/tokens",
        json={"user": "bo@staff.example.com", "name": "zapier", "scopes": ["contact.*"]},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["token"].startswith("kith_") and new["scopes"] == ["contact.*"]
    listed = (await client.get(f"{API}/tokens", headers=admin_headers)).json()["items"]
    mine = next(t for t in listed if t["id"] == new["id"])
    assert "token" not in mine and mine["user_id"] == agent.user_id
    assert new["token"] not in json.dumps(listed)
    headers = {"Authorization": f"Bearer {new['token']}"}
    assert (
        await client.post(f"{API}/contacts", json={"name": "Ada"}, headers=headers)
    ).status_code == 201


# ---- resources -----------------------------------------------------------------------------------


async def test_a_contact_is_created_found_changed_archived_and_restored(client, admin_headers):
    r = await client.post(
        f"{API}/contacts",
        json={"name": "Ada Lovelace", "email": "ada@example.com"},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    ada = r.json()
    assert r.headers["location"] == f"{API}/contacts/{ada['id']}"
    got = await client.get(f"{API}/contacts/ada@example.com", headers=admin_headers)
    assert got.json()["id"] == ada["id"]
    r = await client.patch(
        f"{API}/contacts/{ada['id']}", json={"title": "Countess"}, headers=admin_headers
    )
    assert r.json()["title"] == "Countess"
    r = await client.delete(f"{API}/contacts/{ada['id']}", headers=admin_headers)
    assert r.status_code == 200 and r.json()["archived_at"]
    r = await client.patch(
        f"{API}/contacts/{ada['id']}", json={"title": "x"}, headers=admin_headers
    )
    assert_problem(r, 409, "archived")
    r = await client.post(f"{API}/contacts/{ada['id']}/restore", headers=admin_headers)
    assert r.json()["archived_at"] is None


async def test_the_record_comes_from_the_path_not_the_body(client, admin_headers, kith_app):
    await client.post(f"{API}/contacts", json={"name": "Ada"}, headers=admin_headers)
    r = await client.patch(
        f"{API}/contacts/1", json={"contact": 2, "name": "Eve"}, headers=admin_headers
    )
    assert_problem(r, 400, "invalid_input", "contact")


async def test_a_command_of_an_entity_is_a_sub_resource(client, admin_headers):
    r = await client.post(f"{API}/tasks", json={"title": "Call Ada"}, headers=admin_headers)
    assert r.status_code == 201, r.text
    r = await client.post(f"{API}/tasks/{r.json()['id']}/complete", headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "done"


async def test_users_me_is_the_tokens_user(client, token_for):
    headers, actor, _ = await token_for("agent")
    r = await client.get(f"{API}/users/me", headers=headers)
    assert r.json()["id"] == actor.user_id


async def test_a_plugins_entity_gets_list_routes_with_filters_and_cursor_pages(
    client, admin_headers
):
    SEEN.clear()
    r = await client.get(
        f"{API}/widgets",
        params={"q": "widget", "filter[color]": "red", "sort": "-id", "limit": "2"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    page = r.json()
    assert [w["id"] for w in page["items"]] == [7, 5]
    assert SEEN[-1] == {"q": "widget", "filter": {"color": "red"}, "sort": "-id", "limit": 2}
    next_url = r.headers["link"].split(";")[0].strip("<>")
    assert page["next_cursor"] == "2" and "cursor=2" in next_url
    r = await client.get(next_url, headers=admin_headers)
    assert [w["id"] for w in r.json()["items"]] == [3, 1]
    assert r.json()["next_cursor"] is None and "link" not in r.headers
    assert (await client.get(f"{API}/widgets/3", headers=admin_headers)).json()["color"] == "red"


async def test_a_records_timeline_is_paged(client, admin_headers):
    SEEN.clear()
    r = await client.get(f"{API}/widgets/3/timeline", params={"limit": "4"}, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 4 and r.json()["next_cursor"] == "4"
    assert SEEN[-1] == {"widget": "3", "limit": 4}
    assert f"{API}/widgets/3/timeline?limit=4&cursor=4" in r.headers["link"]
    r = await client.get(
        f"{API}/widgets/3/timeline", params={"limit": "500"}, headers=admin_headers
    )
    assert_problem(r, 400, "invalid_input", "limit")


async def test_a_page_size_over_the_cap_is_refused(client, admin_headers):
    r = await client.get(f"{API}/widgets", params={"limit": "101"}, headers=admin_headers)
    body = assert_problem(r, 400, "invalid_input", "limit")
    assert "100" in body["fields"][0]["message"]
    assert_problem(
        await client.get(f"{API}/widgets", params={"limit": "lots"}, headers=admin_headers),
        400,
        "invalid_input",
        "limit",
    )
    SEEN.clear()
    await client.get(f"{API}/widgets", headers=admin_headers)
    assert SEEN[-1]["limit"] == 50  # the default page size


async def test_an_unknown_query_parameter_is_named(client, admin_headers):
    r = await client.get(f"{API}/widgets", params={"colour": "red"}, headers=admin_headers)
    assert_problem(r, 400, "invalid_input", "colour")


# ---- commands ------------------------------------------------------------------------------------


async def test_a_plugins_command_is_reachable_through_commands(client, token_for):
    headers, _, _ = await token_for("agent")
    r = await client.post(f"{API}/commands/echo.shout", json={"text": "hello"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"text": "HELLO"}
    r = await client.post(f"{API}/commands/echo.shout", json={"text": ""}, headers=headers)
    body = assert_problem(r, 400, "invalid_input", "text")
    assert body["command"] == "echo.shout"


async def test_read_only_commands_answer_get_and_write_ones_want_post(client, admin_headers):
    await client.post(f"{API}/contacts", json={"name": "Ada"}, headers=admin_headers)
    r = await client.get(
        f"{API}/commands/contact.get", params={"contact": "1"}, headers=admin_headers
    )
    assert r.status_code == 200 and r.json()["name"] == "Ada"
    r = await client.get(f"{API}/commands/contact.create", headers=admin_headers)
    assert_problem(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "POST"


async def test_an_unknown_command_is_a_404_naming_its_neighbours(client, admin_headers):
    r = await client.post(f"{API}/commands/contact.destroy", json={}, headers=admin_headers)
    body = assert_problem(r, 404, "unknown_command")
    assert "contact.create" in body["detail"]


# ---- errors --------------------------------------------------------------------------------------


async def test_bad_input_names_every_field_and_the_command(client, admin_headers, kith_app):
    r = await client.post(
        f"{API}/contacts", json={"name": "", "email": "ada@", "shoe_size": 9}, headers=admin_headers
    )
    body = assert_problem(r, 400, "invalid_input")
    assert body["command"] == "contact.create"
    assert body["instance"] == f"{API}/contacts"
    fields = {f["field"]: f for f in body["fields"]}
    assert set(fields) == {"name", "email", "shoe_size"}
    assert fields["shoe_size"]["message"] == "is not a known field"
    assert await count_rows(kith_app, "contacts") == 0


async def test_a_duplicate_is_a_409_with_the_existing_record(client, admin_headers):
    await client.post(
        f"{API}/contacts", json={"name": "Ada", "email": "ada@example.com"}, headers=admin_headers
    )
    r = await client.post(
        f"{API}/contacts", json={"name": "Ada L", "email": "ada@example.com"}, headers=admin_headers
    )
    body = assert_problem(r, 409, "conflict", "email")
    assert body["candidates"] == [{"id": 1, "label": "Ada"}]


async def test_malformed_json_and_non_objects_are_400(client, admin_headers):
    r = await client.post(
        f"{API}/contacts",
        content=b'{"name": ',
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert_problem(r, 400, "invalid_input", "body")
    r = await client.post(f"{API}/contacts", json=["Ada"], headers=admin_headers)
    assert_problem(r, 400, "invalid_input", "body")


async def test_a_missing_record_is_404(client, admin_headers):
    r = await client.get(f"{API}/contacts/999", headers=admin_headers)
    assert_problem(r, 404, "not_found", "contact")


async def test_unknown_paths_and_methods_are_problems_too(client, admin_headers):
    assert_problem(await client.get(f"{API}/spaceships", headers=admin_headers), 404, "not_found")
    r = await client.put(f"{API}/contacts/1", json={}, headers=admin_headers)
    assert_problem(r, 405, "method_not_allowed")


async def test_a_bug_is_a_500_problem_without_a_trace(client, admin_headers, caplog):
    r = await client.post(f"{API}/commands/echo.boom", json={}, headers=admin_headers)
    body = assert_problem(r, 500, "internal_error")
    assert "secret internal detail" not in r.text and "error id" in body["detail"]
    assert "secret internal detail" in caplog.text


# ---- limits --------------------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_413_and_nothing_is_written(client, admin_headers, kith_app):
    big = {"name": "Ada", "custom": {"notes": "x" * 1_100_000}}
    r = await client.post(f"{API}/contacts", json=big, headers=admin_headers)
    assert_problem(r, 413, "body_too_large", "body")
    assert await count_rows(kith_app, "contacts") == 0


@pytest.mark.parametrize("api_settings", [{"rate_limit": 3, "rate_limit_per": "minute"}])
async def test_the_rate_limit_is_per_token_with_retry_after(client, token_for, api_settings):
    first, _, _ = await token_for("agent")
    second, _, _ = await token_for("agent")
    for _ in range(3):
        r = await client.get(f"{API}/users/me", headers=first)
        assert r.status_code == 200
    assert r.headers["ratelimit-remaining"] == "0"
    r = await client.get(f"{API}/users/me", headers=first)
    body = assert_problem(r, 429, "rate_limited")
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert r.headers["retry-after"] in body["detail"]
    assert (await client.get(f"{API}/users/me", headers=second)).status_code == 200
    assert (await client.get(f"{API}/openapi.json")).status_code == 200  # not counted


# ---- idempotency ---------------------------------------------------------------------------------


async def test_a_retried_post_with_the_same_key_creates_one_contact(
    client, admin_headers, kith_app, events
):
    headers = {**admin_headers, "Idempotency-Key": "7f0c-ada"}
    payload = {"name": "Ada", "email": "ada@example.com"}
    first = await client.post(f"{API}/contacts", json=payload, headers=headers)
    again = await client.post(f"{API}/contacts", json=payload, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert await count_rows(kith_app, "contacts") == 1
    await kith_app.drain()
    assert [e.name for e in events if e.name.startswith("contact.")] == ["contact.created"]
    r = await client.post(f"{API}/contacts", json={"name": "Eve"}, headers=headers)
    assert_problem(r, 422, "idempotency_key_reused", "idempotency_key")
    assert await count_rows(kith_app, "contacts") == 1


async def test_concurrent_duplicates_with_one_key_write_once(client, admin_headers, kith_app):
    headers = {**admin_headers, "Idempotency-Key": "burst-1"}
    responses = await asyncio.gather(
        *[client.post(f"{API}/contacts", json={"name": "Ada"}, headers=headers) for _ in range(5)]
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await count_rows(kith_app, "contacts") == 1


async def test_a_failed_request_can_be_retried_with_its_key(client, admin_headers, kith_app):
    headers = {**admin_headers, "Idempotency-Key": "k-2"}
    r = await client.post(f"{API}/contacts", json={"name": ""}, headers=headers)
    assert r.status_code == 400
    r = await client.post(f"{API}/contacts", json={"name": ""}, headers=headers)
    assert r.status_code == 400
    assert await count_rows(kith_app, "idempotency_keys") == 0


async def test_keys_belong_to_their_token(client, token_for, kith_app):
    a, _, _ = await token_for("agent")
    b, _, _ = await token_for("agent")
    for headers in (a, b):
        r = await client.post(
            f"{API}/contacts", json={"name": "Ada"}, headers={**headers, "Idempotency-Key": "same"}
        )
        assert r.status_code == 201
    assert await count_rows(kith_app, "contacts") == 2


# ---- batches -------------------------------------------------------------------------------------


async def test_a_batch_gives_one_result_per_record(client, admin_headers, kith_app):
    await client.post(
        f"{API}/contacts", json={"name": "Ada", "email": "ada@example.com"}, headers=admin_headers
    )
    r = await client.post(
        f"{API}/contacts/batch",
        json={
            "create": [
                {"name": "Bob"},
                {"name": "", "email": "nope"},
                {"name": "Ada again", "email": "ada@example.com"},
                "not a record",
            ],
            "update": [
                {"contact": 1, "title": "Countess"},
                {"contact": 99, "title": "x"},
                {"title": "y"},
            ],
        },
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    out = r.json()
    statuses = [(x["op"], x["index"], x["status"]) for x in out["results"]]
    assert statuses == [
        ("create", 0, 201),
        ("create", 1, 400),
        ("create", 2, 409),
        ("create", 3, 400),
        ("update", 0, 200),
        ("update", 1, 404),
        ("update", 2, 400),
    ]
    assert out["succeeded"] == 2 and out["failed"] == 5
    bad = out["results"][1]["error"]
    assert bad["command"] == "contact.create" and {f["field"] for f in bad["fields"]} == {
        "name",
        "email",
    }
    assert out["results"][6]["error"]["fields"][0]["field"] == "update.2.contact"
    assert await count_rows(kith_app, "contacts") == 2
    got = await client.get(f"{API}/contacts/1", headers=admin_headers)
    assert got.json()["title"] == "Countess"


async def test_a_batch_over_100_records_is_refused_whole(client, admin_headers, kith_app):
    r = await client.post(
        f"{API}/contacts/batch",
        json={"create": [{"name": f"C{i}"} for i in range(101)]},
        headers=admin_headers,
    )
    assert_problem(r, 400, "invalid_input", "body")
    assert await count_rows(kith_app, "contacts") == 0


async def test_a_retried_batch_writes_nothing_twice(client, admin_headers, kith_app):
    headers = {**admin_headers, "Idempotency-Key": "batch-9"}
    body = {"create": [{"name": "A"}, {"name": ""}, {"name": "C"}]}
    first = await client.post(f"{API}/contacts/batch", json=body, headers=headers)
    again = await client.post(f"{API}/contacts/batch", json=body, headers=headers)
    assert [x["status"] for x in again.json()["results"]] == [201, 400, 201]
    assert again.json()["results"][0]["record"] == first.json()["results"][0]["record"]
    assert await count_rows(kith_app, "contacts") == 2


# ---- the document --------------------------------------------------------------------------------


async def test_the_openapi_document_describes_every_command(client, kith_app):
    r = await client.get(f"{API}/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    for spec in kith_app.registry:
        op = doc["paths"][f"{API}/commands/{spec.name}"]["post"]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        name = schema["$ref"].rsplit("/", 1)[1]
        assert name in doc["components"]["schemas"]
        assert op["x-kith-permission"] == spec.permission
    create = doc["paths"][f"{API}/contacts"]["post"]
    props = doc["components"]["schemas"]["ContactCreate"]["properties"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ContactCreate"
    )
    assert "email" in props
    assert f"{API}/widgets" in doc["paths"] and f"{API}/commands/echo.shout" in doc["paths"]
    limit = next(
        p for p in doc["paths"][f"{API}/widgets"]["get"]["parameters"] if p["name"] == "limit"
    )
    assert limit["schema"]["maximum"] == 100
    patch = doc["paths"][f"{API}/contacts/{{ref}}"]["patch"]
    body = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "contact" not in doc["components"]["schemas"][body]["properties"]


async def test_the_docs_page_is_browsable_offline(client):
    r = await client.get(f"{API}/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "contact.create" in r.text and "/api/v1/openapi.json" in r.text
    assert "<script" not in r.text and "https://" not in r.text.split("<h2")[0]
