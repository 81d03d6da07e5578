"""API tokens: random bearer tokens bound to a user, optionally narrowed by scopes.

A token is ``kith_`` followed by 43 random URL-safe characters (``secrets.token_urlsafe``).
Only its SHA-256 is stored (a slow password hash would cap the API's request rate; a token
has 256 bits of entropy, so a fast hash is enough). The token is shown once, when created.

A request authenticated by a token runs as the token's user — their role and their record
visibility — with ``Actor.via = "api:token:<id>"`` and ``Actor.scopes`` = the token's scopes.
:meth:`Kith.run` checks the scopes next to the role, for every channel that uses tokens:

* ``read``: read-only commands (queries) only;
* ``write``: every command the role allows;
* a pattern such as ``contact.*`` or ``deal.get``: the commands whose name matches.

No scope at all means the user's role alone decides.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, date, datetime, timedelta
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from pydantic import BaseModel, Field, field_validator

from .commands import command
from .context import Context, register_entity
from .db.statements import quote
from .entities._common import Input, Ref
from .entities.users import resolve_user
from .errors import FieldError, KithError, invalid
from .permissions import Actor
from .tables import ApiToken, TeamMember, User

if TYPE_CHECKING:
    from .runtime import Kith

PREFIX = "kith_"
MAX_TOKEN_LENGTH = 200
SCOPE_PATTERN = re.compile(r"^[a-z0-9_*?.\-\[\]]{1,100}$")
CACHE_SECONDS = 5.0
register_entity(ApiToken, "token")


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_expiry(value: str | datetime | date | None, now: datetime) -> datetime | None:
    """``30d``, ``12h``, ``90m``, ``2027-01-31`` or an ISO datetime → an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        at = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, date):
        at = datetime(value.year, value.month, value.day, tzinfo=UTC)
    else:
        text = value.strip().lower()
        m = re.fullmatch(r"(\d{1,5})\s*([dhm])", text)
        if m:
            unit = {"d": "days", "h": "hours", "m": "minutes"}[m.group(2)]
            at = now + timedelta(**{unit: int(m.group(1))})
        else:
            try:
                at = datetime.fromisoformat(value.strip())
            except ValueError:
                raise invalid(
                    "expires", "give a duration (30d, 12h, 90m), a date (2027-01-31) or a datetime"
                ) from None
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
    if at <= now:
        raise invalid("expires", "must be in the future")
    return at.astimezone(UTC)


def check_scopes(kith: Kith, scopes: list[str]) -> list[str]:
    """Validate scope names: ``read``, ``write`` or a pattern matching some command."""
    out: list[str] = []
    for i, raw in enumerate(scopes):
        scope = raw.strip().lower()
        field = f"scopes.{i}"
        if scope in ("read", "write"):
            pass
        elif not SCOPE_PATTERN.match(scope) or ("." not in scope and "*" not in scope):
            raise invalid(field, "use read, write or a command pattern such as contact.*")
        elif not any(fnmatchcase(spec.name, scope) for spec in kith.registry):
            raise invalid(field, f"{scope} matches no command (see kith commands)")
        if scope not in out:
            out.append(scope)
    return out


# ---- commands ----------------------------------------------------------------------------------


