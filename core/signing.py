"""Signed tokens for links that leave Kith (rating links, unsubscribe links, confirmations).

A token is ``<payload>.<signature>``: the payload is URL-safe base64 of compact JSON, the
signature an HMAC-SHA256 of it with a key derived from the installation's secret key and the
token's *purpose* — so a token made for one purpose (``"csat"``) never verifies for another
(``"unsubscribe"``). Tokens carry an optional expiry (``exp``, Unix seconds). They are signed,
not encrypted: put ids in them, never secrets.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import FieldError, KithError

if TYPE_CHECKING:
    from .runtime import Kith


def secret_key(kith: Kith) -> bytes:
    """The installation's secret key: ``KITH_SECRET_KEY``, else the key file ``kith init``
    wrote. Without either, signing is refused rather than done with a guessable key."""
    key = kith.settings.secret_key
    if not key:
        path = Path(kith.settings.secret_key_file)
        if path.exists():
            key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise KithError(
            "no_secret_key",
            "Kith has no secret key to sign links with: run `kith init` or set KITH_SECRET_KEY.",
            status=500,
        )
    return key.encode("utf-8")


def ensure_secret_key(kith: Kith) -> Path | None:
    """Create the key file (mode 0600) when neither ``KITH_SECRET_KEY`` nor the file exists.

    ``kith init`` and ``kith run`` call it, so an installation never serves links it cannot
    sign. Returns the path of a key it created, else ``None``. Processes that share a
    database on several machines must share the key: set ``KITH_SECRET_KEY`` there.
    """
    path = Path(kith.settings.secret_key_file)
    if kith.settings.secret_key or path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(secrets.token_urlsafe(32) + "\n", encoding="utf-8")
    return path


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(kith: Kith, purpose: str, payload: str) -> bytes:
    derived = hmac.new(secret_key(kith), f"kith:{purpose}".encode(), hashlib.sha256).digest()
    return hmac.new(derived, payload.encode("ascii"), hashlib.sha256).digest()


def sign_token(
    kith: Kith, purpose: str, data: dict[str, Any], *, expires_at: datetime | None = None
) -> str:
    """Sign ``data`` (JSON-serialisable) for ``purpose``; verify with :func:`verify_token`."""
    body = dict(data)
    if expires_at is not None:
        body["exp"] = int(expires_at.timestamp())
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{payload}.{_b64(_mac(kith, purpose, payload))}"


def _bad(message: str) -> KithError:
    return KithError("invalid_token", message, [FieldError("token", message, "invalid_token")])


def verify_token(kith: Kith, purpose: str, token: str, *, now: datetime) -> dict[str, Any]:
    """The data signed into ``token``, or ``invalid_token`` (field ``token``) when it was
    altered, made for another purpose, or expired at ``now``."""
    payload, _, signature = token.strip().partition(".")
    try:
        given = _unb64(signature)
        data = json.loads(_unb64(payload))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _bad("This link is damaged: copy the whole link from the email.") from None
    if not hmac.compare_digest(given, _mac(kith, purpose, payload)) or not isinstance(data, dict):
        raise _bad("This link is not valid: it was changed or was not made by this Kith.")
    exp = data.pop("exp", None)
    if exp is not None and now.timestamp() > exp:
        raise _bad("This link has expired.")
    return data
