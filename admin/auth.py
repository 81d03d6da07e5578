"""Log-in for the admin pages: passwords (argon2id), optional TOTP, sessions, lockout.

Every change is a command (with a history row that never holds a secret):

* ``user.set_password`` — yourself, or anyone when you are an admin (``kith user password``
  reads the password from standard input and runs it);
* ``user.totp_setup`` / ``user.totp_confirm`` / ``user.totp_disable`` — two-factor codes;
* ``session.open`` / ``session.close`` / ``session.touch`` — run by the admin pages as the
  system: check a password (counting failures, locking the account after
  ``lockout_failures`` in a row), start a session, end one, keep one alive.

A session is a random cookie whose SHA-256 alone is stored, next to its CSRF token; it ends
at ``session_hours``, after ``idle_minutes`` unused, at log-out, or when the password changes.
"""

# The session look-up is one fixed statement with a bound parameter (S608 cannot see that).
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import kith
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, Field

from .settings import admin_settings
from .tables import AdminCredential, AdminSession

HASHER = PasswordHasher()  # argon2id, the library's current recommended parameters
TOTP_PURPOSE = "admin-totp"


@cache
def _dummy_hash() -> str:
    """A hash of a random password, made on first use (not at import: every ``kith`` command
    imports this module): failed look-ups for unknown emails cost the same time."""
    return HASHER.hash(secrets.token_urlsafe(16))


TOUCH_EVERY = timedelta(minutes=5)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)


async def password_matches(stored: str, password: str) -> bool:
    def check() -> bool:
        try:
            return HASHER.verify(stored or _dummy_hash(), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def _check_strength(password: str, minimum: int, email: str | None) -> None:
    if len(password) < minimum:
        raise kith.invalid("password", f"use at least {minimum} characters", "too_short")
    if len(password) > 500:
        raise kith.invalid("password", "use at most 500 characters", "too_long")
    if password.strip() != password:
        raise kith.invalid("password", "must not start or end with spaces", "spaces")
    if email and password.lower() in {email.lower(), email.split("@")[0].lower()}:
        raise kith.invalid("password", "must not be your email address", "weak")
    if len(set(password)) < 4:
        raise kith.invalid("password", "use more than three different characters", "weak")


async def _credential(ctx: kith.Context, user_id: int) -> dict[str, Any] | None:
    return await ctx.find_one(AdminCredential, user_id=user_id)


def _require_system(ctx: kith.Context) -> None:
    if not ctx.actor.is_system:
        raise kith.forbidden(f"{ctx.command} is run by the admin pages themselves")


async def _target_user(ctx: kith.Context, ref: Any) -> dict[str, Any]:
    if ref is None:
        if ctx.actor.user_id is None:
            raise kith.invalid("user", "say whose password this is")
        ref = ctx.actor.user_id
    if isinstance(ref, int):
        user = await ctx.find_one(kith.User, id=ref)
    else:
        user = await ctx.find_one(kith.User, email=str(ref).strip().lower())
    if user is None:
        raise kith.not_found("user", ref, "user")
    if user["id"] != ctx.actor.user_id and ctx.actor.role not in ("admin", "system"):
        raise kith.forbidden("Only an admin sets another user's password.")
    return user


class SetPassword(kith.Input):
    user: int | str | None = Field(None, description="Id or email (default: yourself)")
    password: str = Field(min_length=1, max_length=500, description="The new password")


class UserRef(kith.Input):
    user: int | str | None = Field(None, description="Id or email (default: yourself)")


class Done(BaseModel):
    user_id: int
    email: str
    sessions_ended: int = 0


async def _end_sessions(ctx: kith.Context, user_id: int) -> int:
    rows = await ctx.select(AdminSession, user_id=user_id, revoked_at=None)
    for row in rows:
        await ctx.update(AdminSession, row, {"revoked_at": ctx.now()}, record_history=False)
    return len(rows)


@kith.command("user.set_password", input=SetPassword, output=Done, permission="profile.read")
async def set_password(ctx: kith.Context, data: SetPassword) -> Done:
    """Set the password a user logs in to the admin pages with (yourself, or anyone when you
    are an admin). Their other sessions end. Also: ``kith user password EMAIL``."""
    user = await _target_user(ctx, data.user)
    settings = admin_settings(ctx)
    _check_strength(data.password, settings.min_password_length, user["email"])
    hashed = await hash_password(data.password)
    existing = await _credential(ctx, user["id"])
    values = {"password_hash": hashed, "failed_logins": 0, "locked_until": None}
    if existing is None:
        await ctx.insert(AdminCredential, {"user_id": user["id"], **values}, record_history=False)
    else:
        await ctx.update(AdminCredential, existing, values, record_history=False)
    ctx.record_history("user", user["id"], "password_set", {"password": ["…", "…"]})
    ended = await _end_sessions(ctx, user["id"])
    return Done(user_id=user["id"], email=user["email"], sessions_ended=ended)


class TotpSetup(BaseModel):
    secret: str = Field(description="Type it into an authenticator app, or use the URI")
    uri: str = Field(description="otpauth:// URI (a QR code of it works in most apps)")


class TotpConfirm(kith.Input):
    code: str = Field(min_length=6, max_length=10, description="The app's current code")


@kith.command("user.totp_setup", input=UserRef, output=TotpSetup, permission="profile.read")
async def totp_setup(ctx: kith.Context, data: UserRef) -> TotpSetup:
    """Start two-factor log-in for yourself: a new secret for an authenticator app. It
    takes effect once ``user.totp_confirm`` gets a code the app shows."""
    user = await _target_user(ctx, data.user)
    if user["id"] != ctx.actor.user_id:
        raise kith.forbidden("Set up two-factor codes for yourself only.")
    cred = await _credential(ctx, user["id"])
    if cred is None:
        raise kith.invalid("user", "set a password first (user.set_password)", "no_password")
    secret = pyotp.random_base32()
    stored = kith.encrypt_secret(ctx.kith, TOTP_PURPOSE, secret)
    await ctx.update(AdminCredential, cred, {"totp_pending": stored}, record_history=False)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user["email"], issuer_name="Kith")
    return TotpSetup(secret=secret, uri=uri)


