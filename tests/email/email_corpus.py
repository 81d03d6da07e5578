"""Write the fixture corpus in messages/ (run once; the files are committed)."""

from email.message import EmailMessage
from pathlib import Path

HERE = Path(__file__).parent / "messages"

CHARSETS = {
    "utf-8": "Grüße aus Köln — ça marche ✓",
    "iso-8859-1": "Café crème à Paris",
    "iso-8859-2": "Zażółć gęślą jaźń",
    "windows-1252": "Smart “quotes” and €uro",
    "windows-1251": "Привет из Москвы",
    "koi8-r": "Добрый день",
    "shift_jis": "こんにちは、注文について",
    "iso-2022-jp": "お問い合わせの件",
    "gb2312": "你好，我的订单有问题",  # noqa: RUF001 - real Chinese punctuation
}


def base(subject: str, sender: str = "ada@customer.org") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@example.com"
    msg["Subject"] = subject
    return msg


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for i, (charset, text) in enumerate(CHARSETS.items()):
        msg = base(text, f"c{i}@customer.org")
        msg["Message-ID"] = f"<charset-{i}@customer.org>"
        msg.set_content(text + "\n", charset=charset)
        # the subject encoded in the same charset (RFC 2047)
        del msg["Subject"]
        from email.header import Header

        msg["Subject"] = Header(text, charset).encode()
        (HERE / f"charset-{charset}.eml").write_bytes(msg.as_bytes())
    msg = base("HTML only")
    msg["Message-ID"] = "<html-only@customer.org>"
    msg.set_content(
        "<html><body><p>Hello <b>team</b>,</p><p>my invoice &amp; order</p>"
        "<script>x()</script></body></html>",
        subtype="html",
    )
    (HERE / "html-only.eml").write_bytes(msg.as_bytes())
    msg = base("Alternative")
    msg["Message-ID"] = "<alt@customer.org>"
    msg.set_content("Plain version")
    msg.add_alternative("<p>HTML version</p>", subtype="html")
    (HERE / "alternative.eml").write_bytes(msg.as_bytes())
    msg = base("Attachment")
    msg["Message-ID"] = "<attach@customer.org>"
    msg.set_content("See attached")
    msg.add_attachment(
        b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="Überweisung März.pdf"
    )
    (HERE / "attachment-non-ascii-name.eml").write_bytes(msg.as_bytes())
    msg = base("Out of office")
    msg["Message-ID"] = "<ooo@customer.org>"
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("I am away until Monday.")
    (HERE / "autoreply.eml").write_bytes(msg.as_bytes())
    msg = base("Re: Your ticket", "ada@customer.org")
    msg["Message-ID"] = "<gmail-reply@customer.org>"
    msg.set_content(
        "Thanks, that fixed it.\n\nOn Mon, 5 Jan 2026 at 09:00, Support "
        "<support@example.com> wrote:\n> Try restarting.\n"
    )
    (HERE / "reply-gmail.eml").write_bytes(msg.as_bytes())
    msg = base("Undelivered Mail Returned to Sender", "MAILER-DAEMON@mx.customer.org")
    msg["Message-ID"] = "<bounce@mx.customer.org>"
    msg.set_content("This is the mail system. I could not deliver your message.")
    dsn = EmailMessage()
    dsn.set_content(
        "Reporting-MTA: dns; mx.customer.org\n\n"
        "Final-Recipient: rfc822; gone@customer.org\nAction: failed\n"
        "Status: 5.1.1\n"
    )
    msg.make_mixed()
    raw = msg.as_bytes()
    (HERE / "bounce-dsn.eml").write_bytes(_dsn(raw))
    msg = base("Fwd: order problem", "ben@customer.org")
    msg["Message-ID"] = "<fwd@customer.org>"
    msg.set_content("Please see below.")
    inner = base("order problem", "carl@other.org")
    inner.set_content("My order 42 never arrived.")
    msg.add_attachment(inner)
    (HERE / "forward.eml").write_bytes(msg.as_bytes())
    loop = base("Re: [#1] Automatic reply", "noreply@list.org")
    loop["Message-ID"] = "<loop@list.org>"
    loop["Precedence"] = "bulk"
    loop.set_content("You are receiving this because...")
    (HERE / "loop-bulk.eml").write_bytes(loop.as_bytes())


def _dsn(_: bytes) -> bytes:
    return (
        b"From: MAILER-DAEMON@mx.customer.org\r\nTo: support@example.com\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <bounce@mx.customer.org>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.customer.org\r\n\r\n"
        b"Final-Recipient: rfc822; gone@customer.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"\r\n--B--\r\n"
    )


if __name__ == "__main__":
    main()


def message(name: str) -> bytes:
    """The bytes of fixture ``messages/<name>``."""
    return (HERE / name).read_bytes()
