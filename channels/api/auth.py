"""Bearer-token authentication (a litestar guard) and the per-token rate limit.

The guard turns ``Authorization: Bearer kith_…`` into the token's :class:`kith.Actor`
(``via="api:token:<id>"``, its scopes in ``Actor.scopes``) with :func:`kith.authenticate_token`;
no token, or a bad, expired or revoked one, is a 401 problem. Roles and scopes are checked by
``Kith.run`` itself, like on every channel (403).

The rate limit is litestar's ``RateLimitConfig`` keyed by the token (by client address when
there is none), with a fixed-window counter (O(1) per request, instead of litestar's list of
timestamps) in the app's ``rate_limit`` store — in memory by default, so per process.
"""

from __future__ import annotations

import hashlib
from time import time
from typing import TYPE_CHECKING, Any

from kith import Actor, authenticate_token
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import TooManyRequestsException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.rate_limit import (
    DURATION_VALUES,
    RateLimitConfig,
    RateLimitMiddleware,
    get_remote_address,
)

if TYPE_CHECKING:
    from kith import Kith
    from litestar import Request
    from litestar.types import Message, Receive, Scope, Send

    from .settings import ApiSettings

PUBLIC = "kith_public"  # route opt: no token needed, not rate limited
ACTOR_KEY = "kith_actor"


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def make_guard(kith: Kith) -> Any:
    async def token_guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        """Authenticate the request's bearer token; the actor goes into the scope."""
        if handler.opt.get(PUBLIC):
            return
        connection.scope[ACTOR_KEY] = await authenticate_token(kith, bearer(connection), "api")  # type: ignore[literal-required]

    return token_guard


def actor_of(request: Request[Any, Any, Any]) -> Actor:
    return request.scope[ACTOR_KEY]  # type: ignore[literal-required,no-any-return]


def rate_limit_identity(request: Request[Any, Any, Any]) -> str:
    """The token (hashed) a request is counted against, else its client address."""
    header = request.headers.get("authorization")
    if header:
        return "token:" + hashlib.sha256(header.strip().encode()).hexdigest()[:32]
    return "ip:" + get_remote_address(request)


class CountingRateLimitMiddleware(RateLimitMiddleware):
    """litestar's rate limit middleware with a fixed-window counter per identity."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        request = app.request_class(scope)
        store = self.config.get_store_from_app(app)
        if await self.should_check_request(request=request):
            key = self.cache_key_from_request(request)
            window = DURATION_VALUES[self.unit]
            async with self._lock:
                now = int(time())
                raw = await store.get(key)
                count, reset = (0, now + window)
                if raw:
                    n, _, r = raw.decode().partition(" ")
                    if int(r) > now:
                        count, reset = int(n), int(r)
                if count >= self.max_requests:
                    raise TooManyRequestsException(
                        headers=self._headers(self.max_requests, reset, now)
                    )
                count += 1
                await store.set(key, f"{count} {reset}", expires_in=max(1, reset - now))
            if self.config.set_rate_limit_headers:
                headers = self._headers(count, reset, now)
                send = self._with_headers(send, headers)
        await self.app(scope, receive, send)

    def _headers(self, count: int, reset: int, now: int) -> dict[str, str]:
        c = self.config
        return {
            c.rate_limit_policy_header_key: f"{self.max_requests}; w={DURATION_VALUES[self.unit]}",
            c.rate_limit_limit_header_key: str(self.max_requests),
            c.rate_limit_remaining_header_key: str(max(0, self.max_requests - count)),
            c.rate_limit_reset_header_key: str(max(0, reset - now)),
        }

    @staticmethod
    def _with_headers(send: Send, headers: dict[str, str]) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                mutable = MutableScopeHeaders(message)
                for k, v in headers.items():
                    mutable[k] = v
            await send(message)

        return wrapped


def rate_limit_config(settings: ApiSettings) -> RateLimitConfig:
    return RateLimitConfig(
        rate_limit=(settings.rate_limit_per, settings.rate_limit),
        identifier_for_request=rate_limit_identity,
        exclude_opt_key=PUBLIC,
        middleware_class=CountingRateLimitMiddleware,
    )
