"""The admin plugin's tables: users' log-in credentials and their browser sessions."""

from __future__ import annotations

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class AdminCredential(Table, tablename="admin_credentials"):
    """One per user who may log in to the admin pages. The password is an argon2id hash;
    the TOTP secret is encrypted with the installation's key (``kith.encrypt_secret``)."""

    user_id = Integer(unique=True)
    password_hash = Text(default="")
    totp_secret = Text(null=True, default=None)  # encrypted; set once confirmed
    totp_pending = Text(null=True, default=None)  # encrypted; awaiting a first code
    failed_logins = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    last_login_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=None)
    updated_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


class AdminSession(Table, tablename="admin_sessions"):
    """A browser session: only the SHA-256 of its cookie is stored, and its CSRF token."""

    token_hash = Varchar(length=64, unique=True)
    user_id = Integer(index=True)
    csrf_token = Varchar(length=64)
    user_agent = Varchar(length=300, default="")
    expires_at = Timestamptz(default=None)
    last_seen_at = Timestamptz(default=None)
    revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=None)
    updated_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


ADMIN_TABLES = [AdminCredential, AdminSession]
