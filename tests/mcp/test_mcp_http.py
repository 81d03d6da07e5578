"""MCP over streamable HTTP at /mcp, through the SDK's real client against a real server:
tools from the command registry, field errors, token scopes, visibility and resources."""

from __future__ import annotations

import json

import httpx
import httpx2
import kith
import pytest
from kith.settings import PluginsFile
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_support import mcp_session, serve
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ConfigDict


class Nothing(BaseModel):
    model_config = ConfigDict(extra="forbid")


@kith.command("echo.boom", input=Nothing, permission="echo.write")
async def boom(ctx: kith.Context, data: Nothing) -> None:
    """Fail with a bug (to see MCP hide the details)."""
    raise RuntimeError("secret internal detail")


class BoomPlugin:
    @kith.hookimpl
    def kith_commands(self) -> list[kith.CommandSpec]:
        return [boom]


@pytest.fixture
def kith_plugins():
    return [("boom", BoomPlugin())]


@pytest.fixture
async def base_url(kith_app):
    async with serve(kith_app) as base:
        yield base


@pytest.fixture
def token_for(kith_app, make_actor):
    """``await token_for(actor, scopes=[...])`` → the raw bearer token."""

    async def make(actor, scopes=()):
        created = await kith_app.run(
            "token.create", {"user": actor.user_id, "scopes": list(scopes)}, kith.SYSTEM
        )
        return created.token

    return make


async def test_tools_are_the_commands_with_schema_description_and_annotations(
    kith_app, admin, token_for, base_url
):
    async with mcp_session(f"{base_url}/mcp", await token_for(admin)) as session:
        listed = await session.list_tools()
    tools = {t.name: t for t in listed.tools}
    assert set(tools) == {spec.name for spec in kith_app.registry}
    create = tools["contact.create"]
    spec = kith_app.registry.get("contact.create")
    assert create.description == spec.description
    assert create.input_schema == spec.input.model_json_schema()
    assert "email" in create.input_schema["properties"]
    assert create.annotations.read_only_hint is False
    assert create.annotations.destructive_hint is False
    listing = tools["contact.list"].annotations
    assert listing.read_only_hint is True and listing.idempotent_hint is True
    archive = tools["contact.archive"].annotations
    assert archive.read_only_hint is False and archive.destructive_hint is True


async def test_create_a_contact_then_read_it_and_its_timeline_as_resources(
    admin, token_for, base_url
):
    async with mcp_session(f"{base_url}/mcp", await token_for(admin)) as session:
        result = await session.call_tool(
            "contact.create", {"name": "Ada Lovelace", "email": "ada@example.com"}
        )
        assert result.is_error is False, result.content
        created = json.loads(result.content[0].text)
        assert created["email"] == "ada@example.com"
        assert result.structured_content["id"] == created["id"]

        templates = await session.list_resource_templates()
        uris = {t.uri_template for t in templates.resource_templates}
        assert {
            "kith://contacts/{id}",
            "kith://contacts/{id}/timeline",
            "kith://deals/{id}",
            "kith://deals/{id}/timeline",
            "kith://tickets/{id}",
            "kith://tickets/{id}/timeline",
        } <= uris

        read = await session.read_resource(f"kith://contacts/{created['id']}")
        contact = json.loads(read.contents[0].text)
        assert contact["name"] == "Ada Lovelace"
        assert read.contents[0].mime_type == "application/json"

        timeline = await session.read_resource(f"kith://contacts/{created['id']}/timeline")
        assert json.loads(timeline.contents[0].text)["items"]

        with pytest.raises(MCPError) as missing:
            await session.read_resource("kith://contacts/999999")
        assert "999999" in missing.value.message
        with pytest.raises(MCPError):
            await session.read_resource("kith://spaceships/1")


