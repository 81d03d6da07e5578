"""The ``webhooks.deliver`` job: one attempt at one delivery.

It reads the delivery and its subscription as committed and calls out **before** it
writes anything, so a slow receiver holds no database connection (nor, on SQLite, the
writer). Then, in the job's transaction, it logs the attempt and either marks the delivery
delivered, schedules the next attempt after the configured backoff, or marks it failed.
Consecutive failed attempts count on the subscription; at ``disable_after`` it is
disabled and ``webhook.disabled`` is emitted.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import kith

from . import crypto
from .dispatch import DELIVER_JOB
from .settings import webhook_settings
from .store import ACTIVE, committed
from .tables import WebhookDelivery, WebhookSubscription


async def _attempt(app: kith.Kith, sub: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """POST once; the log entry: ``{at, status | error, ms}`` and whether to retry."""
    settings = webhook_settings(app)
    body = row["body"].encode("utf-8")
    timestamp = int(app.clock.now().timestamp())
    started = time.perf_counter()
    entry: dict[str, Any] = {"at": app.clock.now().isoformat()}
    try:
        secret = crypto.decrypt(app, sub["secret"])
        response = await kith.guarded_request(
            "POST",
            sub["url"],
            headers={
                "Content-Type": "application/json",
                "User-Agent": f"Kith-Webhooks/{kith.__version__}",
                "X-Kith-Event": row["event_name"],
                "X-Kith-Delivery": row["uid"],
                "X-Kith-Timestamp": str(timestamp),
                "X-Kith-Signature": crypto.sign(secret, timestamp, body),
            },
            content=body,
            timeout_s=settings.timeout_s,
            max_bytes=2_000,
            allow_private=bool(app.settings.webhooks_allow_private),
        )
    except kith.KithError as err:
        entry.update(error=err.message[:500], retry=err.code == "http_error")
    else:
        entry.update(status=response.status, ok=response.ok, retry=not response.ok)
        if not response.ok:
            entry["error"] = f"answered HTTP {response.status}"
    entry["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return entry


@kith.job(DELIVER_JOB, max_attempts=3, backoff_base_s=30.0)
async def deliver(ctx: kith.Context, payload: dict[str, Any]) -> None:
    """Make one attempt at a webhook delivery and record it."""
    app = ctx.kith
    row = await committed(app, WebhookDelivery, int(payload["delivery"]))
    if row is None or row["status"] != "pending":
        return
    sub = await committed(app, WebhookSubscription, row["subscription_id"])
    if sub is None or not sub["active"] or sub["archived_at"] is not None:
        fresh = await ctx.find_one(WebhookDelivery, id=row["id"])
        if fresh is not None and fresh["status"] == "pending":
            await ctx.update(
                WebhookDelivery,
                fresh,
                {"status": "cancelled", "next_attempt_at": None},
                record_history=False,
            )
        return
    entry = await _attempt(app, sub, row)
    # From here on the job's transaction: record what happened.
    fresh = await ctx.find_one(WebhookDelivery, id=row["id"])
    if fresh is None or fresh["status"] != "pending":
        return
    settings = webhook_settings(ctx)
    attempts = fresh["attempts"] + 1
    changes: dict[str, Any] = {"attempts": attempts, "log": [*(fresh["log"] or []), entry][-20:]}
    if entry.get("ok"):
        changes.update(status="delivered", delivered_at=ctx.now(), next_attempt_at=None)
        await ctx.update(WebhookDelivery, fresh, changes, record_history=False)
        if sub["consecutive_failures"]:
            await _set_failures(ctx, sub["id"], reset=True)
        return
    failures = await _set_failures(ctx, sub["id"], reset=False)
    disabled = failures >= settings.disable_after
    if entry.get("retry") and attempts < settings.max_attempts and not disabled:
        when = ctx.now() + timedelta(seconds=settings.wait_before(attempts + 1))
        changes.update(next_attempt_at=when)
        await ctx.schedule(DELIVER_JOB, {"delivery": fresh["id"]}, at=when)
    else:
        changes.update(status="failed", next_attempt_at=None)
    await ctx.update(WebhookDelivery, fresh, changes, record_history=False)
    if disabled:
        await _disable(ctx, sub["id"], failures, entry.get("error", ""))


async def _set_failures(ctx: kith.Context, sub_id: int, *, reset: bool) -> int:
    """Add one consecutive failure (or reset to 0); the new count."""
    sub = await ctx.find_one(WebhookSubscription, id=sub_id)
    if sub is None:
        return 0
    count = 0 if reset else sub["consecutive_failures"] + 1
    await ctx.update(
        WebhookSubscription, sub, {"consecutive_failures": count}, record_history=False
    )
    return count


async def _disable(ctx: kith.Context, sub_id: int, failures: int, last_error: str) -> None:
    sub = await ctx.find_one(WebhookSubscription, id=sub_id)
    if sub is None or not sub["active"]:
        return
    reason = f"{failures} failed attempts in a row; last: {last_error}"[:500]
    await ctx.update(
        WebhookSubscription, sub, {"active": False, "disabled_reason": reason}, action="disabled"
    )
    ctx.emit("webhook.disabled", "webhook", sub_id, url=sub["url"], reason=reason)
    ACTIVE.invalidate(ctx)


JOBS = [deliver]
