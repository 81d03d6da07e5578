"""``[plugins.email]`` settings; each default can also come from a ``KITH_*`` variable."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, Field


def _env(name: str, default: Any) -> Any:
    return os.environ.get(name, default)


class EmailSettings(BaseModel):
    """The email channel's settings (``plugins.toml`` wins over the environment)."""

    domain: str = Field(
        default_factory=lambda: _env("KITH_EMAIL_DOMAIN", "example.com"),
        description="Our mail domain: mail for any other domain is refused (no relay)",
    )
    smtp_host: str = Field(default_factory=lambda: _env("KITH_SMTP_HOST", "127.0.0.1"))
    smtp_port: int = Field(
        default_factory=lambda: int(_env("KITH_SMTP_PORT", "2525")), ge=0, le=65535
    )
    max_message_bytes: int = Field(25 * 1024 * 1024, ge=1024, description="552 when over")
    max_recipients: int = Field(50, ge=1, le=1000, description="Recipients per message")
    max_per_sender_minute: int = Field(60, ge=1, description="Messages per sender per minute")
    support_address: str = Field("support", description="Local part that opens tickets")
    log_address: str = Field("log", description="Local part users BCC or forward sales mail to")
    leads_address: str = Field("leads", description="Local part that makes leads")
    command_prefix: str = Field("kith", description="Command addresses: kith+<id>.<code>@")
    log_creates_contacts: bool = Field(
        True, description="log@ creates a contact for an unknown address"
    )
    trust_auth_results: bool = Field(
        default_factory=lambda: _env("KITH_EMAIL_TRUST_AUTH_RESULTS", "0") in ("1", "true"),
        description="Refuse command mail whose Authentication-Results says DKIM/SPF failed",
    )
    subject_tag: str = Field("#", description="Prefix of the ticket tag in subjects: [#311]")
    acknowledge_new_tickets: bool = Field(
        True, description="Answer a ticket opened by mail with an acknowledgement (ack.txt)"
    )
    autoreplies_per_sender_hour: int = Field(
        3,
        ge=0,
        description="Acknowledgements one address gets per hour; past it, none (a loop guard)",
    )
    templates_dir: str | None = Field(
        default_factory=lambda: _env("KITH_EMAIL_TEMPLATES", None),
        description="A folder whose ack.txt, ack.html, reply.txt, reply.html, csat.txt and "
        "csat.html replace the bundled ones",
    )
    outbound_host: str | None = Field(
        default_factory=lambda: _env("KITH_SMTP_OUTBOUND_HOST", None),
        description="Relay host; none: outgoing mail goes to the maildir",
    )
    outbound_port: int = Field(
        default_factory=lambda: int(_env("KITH_SMTP_OUTBOUND_PORT", "25")), ge=1, le=65535
    )
    outbound_username: str | None = Field(
        default_factory=lambda: _env("KITH_SMTP_OUTBOUND_USERNAME", None)
    )
    outbound_password: str | None = Field(
        default_factory=lambda: _env("KITH_SMTP_OUTBOUND_PASSWORD", None)
    )
    outbound_starttls: bool = Field(
        default_factory=lambda: _env("KITH_SMTP_OUTBOUND_STARTTLS", "0") in ("1", "true")
    )
    outbound_from_name: str = Field("Support")
    smtp_tls_cert: str | None = Field(
        default_factory=lambda: _env("KITH_SMTP_TLS_CERT", None),
        description="PEM certificate (chain) for inbound STARTTLS; with smtp_tls_key",
    )
    smtp_tls_key: str | None = Field(
        default_factory=lambda: _env("KITH_SMTP_TLS_KEY", None),
        description="PEM private key for inbound STARTTLS",
    )
    smtp_require_starttls: bool = Field(
        default_factory=lambda: _env("KITH_SMTP_REQUIRE_STARTTLS", "0") in ("1", "true"),
        description="Refuse mail until the client has started TLS (needs the certificate)",
    )
    smtp_auth_username: str | None = Field(
        default_factory=lambda: _env("KITH_SMTP_AUTH_USERNAME", None),
        description="When set, senders must AUTH (PLAIN/LOGIN) with this name and password",
    )
    smtp_auth_password: str | None = Field(
        default_factory=lambda: _env("KITH_SMTP_AUTH_PASSWORD", None)
    )
    maildir: str = Field(
        default_factory=lambda: _env("KITH_EMAIL_MAILDIR", "maildir"),
        description="Where outgoing mail is written when no relay is set",
    )


def email_settings(source: Any) -> EmailSettings:
    """The settings, from a Kith or a Context."""
    value = source.plugin_settings("email")
    return value if isinstance(value, EmailSettings) else EmailSettings()
