"""Idempotency keys: a retried command returns its first result and writes nothing twice.

A channel that retries (the REST API's ``Idempotency-Key`` header, Slack, webhooks) passes
``idempotency_key=`` to :meth:`Kith.run`. Inside the command's own transaction, before the
handler runs, the key is claimed with ``INSERT … ON CONFLICT DO NOTHING``; the result is
stored in the same row at commit. So:

* the first run commits its writes and the key together, or neither (a failed command leaves
  no key behind, and a retry runs again);
* a retry after the commit finds the key and gets the stored result back;
* a concurrent duplicate waits on the key's unique index (PostgreSQL) or on the single
  writer (SQLite) until the first commits, then gets its result;
* the same key with a different command or payload is refused (422), never replayed.

Fields of a result model marked ``Field(json_schema_extra={"secret": True})`` (a new API
token) are not stored: a replay shows them as ``null``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .db.statements import quote
from .errors import FieldError, KithError
from .history import jsonable
from .tables import IdempotencyKey

if TYPE_CHECKING:
    from datetime import datetime

    from .db.base import Transaction
    from .db.statements import Statements

MAX_KEY_LENGTH = 300
_TABLE = quote(IdempotencyKey._meta.tablename)


@dataclass
class Claim:
    """The outcome of claiming a key: ``row_id`` to store the result into, or ``replay``."""

    row_id: int | None
    replay: Any = None
    replayed: bool = False


def fingerprint(command: str, payload: Any) -> str:
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json", exclude_unset=True)
    text = json.dumps([command, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise KithError(
            "invalid_input",
            f"An idempotency key has 1 to {MAX_KEY_LENGTH} characters.",
            [FieldError("idempotency_key", f"must have 1 to {MAX_KEY_LENGTH} characters")],
        )


async def claim(
    tx: Transaction, st: Statements, key: str, command: str, payload: Any, now: datetime
) -> Claim:
    """Claim ``key`` for ``command`` in ``tx``, or return the result stored under it."""
    _check_key(key)
    codec = st.codec(IdempotencyKey)
    digest = fingerprint(command, payload)
    marks = st.placeholders(4)
    row = await tx.fetchone(
        f'INSERT INTO {_TABLE} ("key", "command", "fingerprint", "created_at") '  # noqa: S608
        f"VALUES ({', '.join(marks)}) "
        'ON CONFLICT ("key") DO NOTHING RETURNING "id"',
        [key, command, digest, codec.encode("created_at", now)],
    )
    if row is not None:
        return Claim(row_id=row["id"])
    existing = await tx.fetchone(st.select_where(IdempotencyKey, ["key"]), [key])
    if existing is None:  # pragma: no cover - the conflicting row cannot vanish once committed
        raise KithError("conflict", "The idempotency key is in use; retry.", status=409)
    existing = codec.decode(existing)
    if existing["command"] != command or existing["fingerprint"] != digest:
        raise KithError(
            "idempotency_key_reused",
            f"This idempotency key was used for another request ({existing['command']}); "
            "use a new key for a new request.",
            [FieldError("idempotency_key", "was used for a different request", "reused")],
            status=422,
            command=command,
        )
    return Claim(row_id=None, replay=existing["response"], replayed=True)


def _secret_fields(model: type[BaseModel]) -> set[str]:
    return {
        name
        for name, f in model.model_fields.items()
        if isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("secret")
    }


def remember(tx: Transaction, st: Statements, claimed: Claim, result: Any) -> None:
    """Store ``result`` under the claimed key, written with the command's COMMIT."""
    if isinstance(result, BaseModel):
        stored = result.model_dump(mode="json", exclude=_secret_fields(type(result)) or None)
    else:
        stored = json.loads(json.dumps(result, default=_json_default))
    codec = st.codec(IdempotencyKey)
    tx.defer(
        st.update_by_id(IdempotencyKey, ["response"]),
        [codec.encode("response", stored), claimed.row_id],
    )


def _json_default(value: Any) -> Any:
    converted = jsonable(value)
    return str(value) if converted is value else converted