def _code_ok(secret: str, code: str, now: datetime) -> bool:
    """The app's code for now, or the one just before or after (clocks drift)."""
    return pyotp.TOTP(secret).verify(code.replace(" ", ""), for_time=now, valid_window=1)


@kith.command("user.totp_confirm", input=TotpConfirm, output=Done, permission="profile.read")
async def totp_confirm(ctx: kith.Context, data: TotpConfirm) -> Done:
    """Turn two-factor log-in on with a code from the app set up by ``user.totp_setup``."""
    user = await _target_user(ctx, None)
    cred = await _credential(ctx, user["id"])
    if cred is None or not cred["totp_pending"]:
        raise kith.invalid("code", "start with user.totp_setup", "no_setup")
    secret = kith.decrypt_secret(ctx.kith, TOTP_PURPOSE, cred["totp_pending"])
    if not _code_ok(secret, data.code, ctx.now()):
        raise kith.invalid("code", "this code is not the app's current one", "wrong_code")
    await ctx.update(
        AdminCredential,
        cred,
        {"totp_secret": cred["totp_pending"], "totp_pending": None},
        record_history=False,
    )
    ctx.record_history("user", user["id"], "totp_enabled", {})
    return Done(user_id=user["id"], email=user["email"])


@kith.command("user.totp_disable", input=UserRef, output=Done, permission="profile.read")
async def totp_disable(ctx: kith.Context, data: UserRef) -> Done:
    """Turn two-factor log-in off (yourself, or anyone when you are an admin: a lost phone)."""
    user = await _target_user(ctx, data.user)
    cred = await _credential(ctx, user["id"])
    if cred is not None and (cred["totp_secret"] or cred["totp_pending"]):
        await ctx.update(
            AdminCredential,
            cred,
            {"totp_secret": None, "totp_pending": None},
            record_history=False,
        )
        ctx.record_history("user", user["id"], "totp_disabled", {})
    return Done(user_id=user["id"], email=user["email"])


class OpenIn(kith.Input):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=500)
    totp: str | None = Field(None, max_length=10)
    user_agent: str = Field("", max_length=300)


class OpenOut(BaseModel):
    ok: bool
    reason: str = ""
    field: str = ""
    token: str = ""
    csrf: str = ""
    user_id: int | None = None


def _refused(reason: str, field: str = "password") -> OpenOut:
    return OpenOut(ok=False, reason=reason, field=field)


WRONG = "The email or password is not right."


