"""Slack for real, minus Slack: bolt behind Kith's HTTP app, signed requests, and a local
stand-in for Slack's Web API that records every call (``KITH_SLACK_API_URL`` points at it)."""

from __future__ import annotations

import html
import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from kith.settings import PluginsFile
from kith.testing_slack import SlackStandIn, sign_request
from kith.web import create_app

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
async def slack_api():
    async with SlackStandIn() as server:
        yield server


@pytest.fixture
def slack_settings(slack_api) -> dict[str, Any]:
    return {
        "signing_secret": SECRET,
        "bot_token": "xoxb-test-token",
        "api_url": slack_api.api_url,
        "public_url": "https://kith.example.com",
    }


@pytest.fixture
def kith_plugins_file(slack_settings) -> PluginsFile:
    return PluginsFile(settings={"slack": slack_settings})


def sign(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    return sign_request(body, secret, timestamp)


class SlackClient:
    """Sends what Slack sends: signed slash commands, button clicks and events."""

    def __init__(self, http: httpx.AsyncClient, stand_in: SlackStandIn) -> None:
        self.http = http
        self.stand_in = stand_in

    async def post(self, body: str, content_type: str, **sign_args: Any) -> httpx.Response:
        headers = {"Content-Type": content_type, **sign(body, **sign_args)}
        return await self.http.post("/slack/events", content=body, headers=headers)

    async def command(self, text: str, user: str = "UANA0001", **sign_args: Any):
        body = urlencode(
            {
                "token": "legacy",
                "team_id": "T1",
                "user_id": user,
                "channel_id": "CSALES001",
                "command": "/kith",
                "text": text,
                "response_url": self.stand_in.response_url(),
                "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            }
        )
        return await self.post(body, "application/x-www-form-urlencoded", **sign_args)

    async def click(self, user: str, action: dict[str, Any], message_ts: str = "1.1"):
        payload = {
            "type": "block_actions",
            "team": {"id": "T1"},
            "user": {"id": user},
            "api_app_id": "A1",
            "container": {"type": "message", "message_ts": message_ts},
            "trigger_id": "1.2.3",
            "response_url": self.stand_in.response_url("click"),
            "actions": [{**action, "type": "button", "block_id": "b", "action_ts": "1.2"}],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def submit(self, user: str, view: dict[str, Any], values: dict[str, str]):
        """Submit a modal: ``view`` as Kith opened it, with ``values`` typed in its fields."""
        state = {k: {"value": {"type": "plain_text_input", "value": v}} for k, v in values.items()}
        payload = {
            "type": "view_submission",
            "team": {"id": "T1"},
            "user": {"id": user},
            "api_app_id": "A1",
            "trigger_id": "1.2.4",
            "view": {**view, "id": "V0000001", "state": {"values": state}},
        }
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def event(self, event: dict[str, Any], event_id: str, retry: int | None = None):
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": "T1",
                "api_app_id": "A1",
                "event_id": event_id,
                "event_time": int(time.time()),
                "event": event,
            }
        )
        headers = {"Content-Type": "application/json", **sign(body)}
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.http.post("/slack/events", content=body, headers=headers)


@pytest.fixture
async def slack(kith_app, slack_api):
    app = create_app(kith_app, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kith.test") as http:
        yield SlackClient(http, slack_api)


@pytest.fixture
async def ana(make_actor, run_command):
    """Ana, a sales agent, linked to Slack user UANA0001."""
    actor = await make_actor("agent", email="ana@kith.example", name="Ana Souza")
    await run_command("user.update", {"user": actor.user_id, "slack_user_id": "UANA0001"})
    return actor


def text_of(response: httpx.Response) -> str:
    """Everything a person reads in an ack: its text and its blocks' texts."""
    if not response.content:
        return ""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return html.unescape(response.text)
    data = response.json()
    texts = [data.get("text") or ""]
    for block in data.get("blocks") or []:
        if block.get("type") == "section":
            texts.append(block["text"]["text"])
    return html.unescape("\n".join(texts))
