"""Secrets at rest for plugins: webhook secrets, third-party API keys.

:func:`encrypt_secret` uses Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``)
with a key derived from the installation's secret key and a *purpose*, so a copy of the
database alone reveals nothing and a value encrypted for one purpose does not decrypt for
another. Keep the secret key (``KITH_SECRET_KEY`` or the key file): without it, the stored
secrets cannot be read back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken

from .errors import KithError
from .signing import secret_key

if TYPE_CHECKING:
    from .runtime import Kith


def _fernet(kith: Kith, purpose: str) -> Fernet:
    derived = hmac.new(secret_key(kith), f"kith-secret:{purpose}".encode(), hashlib.sha256)
    return Fernet(base64.urlsafe_b64encode(derived.digest()))


def encrypt_secret(kith: Kith, purpose: str, secret: str) -> str:
    """``secret`` encrypted for storage (ASCII text)."""
    return _fernet(kith, purpose).encrypt(secret.encode("utf-8")).decode("ascii")


def decrypt_secret(kith: Kith, purpose: str, stored: str) -> str:
    """The secret back; ``secret_unreadable`` when it was encrypted with another secret key
    or for another purpose."""
    try:
        return _fernet(kith, purpose).decrypt(stored.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        raise KithError(
            "secret_unreadable",
            f"A stored {purpose} secret was encrypted with another secret key: set it again.",
        ) from None