@kith.command("session.open", input=OpenIn, output=OpenOut, permission="sessions.admin")
async def open_session(ctx: kith.Context, data: OpenIn) -> OpenOut:
    """Check an email and password (and a two-factor code when the user has them on) and
    start a browser session. Failures are counted; after ``lockout_failures`` in a row the
    account is locked for ``lockout_minutes``. Run by the admin pages as the system."""
    _require_system(ctx)
    settings = admin_settings(ctx)
    now = ctx.now()
    user = await ctx.find_one(kith.User, email=data.email.strip().lower())
    cred = await _credential(ctx, user["id"]) if user else None
    if user is None or cred is None or not cred["password_hash"]:
        await password_matches("", data.password)  # the same time as a real check
        return _refused(WRONG)
    if cred["locked_until"] is not None and cred["locked_until"] > now:
        minutes = max(1, int((cred["locked_until"] - now).total_seconds() // 60) + 1)
        return _refused(
            f"Too many failed log-ins: this account is locked for {minutes} more minute(s).",
            "email",
        )
    ok = await password_matches(cred["password_hash"], data.password)
    if ok and cred["totp_secret"]:
        secret = kith.decrypt_secret(ctx.kith, TOTP_PURPOSE, cred["totp_secret"])
        if not data.totp:
            return _refused("Enter the code from your authenticator app.", "totp")
        if not _code_ok(secret, data.totp, now):
            ok = False
    if not ok:
        failures = cred["failed_logins"] + 1
        changes: dict[str, Any] = {"failed_logins": failures}
        if failures >= settings.lockout_failures:
            changes = {
                "failed_logins": 0,
                "locked_until": now + timedelta(minutes=settings.lockout_minutes),
            }
            ctx.record_history("user", user["id"], "login_locked", {"failures": failures})
            ctx.emit("user.login_locked", "user", user["id"], failures=failures)
        await ctx.update(AdminCredential, cred, changes, record_history=False)
        field = "totp" if cred["totp_secret"] and data.totp else "password"
        return _refused(
            WRONG if field == "password" else "That two-factor code is not right.", field
        )
    if not user["active"] or user["archived_at"] is not None:
        return _refused("This user is deactivated.", "email")
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    await ctx.update(
        AdminCredential,
        cred,
        {"failed_logins": 0, "locked_until": None, "last_login_at": now},
        record_history=False,
    )
    await ctx.insert(
        AdminSession,
        {
            "token_hash": token_hash(token),
            "user_id": user["id"],
            "csrf_token": csrf,
            "user_agent": data.user_agent[:300],
            "expires_at": now + timedelta(hours=settings.session_hours),
            "last_seen_at": now,
        },
        record_history=False,
    )
    ctx.record_history("user", user["id"], "logged_in", {"via": ["", "admin"]})
    return OpenOut(ok=True, token=token, csrf=csrf, user_id=user["id"])


class TokenIn(kith.Input):
    token: str = Field(min_length=1, max_length=200)


class ClosedOut(BaseModel):
    closed: bool


@kith.command("session.close", input=TokenIn, output=ClosedOut, permission="sessions.admin")
async def close_session(ctx: kith.Context, data: TokenIn) -> ClosedOut:
    """End a browser session (log-out). Run by the admin pages as the system."""
    _require_system(ctx)
    row = await ctx.find_one(AdminSession, token_hash=token_hash(data.token))
    if row is None or row["revoked_at"] is not None:
        return ClosedOut(closed=False)
    await ctx.update(AdminSession, row, {"revoked_at": ctx.now()}, record_history=False)
    return ClosedOut(closed=True)


@kith.command("session.touch", input=TokenIn, output=ClosedOut, permission="sessions.admin")
async def touch_session(ctx: kith.Context, data: TokenIn) -> ClosedOut:
    """Note that a session is in use (it ends after ``idle_minutes`` without)."""
    _require_system(ctx)
    row = await ctx.find_one(AdminSession, token_hash=token_hash(data.token))
    if row is None or row["revoked_at"] is not None:
        return ClosedOut(closed=True)
    await ctx.update(AdminSession, row, {"last_seen_at": ctx.now()}, record_history=False)
    return ClosedOut(closed=False)


class WebSession(BaseModel):
    """A live session: who, and the token every form and script call must send back."""

    actor: Any
    csrf: str
    token: str
    last_seen_at: datetime


_SESSION_SQL = (
    'SELECT s."id" AS session_id, s."csrf_token", s."expires_at", s."last_seen_at", '
    's."revoked_at", u."id", u."email", u."name", u."role", u."active", u."archived_at" '
    'FROM "admin_sessions" s JOIN "users" u ON u."id" = s."user_id" WHERE s."token_hash" = '
)


async def session_for(app: kith.Kith, token: str | None) -> WebSession | None:
    """The live session of a cookie, or ``None`` (unknown, ended, expired, idle, or its
    user deactivated). The actor acts with the user's role, via ``web:session:<id>``."""
    if not token or len(token) > 200:
        return None
    placeholder = app.db.statements.placeholders(1)[0]
    rows = await app.db.fetch(_SESSION_SQL + placeholder, [token_hash(token)])
    if not rows:
        return None
    row = app.db.statements.codec(kith.User).decode(
        app.db.statements.codec(AdminSession).decode(rows[0])
    )
    now = app.clock.now()
    settings = admin_settings(app)
    if (
        row["revoked_at"] is not None
        or row["expires_at"] <= now
        or row["last_seen_at"] + timedelta(minutes=settings.idle_minutes) <= now
        or not row["active"]
        or row["archived_at"] is not None
    ):
        return None
    teams = await app.db.fetch(
        'SELECT "team_id" FROM "team_members" WHERE "user_id" = ' + placeholder, [row["id"]]
    )
    actor = kith.Actor(
        user_id=row["id"],
        role=row["role"],
        name=row["name"],
        email=row["email"],
        via=f"web:session:{row['session_id']}",
        team_ids=tuple(sorted(t["team_id"] for t in teams)),
    )
    if now - row["last_seen_at"] >= TOUCH_EVERY:
        await app.run("session.touch", {"token": token}, kith.SYSTEM)
    return WebSession(actor=actor, csrf=row["csrf_token"], token=token, last_seen_at=now)
