"""Signed links in marketing mail: opt-in confirmation and unsubscribe.

Both are ``kith.sign_token`` tokens of their own purpose, so one never works as the other,
and a forged or altered link is refused with ``invalid_token``. An opt-in link expires
(``optin_days``); an unsubscribe link never does (RFC 8058 asks that it keep working).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import kith

from .settings import marketing_settings

OPTIN = "marketing-optin"
UNSUBSCRIBE = "marketing-unsubscribe"


def optin_token(ctx: kith.Context, contact_id: int, purposes: list[str]) -> str:
    days = marketing_settings(ctx).optin_days
    return kith.sign_token(
        ctx.kith,
        OPTIN,
        {"c": contact_id, "p": purposes},
        expires_at=ctx.now() + timedelta(days=days),
    )


def unsubscribe_token(app: kith.Kith, contact_id: int, purpose: str) -> str:
    return kith.sign_token(app, UNSUBSCRIBE, {"c": contact_id, "p": purpose})


def read(ctx: kith.Context, purpose: str, token: str) -> dict[str, Any]:
    return kith.verify_token(ctx.kith, purpose, token, now=ctx.now())


def url(app: Any, path: str, token: str) -> str:
    return f"{marketing_settings(app).public_url.rstrip('/')}/m/{path}/{token}"