async def test_a_bad_field_comes_back_as_a_tool_error_naming_the_field(
    kith_app, admin, token_for, base_url
):
    async with mcp_session(f"{base_url}/mcp", await token_for(admin)) as session:
        result = await session.call_tool("contact.create", {"name": "Ada", "email": "not-an-email"})
        unknown = await session.call_tool("contact.create", {"name": "Ada", "colour": "red"})
    assert result.is_error is True
    text = result.content[0].text
    assert "invalid_input" in text
    assert any(line.startswith("email: ") for line in text.splitlines()), text
    details = json.loads(text.splitlines()[-1])
    assert [f["field"] for f in details["fields"]] == ["email"]
    assert unknown.is_error is True
    assert "colour: is not a known field" in unknown.content[0].text
    assert (await kith_app.run("contact.list", {}, kith.SYSTEM)).items == []


async def test_a_read_only_token_sees_only_read_only_tools_and_is_refused_the_others(
    kith_app, admin, make_actor, token_for, base_url
):
    contact = await kith_app.run(
        "contact.create", {"name": "Grace", "email": "grace@example.com"}, admin
    )
    agent = await make_actor("agent")
    async with mcp_session(f"{base_url}/mcp", await token_for(agent, ["read"])) as session:
        listed = await session.list_tools()
        archive = await session.call_tool("contact.archive", {"contact": contact.id})
        create = await session.call_tool("contact.create", {"name": "Eve"})
        found = await session.call_tool("contact.get", {"contact": contact.id})
        read = await session.read_resource(f"kith://contacts/{contact.id}")
    names = {t.name for t in listed.tools}
    assert names
    assert all(t.annotations.read_only_hint for t in listed.tools)
    assert "contact.get" in names and "contact.list" in names
    assert not names & {"contact.create", "contact.archive", "deal.won"}
    # the role still narrows too: an agent's read token cannot list tokens
    assert "token.list" not in names
    for refused in (archive, create):
        assert refused.is_error is True
        assert "forbidden" in refused.content[0].text
        assert "scope" in refused.content[0].text
    assert found.is_error is False
    assert json.loads(read.contents[0].text)["id"] == contact.id
    still = await kith_app.run("contact.get", {"contact": contact.id}, kith.SYSTEM)
    assert still.archived_at is None


async def test_roles_decide_the_tools_of_a_token_without_scopes(make_actor, token_for, base_url):
    viewer = await make_actor("viewer")
    async with mcp_session(f"{base_url}/mcp", await token_for(viewer)) as session:
        listed = await session.list_tools()
        refused = await session.call_tool("contact.create", {"name": "Eve"})
    # a viewer reads, and looks after their own log-in (password, two-factor codes) and
    # their own Slack notifications
    own_profile = {
        "user.set_password",
        "user.totp_setup",
        "user.totp_confirm",
        "user.totp_disable",
        "slack.notify_set",
    }
    writes = {t.name for t in listed.tools if not t.annotations.read_only_hint}
    assert writes == own_profile
    assert refused.is_error is True and "contacts.write" in refused.content[0].text


async def test_visibility_applies_to_tools_and_resources(
    kith_app, admin, make_actor, token_for, base_url
):
    await kith_app.run("setting.set", {"key": "visibility.contact", "value": "own"}, admin)
    hidden = await kith_app.run(
        "contact.create", {"name": "Secret", "email": "secret@example.com"}, admin
    )
    agent = await make_actor("agent")
    async with mcp_session(f"{base_url}/mcp", await token_for(agent)) as session:
        listed = await session.call_tool("contact.list", {})
        got = await session.call_tool("contact.get", {"contact": hidden.id})
        with pytest.raises(MCPError):
            await session.read_resource(f"kith://contacts/{hidden.id}")
    assert json.loads(listed.content[0].text)["items"] == []
    assert got.is_error is True and "not_found" in got.content[0].text


