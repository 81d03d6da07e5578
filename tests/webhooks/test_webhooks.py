"""Outgoing webhooks against a real local HTTP receiver: signed deliveries of the events a
subscription asked for, retries with backoff, a delivery log with resend, automatic
disabling after repeated failures, the SSRF guard and secrets encrypted at rest."""

from __future__ import annotations

import hashlib
import hmac
import json

import kith
import pytest
from kith.settings import PluginsFile
from local_http import LocalServer


@pytest.fixture
def kith_plugins_file() -> PluginsFile:
    return PluginsFile(
        settings={"webhooks": {"backoff_s": [60, 300], "max_attempts": 3, "disable_after": 4}}
    )


@pytest.fixture
def allow_local(kith_app):
    kith_app.settings.webhooks_allow_private = True  # the receiver is on 127.0.0.1
    return kith_app


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """What a receiver does (docs/webhooks.md): recompute the signature and compare."""
    signed = headers["x-kith-timestamp"].encode() + b"." + body
    expected = "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-kith-signature"])


async def test_a_subscribed_event_arrives_signed_with_its_changes(
    allow_local, run_command, run_jobs
):
    async with LocalServer() as server:
        hook = await run_command("webhook.create", {"url": server.url, "events": ["contact.*"]})
        assert hook.secret.startswith("whsec_")
        contact = await run_command("contact.create", {"name": "Ada Lovelace"})
        await run_command("contact.update", {"contact": contact.id, "name": "Ada King"})
        await run_command("organization.create", {"name": "Analytical Engines"})  # not wanted
        await run_jobs()
    assert [json.loads(r["body"])["name"] for r in server.requests] == [
        "contact.created",
        "contact.updated",
    ]
    updated = server.requests[1]
    body = json.loads(updated["body"])
    assert body["entity_id"] == contact.id
    assert body["data"]["changes"]["name"] == ["Ada Lovelace", "Ada King"]
    assert updated["headers"]["x-kith-event"] == "contact.updated"
    assert len(updated["headers"]["x-kith-delivery"]) == 32
    assert verify(hook.secret, updated["headers"], updated["body"])
    assert not verify("whsec_someone-else-entirely", updated["headers"], updated["body"])
    log = await run_command("webhook.deliveries", {"webhook": hook.id})
    assert [d.status for d in log.items] == ["delivered", "delivered"]
    assert log.items[0].log[0]["status"] == 200


async def test_a_failing_receiver_is_retried_with_backoff_then_marked_failed(
    allow_local, run_command, run_jobs, clock
):
    async with LocalServer() as server:
        server.status = 500
        hook = await run_command(
            "webhook.create", {"url": server.url, "events": ["deal.won", "contact.created"]}
        )
        await run_command("contact.create", {"name": "Grace Hopper"})
        await run_jobs()
        (delivery,) = (await run_command("webhook.deliveries", {"webhook": hook.id})).items
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert delivery.log[0]["error"] == "answered HTTP 500"
        clock.advance(seconds=30)
        await run_jobs()
        assert len(server.requests) == 1  # the first retry waits 60 s
        clock.advance(seconds=31)
        await run_jobs()
        assert len(server.requests) == 2
        clock.advance(seconds=301)
        await run_jobs()
    (delivery,) = (await run_command("webhook.deliveries", {"webhook": hook.id})).items
    assert (delivery.status, delivery.attempts, len(server.requests)) == ("failed", 3, 3)
    # Every attempt sent the same event, each time freshly signed.
    assert len({r["body"] for r in server.requests}) == 1


async def test_resend_delivers_a_past_event_again(allow_local, run_command, run_jobs):
    async with LocalServer() as server:
        server.status = 410
        hook = await run_command(
            "webhook.create", {"url": server.url, "events": ["contact.created"]}
        )
        await run_command("contact.create", {"name": "Katherine Johnson"})
        await run_jobs()
        server.status = 200
        (failed,) = (await run_command("webhook.deliveries", {"webhook": hook.id})).items
        again = await run_command("webhook.resend", {"delivery": failed.id})
        await run_jobs()
    assert again.resent_from == failed.id
    assert server.requests[-1]["body"] == server.requests[0]["body"]
    assert (
        server.requests[-1]["headers"]["x-kith-delivery"]
        != server.requests[0]["headers"]["x-kith-delivery"]
    )
    log = {d.id: d.status for d in (await run_command("webhook.deliveries", {})).items}
    assert log[again.id] == "delivered"


