"""The SSRF guard: user-typed URLs never reach private, loopback or link-local addresses,
redirects are not followed, and time and size are capped."""

from __future__ import annotations

import json

import pytest
from kith import KithError
from kith.net import BlockedAddress, guarded_request, is_public
from local_http import LocalServer


@pytest.mark.parametrize(
    "address, public",
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.10", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fd00::1", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
    ],
)
def test_only_public_unicast_addresses_are_public(address, public):
    assert is_public(address) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
async def test_private_loopback_and_metadata_addresses_are_refused(url):
    with pytest.raises(BlockedAddress) as info:
        await guarded_request("POST", url, json={})
    assert info.value.fields[0].field == "url"
    assert "KITH_WEBHOOKS_ALLOW_PRIVATE" in info.value.message


@pytest.mark.parametrize(
    "url, reason",
    [
        ("file:///etc/passwd", "only http and https"),
        ("gopher://example.com/", "only http and https"),
        ("http://user:secret@example.com/", "credentials"),
        ("http:///nohost", "no host"),
    ],
)
async def test_urls_that_are_not_plain_http_are_refused(url, reason):
    with pytest.raises(BlockedAddress) as info:
        await guarded_request("POST", url)
    assert reason in info.value.message


async def test_a_refused_address_never_receives_the_request():
    async with LocalServer() as server:
        with pytest.raises(BlockedAddress):
            await guarded_request("POST", server.url, json={"a": 1})
        assert server.requests == []


async def test_the_development_setting_allows_a_local_receiver():
    async with LocalServer() as server:
        response = await guarded_request(
            "POST", server.url, json={"a": 1}, allow_private=True, headers={"X-Test": "1"}
        )
    assert response.status == 200 and response.body == b"ok"
    (request,) = server.requests
    assert json.loads(request["body"]) == {"a": 1}
    assert request["headers"]["x-test"] == "1"


async def test_a_redirect_is_returned_not_followed():
    async with LocalServer() as server:
        server.status = 302
        server.headers = {"Location": f"http://127.0.0.1:{server.port}/elsewhere"}
        response = await guarded_request("POST", server.url, allow_private=True)
    assert response.status == 302
    assert len(server.requests) == 1


async def test_a_large_answer_is_cut_at_the_size_cap():
    async with LocalServer() as server:
        server.body = b"x" * 100_000
        response = await guarded_request("GET", server.url, allow_private=True, max_bytes=1000)
    assert response.truncated and len(response.body) == 1000


async def test_a_receiver_that_does_not_answer_times_out():
    async with LocalServer() as server:
        server.hang = True
        with pytest.raises(KithError) as info:
            await guarded_request("POST", server.url, allow_private=True, timeout_s=0.3)
    assert info.value.code == "http_error"
    assert "no answer within 0.3 s" in info.value.message
