"""``POST /slack/events``: the HTTP request handed to bolt, bolt's answer handed back."""

from __future__ import annotations

import logging
from typing import Any

import kith
from litestar import Request, Response, post
from slack_bolt.request.async_request import AsyncBoltRequest

from .app import build_bolt
from .settings import SlackSettings

log = logging.getLogger("kith.slack")


def slack_route(app: kith.Kith, settings: SlackSettings) -> Any:
    bolt = build_bolt(app, settings) if settings.signing_secret else None

    @post("/slack/events", status_code=200, include_in_schema=False)
    async def slack_events(request: Request[Any, Any, Any]) -> Response[bytes]:
        if bolt is None:
            return Response(
                b"Slack is not configured: set KITH_SLACK_SIGNING_SECRET", status_code=503
            )
        length = int(request.headers.get("content-length") or 0)
        if length > settings.max_body_bytes:
            return Response(b"request too large", status_code=413)
        body = await request.body()
        if len(body) > settings.max_body_bytes:
            return Response(b"request too large", status_code=413)
        answer = await bolt.async_dispatch(
            AsyncBoltRequest(
                body=body.decode("utf-8", errors="replace"),
                query=request.url.query,
                headers={k: v for k, v in request.headers.items()},
            )
        )
        if answer.status == 401:
            log.warning("Slack request refused: bad signature or stale timestamp")
        headers = {
            k: v[0] for k, v in answer.headers.items() if v and k.lower() != "content-length"
        }
        return Response(
            answer.body.encode() if isinstance(answer.body, str) else answer.body,
            status_code=answer.status,
            headers=headers,
        )

    return slack_events