async def test_a_webhook_that_keeps_failing_is_disabled_and_says_so(
    allow_local, run_command, run_jobs, events
):
    async with LocalServer() as server:
        server.status = 503
        hook = await run_command(
            "webhook.create", {"url": server.url, "events": ["contact.created"]}
        )
        for n in range(5):
            await run_command("contact.create", {"name": f"Person {n}"})
        await run_jobs()
        sent_before = len(server.requests)
        await run_command("contact.create", {"name": "After"})
        await run_jobs()
    assert sent_before == 4  # disable_after = 4 failed attempts in a row
    assert len(server.requests) == 4  # nothing more once disabled
    got = await run_command("webhook.get", {"webhook": hook.id})
    assert not got.active and "4 failed attempts in a row" in got.disabled_reason
    assert any(e.name == "webhook.disabled" and e.entity_id == hook.id for e in events)
    enabled = await run_command("webhook.enable", {"webhook": hook.id})
    assert enabled.active and enabled.consecutive_failures == 0


async def test_private_addresses_are_refused_unless_allowed(run_command):
    with pytest.raises(kith.KithError) as err:
        await run_command("webhook.create", {"url": "http://127.0.0.1:9/hook", "events": ["*"]})
    assert err.value.fields[0].field == "url"
    assert "loopback" in err.value.fields[0].message
    with pytest.raises(kith.KithError) as err:
        await run_command(
            "webhook.create", {"url": "http://169.254.169.254/latest", "events": ["*"]}
        )
    assert err.value.fields[0].field == "url"


async def test_unknown_events_and_bad_urls_are_named(allow_local, run_command):
    with pytest.raises(kith.KithError) as err:
        await run_command("webhook.create", {"url": "http://127.0.0.1:9/", "events": ["deal.wonn"]})
    assert err.value.fields[0].field == "events"
    assert "deal.wonn" in err.value.message
    with pytest.raises(kith.KithError) as err:
        await run_command("webhook.create", {"url": "ftp://example.com/", "events": ["deal.*"]})
    assert err.value.fields[0].field == "url"


async def test_the_secret_is_encrypted_at_rest_and_never_in_history(
    allow_local, run_command, kith_app
):
    hook = await run_command(
        "webhook.create",
        {"url": "http://127.0.0.1:9/", "events": ["deal.*"], "secret": "my-very-own-secret-123"},
    )
    assert hook.secret == "my-very-own-secret-123"
    rows = await kith_app.db.fetch("SELECT secret FROM webhook_subscriptions")
    assert "my-very-own-secret-123" not in rows[0]["secret"]
    history = await kith_app.db.fetch("SELECT changes FROM history WHERE entity = 'webhook'")
    assert history and all("my-very-own-secret-123" not in str(h["changes"]) for h in history)
    assert "secret" not in (await run_command("webhook.get", {"webhook": hook.id})).model_dump()


async def test_disabled_and_deleted_webhooks_get_nothing(allow_local, run_command, run_jobs):
    async with LocalServer() as server:
        one = await run_command(
            "webhook.create", {"url": server.url, "events": ["contact.created"]}
        )
        two = await run_command(
            "webhook.create", {"url": server.url + "2", "events": ["contact.created"]}
        )
        await run_command("webhook.disable", {"webhook": one.id})
        await run_command("webhook.delete", {"webhook": two.id})
        await run_command("contact.create", {"name": "Nobody hears"})
        await run_jobs()
    assert server.requests == []
    listed = await run_command("webhook.list", {})
    assert listed.items == []
    everything = await run_command("webhook.list", {"include_inactive": True})
    assert {h.id for h in everything.items} == {one.id, two.id}


async def test_test_sends_a_ping(allow_local, run_command, run_jobs):
    async with LocalServer() as server:
        hook = await run_command("webhook.create", {"url": server.url, "events": ["deal.won"]})
        await run_command("webhook.test", {"webhook": hook.id})
        await run_jobs()
    (request,) = server.requests
    assert json.loads(request["body"])["name"] == "webhook.ping"


async def test_agents_may_not_manage_webhooks(run_command, make_actor):
    agent = await make_actor("agent")
    with pytest.raises(kith.KithError) as err:
        await run_command("webhook.list", {}, actor=agent)
    assert err.value.code == "forbidden"


async def test_only_the_system_queues_deliveries(run_command, make_actor):
    admin = await make_actor("admin")
    with pytest.raises(kith.KithError) as err:
        await run_command(
            "webhook.enqueue",
            {"event": {"id": "x", "name": "deal.won"}, "subscriptions": [1]},
            actor=admin,
        )
    assert err.value.code == "forbidden"


async def test_erasing_a_person_scrubs_their_delivery_payloads(
    allow_local, run_command, run_jobs, kith_app
):
    async with LocalServer() as server:
        await run_command("webhook.create", {"url": server.url, "events": ["contact.*"]})
        ada = await run_command("contact.create", {"name": "Ada", "email": "ada@engines.example"})
        await run_command("contact.create", {"name": "Bob", "email": "bob@b.example"})
        await run_jobs()
    await run_command("contact.erase", {"contact": ada.id, "confirm": str(ada.id)})
    bodies = [r["body"] for r in await kith_app.db.fetch('SELECT "body" FROM "webhook_deliveries"')]
    assert not any("ada@engines.example" in b for b in bodies)
    assert any("bob@b.example" in b for b in bodies)  # only the erased person's go
