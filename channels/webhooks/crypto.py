"""Webhook secrets at rest (``kith.encrypt_secret``, purpose ``webhook``) and signatures."""

from __future__ import annotations

import hashlib
import hmac

import kith

PURPOSE = "webhook"


def encrypt(app: kith.Kith, secret: str) -> str:
    """The secret, encrypted for storage."""
    return kith.encrypt_secret(app, PURPOSE, secret)


def decrypt(app: kith.Kith, stored: str) -> str:
    """The secret back (``secret_unreadable`` when the secret key changed)."""
    return kith.decrypt_secret(app, PURPOSE, stored)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256 of "<timestamp>.<body>">``: the ``X-Kith-Signature`` header."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()
