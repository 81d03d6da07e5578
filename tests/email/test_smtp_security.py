"""Inbound SMTP beyond loopback: STARTTLS with the configured certificate, and AUTH required
(530 without it, 535 for a wrong password) — real smtplib sessions against aiosmtpd."""

from __future__ import annotations

import asyncio
import datetime as dt
import smtplib
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kith import KithError
from kith.channels.email.server import smtp_options, start_server
from kith.channels.email.settings import EmailSettings
from kith.settings import PluginsFile

RAW = b"From: ada@customer.org\r\nTo: support@example.com\r\nSubject: Over TLS\r\n\r\nHello\r\n"


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def kith_plugins_file(tmp_path: Path) -> PluginsFile:
    cert, key = self_signed(tmp_path)
    return PluginsFile(
        settings={
            "email": {
                "domain": "example.com",
                "maildir": str(tmp_path / "maildir"),
                "smtp_tls_cert": str(cert),
                "smtp_tls_key": str(key),
                "smtp_require_starttls": True,
                "smtp_auth_username": "mta",
                "smtp_auth_password": "relay-secret-1",
            }
        }
    )


@pytest.fixture
async def secure_port(kith_app):
    server = await start_server(kith_app, port=0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def _session(port: int, *, tls: bool, password: str | None) -> tuple[int, str]:
    client = smtplib.SMTP("127.0.0.1", port, timeout=10)
    try:
        client.ehlo()
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            client.starttls(context=context)
            client.ehlo()
        if password is not None:
            client.login("mta", password)
        client.sendmail("ada@customer.org", ["support@example.com"], RAW)
        return 250, "sent"
    except smtplib.SMTPResponseException as err:
        return err.smtp_code, err.smtp_error.decode(errors="replace")
    except smtplib.SMTPRecipientsRefused as err:
        code, text = next(iter(err.recipients.values()))
        return code, text.decode(errors="replace")
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            pass


async def session(port: int, **kw) -> tuple[int, str]:
    return await asyncio.to_thread(_session, port, **kw)


async def test_mail_needs_starttls_then_auth(kith_app, secure_port):
    plain = await session(secure_port, tls=False, password=None)
    assert plain[0] == 530 and "STARTTLS" in plain[1]
    no_auth = await session(secure_port, tls=True, password=None)
    assert no_auth[0] == 530 and "Authentication required" in no_auth[1]
    wrong = await session(secure_port, tls=True, password="guess")
    assert wrong[0] == 535
    assert await kith_app.db.fetch('SELECT "id" FROM "email_messages"') == []
    assert await session(secure_port, tls=True, password="relay-secret-1") == (250, "sent")
    rows = await kith_app.db.fetch('SELECT "raw" FROM "email_messages"')
    assert len(rows) == 1 and "Over TLS" in rows[0]["raw"]


def test_half_configured_security_is_refused_with_the_setting_named():
    with pytest.raises(KithError) as err:
        smtp_options(EmailSettings(smtp_require_starttls=True, smtp_tls_cert=None))
    assert err.value.fields[0].field == "smtp_require_starttls"
    with pytest.raises(KithError) as err:
        smtp_options(EmailSettings(smtp_auth_username="mta", smtp_auth_password=None))
    assert err.value.fields[0].field == "smtp_auth_password"