async def test_no_bad_or_revoked_token_gets_in(kith_app, admin, token_for, base_url):
    token = await token_for(admin)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    async with httpx.AsyncClient() as client:
        for headers in ({}, {"Authorization": "Bearer kith_nope"}, {"Authorization": "Basic x"}):
            response = await client.post(f"{base_url}/mcp", json=body, headers=headers)
            assert response.status_code == 401, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["code"] == "unauthorized"
        tokens = await kith_app.run("token.list", {}, kith.SYSTEM)
        await kith_app.run("token.revoke", {"token": tokens.items[0].id}, kith.SYSTEM)
        response = await client.post(
            f"{base_url}/mcp", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401
        assert "revoked" in response.json()["detail"]


async def test_tool_calls_are_recorded_as_the_tokens_user_via_mcp(
    kith_app, admin, token_for, base_url
):
    async with mcp_session(f"{base_url}/mcp", await token_for(admin)) as session:
        result = await session.call_tool("contact.create", {"name": "Ada"})
        created = json.loads(result.content[0].text)
        timeline = await session.call_tool("contact.timeline", {"contact": created["id"]})
    assert "mcp:token:" in timeline.content[0].text


@pytest.mark.parametrize("kith_plugins_file", [PluginsFile(settings={"api": {"rate_limit": 3}})])
async def test_mcp_requests_count_against_the_tokens_rate_limit(admin, token_for, base_url):
    token = await token_for(admin)
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    async with httpx.AsyncClient() as client:
        statuses = [
            (await client.post(f"{base_url}/mcp", json=body, headers=headers)).status_code
            for _ in range(4)
        ]
    assert statuses[-1] == 429
    assert statuses[:3] == [200, 200, 200], statuses


async def test_a_resource_takes_what_the_rest_api_takes_as_its_id(
    kith_app, admin, token_for, base_url
):
    await kith_app.run("contact.create", {"name": "Ada", "email": "ada@example.com"}, admin)
    async with mcp_session(f"{base_url}/mcp", await token_for(admin)) as session:
        read = await session.read_resource("kith://contacts/ada@example.com")
    assert json.loads(read.contents[0].text)["name"] == "Ada"


@pytest.mark.parametrize("kith_plugins_file", [PluginsFile(enabled={"mcp": False})])
async def test_the_mcp_plugin_can_be_turned_off(base_url):
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{base_url}/mcp", json={})
    assert response.status_code == 404


async def test_the_sdks_high_level_client_on_the_2026_protocol_gets_the_same_rules(
    make_actor, token_for, base_url
):
    agent = await make_actor("agent")
    headers = {"Authorization": f"Bearer {await token_for(agent, ['read'])}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(f"{base_url}/mcp", http_client=http)) as client,
    ):
        version = client.protocol_version
        listed = await client.list_tools()
        refused = await client.call_tool("contact.create", {"name": "Eve"})
    assert version in MODERN_PROTOCOL_VERSIONS
    assert listed.tools and all(t.annotations.read_only_hint for t in listed.tools)
    assert refused.is_error is True and "forbidden" in refused.content[0].text


async def test_a_plugins_command_is_a_tool_and_a_bug_in_it_is_not_shown(
    admin, token_for, base_url, caplog
):
    async with mcp_session(f"{base_url}/mcp", await token_for(admin)) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        result = await session.call_tool("echo.boom", {})
        unknown = await session.call_tool("contact.frobnicate", {})
    assert "echo.boom" in names
    assert result.is_error is True
    assert "internal_error" in result.content[0].text
    assert "secret internal detail" not in result.content[0].text
    assert "secret internal detail" in caplog.text
    assert unknown.is_error is True and "unknown_command" in unknown.content[0].text


@pytest.mark.parametrize(
    "kith_plugins_file", [PluginsFile(settings={"api": {"max_body_bytes": 2048}})]
)
async def test_a_body_over_the_apis_cap_is_refused(admin, token_for, base_url):
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "contact.create", "arguments": {"name": "x" * 5000}},
    }
    headers = {
        "Authorization": f"Bearer {await token_for(admin)}",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{base_url}/mcp", json=body, headers=headers)
    assert response.status_code == 413
