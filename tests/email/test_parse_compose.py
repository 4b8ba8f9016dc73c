"""Pure MIME parsing and composing: plain calls, no event loop, no servers."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from adapters.base import Attachment, ConfigInvalid, ContactInfo, OutboundMessage
from adapters.email.compose import (
    ComposeError,
    Sender,
    compose_reply,
    is_own_message_id,
    outbound_message_id,
)
from adapters.email.config import normalise, parse_config
from adapters.email.imap_proto import parse_fetch, parse_search, parse_select, uid_set
from adapters.email.parse import MailContext, parse_or_quarantine, quarantine
from adapters.email.quoting import split_reply

CORPUS = Path(__file__).parent / "corpus"
MC = MailContext("support@example.com", "example.com")
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def corpus(name: str) -> bytes:
    return (CORPUS / f"{name}.eml").read_bytes()


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.stem)
def test_every_corpus_mail_becomes_a_storable_message(path: Path) -> None:
    msg = parse_or_quarantine(path.read_bytes(), MC)
    assert msg.external_id and len(msg.external_id) <= 1000
    assert len(msg.contact.external_id) <= 500
    assert msg.subject is None or len(msg.subject) <= 1000
    assert len(msg.thread_refs) <= 100
    assert msg.text is not None or msg.html is not None or msg.attachments


def test_the_same_mail_always_gets_the_same_id_even_without_message_id() -> None:
    raw = corpus("no_message_id")
    relayed = b"Received: from mx by relay; Mon, 2 Mar 2026\r\n" + raw
    first = parse_or_quarantine(raw, MC).external_id
    assert first.startswith("sha256-")
    assert parse_or_quarantine(raw, MC).external_id == first
    assert parse_or_quarantine(relayed, MC).external_id == first  # trace headers ignored


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bad_charset", "Café crème"),
        ("wrong_charset", "Café"),
        ("encoded_words", "Grüße"),
        ("broken_base64", "Hello"),
        ("multipart_no_boundary", "where are the parts"),
        ("deep_nesting", "innermost"),
        ("html_only", "Hi there"),
    ],
)
def test_text_is_recovered_from_bad_charsets_and_odd_structures(name: str, expected: str) -> None:
    assert expected in (parse_or_quarantine(corpus(name), MC).text or "")


def test_a_charset_fallback_is_noted() -> None:
    msg = parse_or_quarantine(corpus("bad_charset"), MC)
    assert "x-no-such-charset" in msg.content_attributes["notes"][0]


def test_nested_multipart_keeps_html_inline_images_and_attachments() -> None:
    msg = parse_or_quarantine(corpus("nested_multipart"), MC)
    assert msg.subject == "Nested ✓" and msg.contact.name == "Zoë"
    assert msg.text and "Plain body" in msg.text
    assert msg.html and "cid:logo@x" in msg.html
    inline, pdf = msg.attachments
    assert (inline.content_id, inline.content_type) == ("logo@x", "image/png")
    assert (pdf.filename, pdf.data[:4]) == ("report.pdf", b"%PDF")


def test_rfc2231_filenames_and_encoded_words_are_decoded() -> None:
    msg = parse_or_quarantine(corpus("encoded_words"), MC)
    assert msg.contact.name == "Jörg Müller"
    assert msg.attachments[0].filename == "€ rates.txt"


@pytest.mark.parametrize(
    ("name", "auto"),
    [
        ("auto_reply", True),
        ("bounce", True),
        ("quoted_reply", False),
        ("nested_multipart", False),
    ],
)
def test_auto_replies_and_bounces_are_flagged(name: str, auto: bool) -> None:
    assert parse_or_quarantine(corpus(name), MC).is_auto is auto


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-generated",
        "Precedence: bulk",
        "Precedence: junk",
        "X-Autoreply: yes",
        "Return-Path: <>",
        "List-Id: <news.example.org>",
    ],
)
def test_each_loop_signal_alone_flags_the_mail(header: str) -> None:
    raw = f"From: a@example.org\r\nMessage-ID: <x@y>\r\n{header}\r\n\r\nbody\r\n".encode()
    assert parse_or_quarantine(raw, MC).is_auto


def test_threading_token_and_quote_split() -> None:
    msg = parse_or_quarantine(corpus("quoted_reply"), MC)
    assert msg.thread_refs == ("first@example.org", "sb.7.abcdef0123456789@example.com")
    assert msg.conversation_token == "abcdefgh12345678"
    email = msg.content_attributes["email"]
    assert email["visible_text"] == "Thanks, that worked!"
    assert email["signature"].startswith("-- ")
    assert "Try turning it off" in email["quoted_text"]
    assert "Try turning it off" in (msg.text or "")  # the full original stays


def test_a_token_for_another_address_is_ignored() -> None:
    raw = b"From: a@example.org\r\nTo: other+abcdefgh12345678@example.com\r\n\r\nx\r\n"
    assert parse_or_quarantine(raw, MC).conversation_token is None


def test_truncated_mail_carries_a_note() -> None:
    mc = MailContext("support@example.com", "example.com", truncated_from=50_000_000)
    msg = parse_or_quarantine(corpus("nested_multipart")[:300], mc)
    assert msg.content_attributes["truncated"] is True
    assert "50000000 bytes" in msg.content_attributes["notes"][-1]


def test_quarantine_keeps_the_raw_bytes() -> None:
    msg = quarantine(b"\x00garbage", MC, "boom")
    assert msg.attachments[0].data == b"\x00garbage"
    assert msg.content_attributes["quarantined"] == "boom"


def outbound(**overrides: object) -> OutboundMessage:
    fields: dict[str, object] = dict(
        message_id=42,
        conversation_id=7,
        provider_id=None,
        text="Hello\nthere",
        html=None,
        attachments=(Attachment("notes.txt", "text/plain", b"n"),),
        recipient=ContactInfo("cust@example.org", name="Cust", email="cust@example.org"),
        author_name="Ann Agent",
        subject="Printer broken",
        thread_refs=("a@x", "b@x"),
        channel_data={},
        conversation_token="tok_abcdefgh1234",
        content_attributes={},
        attempt=1,
    )
    fields.update(overrides)
    return OutboundMessage(**fields)  # type: ignore[arg-type]


SENDER = Sender("support@example.com", "Acme Support")


def reparse(raw: bytes) -> object:
    return BytesParser(policy=policy.default).parsebytes(raw)


def test_compose_threads_and_is_deterministic() -> None:
    mail, pid = compose_reply(outbound(), SENDER, NOW)
    again, pid2 = compose_reply(outbound(attempt=2), SENDER, NOW)
    assert pid == pid2 == outbound_message_id(42, "tok_abcdefgh1234", "example.com")
    assert mail["Message-ID"] == again["Message-ID"] == f"<{pid}>"
    assert mail["In-Reply-To"] == "<b@x>" and mail["References"] == "<a@x> <b@x>"
    assert mail["Reply-To"].addresses[0].addr_spec == "support+tok_abcdefgh1234@example.com"
    assert str(mail["From"]) == "Ann Agent via Acme Support <support@example.com>"
    assert mail["Subject"] == "Re: Printer broken"
    assert is_own_message_id(pid, "example.com") and not is_own_message_id(pid, "other.org")


def test_a_stored_provider_id_is_reused() -> None:
    _, pid = compose_reply(outbound(provider_id="sb.42.0123456789abcdef@example.com"), SENDER, NOW)
    assert pid == "sb.42.0123456789abcdef@example.com"


@pytest.mark.parametrize("field", ["author_name", "subject", "recipient_name", "filename"])
def test_no_header_injection(field: str) -> None:
    evil = "Eve\r\nBcc: victim@example.net\r\nX-Evil: 1"
    table: dict[str, dict[str, object]] = {
        "author_name": {"author_name": evil},
        "subject": {"subject": evil},
        "recipient_name": {
            "recipient": ContactInfo("c@example.org", name=evil, email="c@example.org")
        },
        "filename": {"attachments": (Attachment(evil, "text/plain", b"x"),)},
    }
    overrides = table[field]
    mail, _ = compose_reply(outbound(**overrides), SENDER, NOW)
    parsed = reparse(mail.as_bytes())
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None  # type: ignore[index]


@pytest.mark.parametrize("address", ["not-an-address", "a@b\r\nBcc: c@d.org", ""])
def test_unusable_recipients_are_refused(address: str) -> None:
    with pytest.raises(ComposeError):
        compose_reply(outbound(recipient=ContactInfo(address, email=address)), SENDER, NOW)


def test_our_own_mail_coming_back_is_an_echo() -> None:
    mail, pid = compose_reply(outbound(), SENDER, NOW)
    msg = parse_or_quarantine(mail.as_bytes(), MC)
    assert msg.is_echo and msg.external_id == pid
    forged = mail.as_bytes().replace(
        b"From: Ann Agent via Acme Support <support@example.com>", b"From: someone@else.example"
    )
    assert not parse_or_quarantine(forged, MC).is_echo


def test_quote_split_keeps_a_quote_only_message_whole() -> None:
    assert split_reply("> only a quote").visible == "> only a quote"


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({}, "address"),
        ({"address": "s@example.com", "imap_security": "tls-please"}, "imap_security"),
        ({"address": "s@example.com", "imap_idle_seconds": 1800}, "imap_idle_seconds"),
        ({"address": "s@example.com", "smtp_host": "bad host"}, "smtp_host"),
        ({"address": "s@example.com", "imap_host": "imap.example.com"}, "imap_password"),
        ({"address": "s@example.com", "nope": 1}, "unknown"),
        ({"address": "s@example.com", "tls_trusted_fingerprint": "AB:CD"}, "64 hex digits"),
    ],
)
def test_config_errors_name_the_field(config: dict[str, object], error: str) -> None:
    with pytest.raises(ConfigInvalid, match=error):
        normalise(config)


def test_config_defaults() -> None:
    cfg = parse_config({"address": "S@Example.com", "smtp_security": "ssl"})
    assert (cfg.address, cfg.smtp_port, cfg.imap_port, cfg.watches) == (
        "s@example.com",
        465,
        993,
        False,
    )


def test_imap_response_parsing() -> None:
    lines: list[bytes | bytearray] = [
        b'1 FETCH (UID 5 INTERNALDATE "23-Nov-2026 01:55:40 +0000" RFC822.SIZE 4 BODY[] {4}',
        bytearray(b"abcd"),
        b")",
        b"2 FETCH (FLAGS (\\Seen))",
        b"3 FETCH (BODY[]<0> {2}",
        bytearray(b"xy"),
        b" UID 9 RFC822.SIZE 99)",
        b"Fetch completed.",
    ]
    first, second = parse_fetch(lines)
    assert (first.uid, first.size, first.body) == (5, 4, b"abcd")
    assert first.internaldate == datetime(2026, 11, 23, 1, 55, 40, tzinfo=UTC)
    assert (second.uid, second.size, second.body) == (9, 99, b"xy")
    assert parse_search([b"3 4 9", b"Search completed."], after=3) == [4, 9]
    assert parse_select([b"OK [UIDVALIDITY 17] x", b"OK [UIDNEXT 4] y"]).uidnext == 4
    assert uid_set([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10"