class TokenCreate(Input):
    user: Ref = Field(description="The user the token acts as: id or email")
    name: str = Field("", max_length=200, description="What the token is for")
    expires: str | None = Field(
        None, max_length=40, description="30d, 12h, 90m, a date or an ISO datetime; none = never"
    )
    scopes: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="read, write or command patterns (contact.*); none = the user's role",
    )

    @field_validator("scopes", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [s for s in value.replace(",", " ").split() if s]
        return value


class TokenOut(BaseModel):
    id: int
    user_id: int
    user_email: str
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it")
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class TokenCreated(TokenOut):
    token: str | None = Field(
        None,
        description="The token: shown only here, once. Send it as 'Authorization: Bearer …'",
        json_schema_extra={"secret": True},
    )


class TokenList(Input):
    user: Ref | None = Field(None, description="Only this user's tokens")
    include_revoked: bool = False


class TokenPage(BaseModel):
    items: list[TokenOut]


class TokenRef(Input):
    token: int = Field(ge=1, le=2**31 - 1, description="The token's id (see token.list)")


def _present(row: dict[str, Any], email: str) -> dict[str, Any]:
    return {**row, "user_email": email, "scopes": list(row.get("scopes") or [])}


@command("token.create", input=TokenCreate, output=TokenCreated, permission="tokens.admin")
async def create_token(ctx: Context, data: TokenCreate) -> dict[str, Any]:
    """Create an API token for a user; the result shows the token once."""
    user = await resolve_user(ctx, data.user, "user")
    if user.get("archived_at") is not None or not user.get("active", True):
        raise invalid("user", f"{user['email']} is deactivated")
    scopes = check_scopes(ctx.kith, data.scopes)
    expires_at = parse_expiry(data.expires, ctx.now())
    raw = new_token()
    row = await ctx.insert(
        ApiToken,
        {
            "user_id": user["id"],
            "name": data.name,
            "token_hash": token_hash(raw),
            "prefix": raw[: len(PREFIX) + 6],
            "scopes": scopes,
            "expires_at": expires_at,
        },
        record_history=False,
    )
    shown = {"user_id": user["id"], "name": data.name, "scopes": scopes, "expires_at": expires_at}
    ctx.record_history("token", row["id"], "created", {k: [None, v] for k, v in shown.items()})
    ctx.record_history("user", user["id"], "token_created", {"token_id": [None, row["id"]]})
    ctx.emit("token.created", "token", row["id"], user_id=user["id"], scopes=scopes)
    return {**_present(row, user["email"]), "token": raw}


@command("token.list", input=TokenList, output=TokenPage, permission="tokens.admin", read_only=True)
async def list_tokens(ctx: Context, data: TokenList) -> dict[str, Any]:
    """List API tokens (never the tokens themselves), newest first."""
    equals: dict[str, Any] = {}
    if data.user is not None:
        equals["user_id"] = (await resolve_user(ctx, data.user, "user"))["id"]
    rows = await ctx.select(ApiToken, order_by="id", descending=True, **equals)
    emails: dict[int, str] = {}
    items = []
    for row in rows:
        if row["revoked_at"] is not None and not data.include_revoked:
            continue
        if row["user_id"] not in emails:
            emails[row["user_id"]] = (await ctx.get(User, row["user_id"]))["email"]
        items.append(_present(row, emails[row["user_id"]]))
    return {"items": items}


@command(
    "token.revoke",
    input=TokenRef,
    output=TokenOut,
    permission="tokens.admin",
    destructive=True,
    idempotent=True,
)
async def revoke_token(ctx: Context, data: TokenRef) -> dict[str, Any]:
    """Revoke an API token: requests with it are refused from now on."""
    row = await ctx.get(ApiToken, data.token, field="token")
    if row["revoked_at"] is None:
        row, _ = await ctx.update(ApiToken, row, {"revoked_at": ctx.now()}, action="revoked")
        ctx.emit("token.revoked", "token", row["id"], user_id=row["user_id"])
        digest = row["token_hash"]
        ctx.tx.after_commit(lambda: _forget(ctx.kith, digest))  # type: ignore[union-attr]
    user = await ctx.get(User, row["user_id"])
    return _present(row, user["email"])


COMMANDS = [create_token, list_tokens, revoke_token]


# ---- authentication ----------------------------------------------------------------------------

_caches: WeakKeyDictionary[Any, dict[str, tuple[float, dict[str, Any]]]] = WeakKeyDictionary()


def _forget(kith: Kith, digest: str) -> None:
    _caches.get(kith, {}).pop(digest, None)


def unauthorized(message: str) -> KithError:
    return KithError(
        "unauthorized", message, [FieldError("authorization", message, "unauthorized")], status=401
    )


async def _load(kith: Kith, digest: str) -> dict[str, Any] | None:
    st = kith.db.statements
    mark = st.placeholders(1)[0]
    t, u = quote(ApiToken._meta.tablename), quote(User._meta.tablename)
    row = await kith.db.fetchone(
        'SELECT t."id", t."scopes", t."expires_at", t."revoked_at", t."user_id", '  # noqa: S608
        'u."role", u."name", u."email", u."active", u."archived_at" AS "user_archived_at" '
        f'FROM {t} t JOIN {u} u ON u."id" = t."user_id" WHERE t."token_hash" = {mark}',
        [digest],
    )
    if row is None:
        return None
    row = st.codec(ApiToken).decode(row)
    teams = await kith.db.fetch(st.select_where(TeamMember, ["user_id"]), [row["user_id"]])
    row["team_ids"] = tuple(sorted(m["team_id"] for m in teams))
    return row


async def authenticate_token(kith: Kith, token: str | None, channel: str = "api") -> Actor:
    """The :class:`Actor` an API token acts as, or ``KithError`` 401 (``unauthorized``) for
    no token, an unknown, expired or revoked one, or a deactivated user.

    Lookups are cached for ``CACHE_SECONDS`` per process (by Kith's clock): revoking through
    a command forgets the token at once in the process that revoked it; other processes, and
    changes to the user (role, deactivation), take effect within ``CACHE_SECONDS``."""
    if not token:
        raise unauthorized(
            "Send an API token in the Authorization header: 'Bearer kith_…' "
            "(create one with: kith token create EMAIL)."
        )
    token = token.strip()
    if not token.startswith(PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        raise unauthorized("This is not a Kith API token (they start with 'kith_').")
    digest = token_hash(token)
    cache = _caches.setdefault(kith, {})
    now = kith.clock.now()
    now_s = now.timestamp()
    hit = cache.get(digest)
    if hit is not None and hit[0] > now_s:
        row = hit[1]
    else:
        loaded = await _load(kith, digest)
        if loaded is None:
            raise unauthorized("This API token is not valid.")
        row = loaded
        if len(cache) > 10_000:
            cache.clear()
        cache[digest] = (now_s + CACHE_SECONDS, row)
    if row["revoked_at"] is not None:
        raise unauthorized("This API token was revoked.")
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise unauthorized(f"This API token expired at {row['expires_at'].isoformat()}.")
    if row["user_archived_at"] is not None or not row["active"]:
        raise unauthorized(f"The user of this API token ({row['email']}) is deactivated.")
    return Actor(
        user_id=row["user_id"],
        role=row["role"],
        name=row["name"],
        email=row["email"],
        via=f"{channel}:token:{row['id']}",
        team_ids=row["team_ids"],
        scopes=tuple(row["scopes"] or ()),
    )
