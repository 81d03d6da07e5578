"""Parsing real messy mail: charsets, HTML-only, attachments, forwards, noise."""

from __future__ import annotations

import pytest
from email_corpus import CHARSETS, message
from kith.channels.email.parse import parse


@pytest.mark.parametrize("charset", list(CHARSETS))
def test_every_charset_subject_and_body_decoded_exactly(charset: str) -> None:
    parsed = parse(message(f"charset-{charset}.eml"))
    assert parsed["subject"] == CHARSETS[charset]
    assert parsed["text"] == CHARSETS[charset]


def test_html_only_becomes_readable_text_and_html_is_kept() -> None:
    parsed = parse(message("html-only.eml"))
    assert "Hello team," in parsed["text"]
    assert "my invoice & order" in parsed["text"]
    assert "x()" not in parsed["text"]
    assert "<b>team</b>" in parsed["html"]


def test_alternative_prefers_plain_text() -> None:
    parsed = parse(message("alternative.eml"))
    assert parsed["text"] == "Plain version"
    assert parsed["html"].strip() == "<p>HTML version</p>"


def test_attachment_with_non_ascii_name_is_described() -> None:
    (att,) = parse(message("attachment-non-ascii-name.eml"))["attachments"]
    assert att["filename"] == "Überweisung März.pdf"
    assert att["content_type"] == "application/pdf"
    assert att["size"] == len(b"%PDF-1.4 fake")
    assert len(att["sha256"]) == 64


def test_gmail_quote_trimmed_for_the_timeline_original_kept() -> None:
    parsed = parse(message("reply-gmail.eml"))
    assert parsed["body"] == "Thanks, that fixed it."
    assert "Try restarting" in parsed["text"]


def test_forward_keeps_the_forwarded_message() -> None:
    parsed = parse(message("forward.eml"))
    assert "forward" in parsed["flags"]
    assert "My order 42 never arrived." in parsed["text"]


def test_noise_is_flagged() -> None:
    assert "autoreply" in parse(message("autoreply.eml"))["flags"]
    assert "bulk" in parse(message("loop-bulk.eml"))["flags"]
    bounce = parse(message("bounce-dsn.eml"))
    assert "bounce" in bounce["flags"]
    assert bounce["bounced"] == [{"address": "gone@customer.org", "status": "5.1.1"}]
