"""Outgoing HTTP that user-written settings may point anywhere: the SSRF guard.

Automations' "call webhook" (and the outgoing webhooks to come) send requests to URLs people
type. :func:`guarded_request` refuses private, loopback, link-local (cloud metadata),
multicast and otherwise non-public addresses **after** DNS resolution, and connects to the
address it checked (a second lookup cannot swap it: no DNS rebinding). It never follows
redirects, ignores proxy environment variables, and caps time and response size. The
setting ``KITH_WEBHOOKS_ALLOW_PRIVATE=true`` lifts the address check for development.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from .errors import FieldError, KithError

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_BYTES = 1_000_000
ALLOWED_SCHEMES = ("http", "https")


class BlockedAddress(KithError):
    """The URL resolves to an address Kith refuses to call."""


def blocked(field: str, message: str) -> BlockedAddress:
    return BlockedAddress("blocked_address", message, [FieldError(field, message, "blocked")])


def is_public(address: str) -> bool:
    """Whether ``address`` is a globally routable unicast address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url_syntax(url: str, field: str = "url") -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an http(s) URL, or a field error."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise blocked(field, f"{url!r} is not a URL: {exc}") from None
    if parts.scheme not in ALLOWED_SCHEMES:
        raise blocked(field, f"{url!r}: only http and https URLs can be called")
    if not parts.hostname:
        raise blocked(field, f"{url!r} has no host")
    if parts.username or parts.password:
        raise blocked(field, "put credentials in a header, not in the URL")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve_public(
    host: str, port: int, *, allow_private: bool = False, field: str = "url"
) -> list[str]:
    """Resolve ``host`` and return its addresses; refuse if any is not public."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise blocked(field, f"{host} does not resolve: {exc.strerror or exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise blocked(field, f"{host} does not resolve")
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise blocked(
                    field,
                    f"{host} resolves to {address}, a private, loopback, link-local or reserved "
                    "address: Kith does not call those (KITH_WEBHOOKS_ALLOW_PRIVATE=true allows "
                    "it for development)",
                )
    return addresses


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks the host itself, then connects to the checked address."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve_public(host, port, allow_private=self.allow_private)
        return await self._inner.connect_tcp(
            addresses[0], port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise blocked("url", "unix sockets cannot be called")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, allow_private: bool) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(),
            max_connections=10,
            network_backend=_GuardedBackend(allow_private),
        )


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def guarded_request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    json: Any = None,
    content: bytes | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_private: bool = False,
    field: str = "url",
) -> Response:
    """Send one request under the guard. A redirect is returned as it is, never followed;
    a body beyond ``max_bytes`` is cut (``truncated``). Raises :class:`BlockedAddress` for a
    refused address and ``KithError("http_error")`` for network failures and timeouts."""
    check_url_syntax(url, field)
    transport = _GuardedTransport(allow_private)
    try:
        async with (
            asyncio.timeout(timeout_s),
            httpx.AsyncClient(
                transport=transport, follow_redirects=False, trust_env=False, timeout=timeout_s
            ) as client,
            client.stream(
                method.upper(), url, headers=headers, json=json, content=content
            ) as response,
        ):
            body = bytearray()
            truncated = False
            async for chunk in response.aiter_raw():
                body.extend(chunk)
                if len(body) > max_bytes:
                    truncated = True
                    del body[max_bytes:]
                    break
            return Response(response.status_code, dict(response.headers), bytes(body), truncated)
    except KithError:
        raise
    except TimeoutError:
        raise KithError(
            "http_error",
            f"{url}: no answer within {timeout_s:g} s",
            [FieldError(field, "timed out")],
        ) from None
    except httpx.HTTPError as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, KithError):
            raise cause from None
        raise KithError(
            "http_error", f"{url}: {type(exc).__name__}: {exc}", [FieldError(field, str(exc))]
        ) from None
