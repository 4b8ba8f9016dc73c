"""Issue 14: what an agent is shown of real-world mail shapes. Pure parser calls on corpus
mails (tests/email/corpus), then the server's sanitizer, exactly as ingest stores them."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.base import InboundMessage
from adapters.email.bodies import extension
from adapters.email.headers import decode_8bit
from adapters.email.parse import MailContext, parse_or_quarantine
from adapters.email.repair import guess_boundary, strip_mime_syntax
from server.sanitize import sanitize_html

CORPUS = Path(__file__).parent / "corpus"
MC = MailContext("support@example.test", "example.test")


def parsed(name: str) -> InboundMessage:
    return parse_or_quarantine((CORPUS / f"{name}.eml").read_bytes(), MC)


def shown(msg: InboundMessage) -> str:
    """What the agent sees: the sanitized HTML when there is one, else the text."""
    return sanitize_html(msg.html) if msg.html else (msg.text or "")


def test_a_repeated_message_id_with_another_body_has_another_content_hash() -> None:
    first, second = parsed("repeated_id_first"), parsed("repeated_id_second")
    assert first.external_id == second.external_id == "reused-id-1@mua.example.org"
    assert first.content_attributes["content_hash"] != second.content_attributes["content_hash"]
    hops = b"Received: from relay\r\nX-Spam-Status: No\r\nAuthentication-Results: mx; spf=pass\r\n"
    again = parse_or_quarantine(hops + (CORPUS / "repeated_id_first.eml").read_bytes(), MC)
    assert again.content_attributes["content_hash"] == first.content_attributes["content_hash"]


def test_a_bounce_shows_status_and_diagnostic_and_names_the_original() -> None:
    msg = parsed("bounce_dsn")
    text = shown(msg)
    assert (
        "Delivery to nobody@customer.example failed: 550 5.1.1 &lt;nobody@customer.example&gt;:"
        " Recipient address rejected: User unknown" in text
    )
    bounce = msg.content_attributes["email"]["bounce"]
    assert bounce["failed"] is True and bounce["refers_to"] == ["ORIGINAL-ID"]
    assert bounce["recipients"][0]["status"] == "5.1.1"
    assert "ORIGINAL-ID" in msg.thread_refs  # the bounce joins the conversation it is about
    names = {a.filename: a for a in msg.attachments}
    assert names["delivery-status.txt"].data.count(b"Diagnostic-Code") == 1  # not 0 bytes
    assert "Re: Where is my parcel" in text  # the returned headers, collapsed


def test_external_body_says_where_the_content_is() -> None:
    text = parsed("external_body").text or ""
    assert "The log is on our server." in text
    assert "stored elsewhere (access type url): https://files.example.org/logs/big.log" in text


def test_every_part_of_multipart_mixed_is_shown_in_order() -> None:
    msg = parsed("mixed_text_html_text")
    body = shown(msg)
    first, second, third = (
        body.index("First, the plain introduction."),
        body.index("Second, the <b>HTML</b> table."),
        body.index("Third, the plain closing line."),
    )
    assert first < second < third
    assert (msg.text or "").count("the plain") == 2


def test_alternative_shows_one_version() -> None:
    msg = parsed("nested_multipart")
    assert shown(msg).count("body") == 1 and "Plain body" in (msg.text or "")


def test_a_forwarded_mail_is_shown_inline_collapsed_with_its_attachments() -> None:
    msg = parsed("forwarded_with_attachment")
    body = shown(msg)
    assert body.index("Please look at the mail below.") < body.index('<details class="sb-forward">')
    assert "<summary>Forwarded message: Invoice 77</summary>" in body
    assert "<b>From:</b> Billing &lt;billing@vendor.example&gt;" in body
    assert "Your invoice <b>77</b> is attached." in body
    assert "Attachments: invoice-77.pdf" in body
    names = [a.filename for a in msg.attachments]
    assert names == ["Invoice-77.eml", "invoice-77.pdf"]


def test_an_inline_text_part_with_a_file_name_is_in_the_body() -> None:
    msg = parsed("inline_text_with_filename")
    assert "flux capacitor" in (msg.text or "")
    assert [a.filename for a in msg.attachments] == ["error.log"]


def test_the_html_title_is_not_shown() -> None:
    msg = parsed("html_with_title")
    assert "Untitled" not in shown(msg) and "Untitled" not in (msg.text or "")
    assert "Only this sentence should show." in shown(msg)


@pytest.mark.parametrize(
    ("name", "sender", "subject", "charset"),
    [
        ("raw_8bit_headers_latin1", "Élodie François", "Problème de facture", "iso-8859-1"),
        ("raw_8bit_headers_koi8r", "Иван Петров", "Заказ не пришёл", "koi8-r"),
    ],
)
def test_raw_8bit_headers_are_read_in_the_declared_charset(
    name: str, sender: str, subject: str, charset: str
) -> None:
    msg = parsed(name)
    assert (msg.contact.name, msg.subject) == (sender, subject)
    assert msg.content_attributes["email"]["header_charset"] == charset


@pytest.mark.parametrize(
    ("raw", "charsets", "expected"),
    [
        ("Gr\udcc3\udcbc\udcc3\udc9fe", (), ("Grüße", "utf-8")),  # raw UTF-8 (RFC 6532)
        ("caf\udce9", (), ("café", "cp1252")),  # nothing declared: cp1252
        ("\udc93quoted\udc94", ("iso-8859-1",), ("\x93quoted\x94", "iso-8859-1")),
        ("x =?utf-8?q?caf=C3=A9?= \udce9", (), ("x café é", "cp1252")),
    ],
)
def test_decode_8bit_order(raw: str, charsets: tuple[str, ...], expected: tuple[str, str]) -> None:
    assert decode_8bit(raw, charsets) == expected


def test_broken_mime_is_reconstructed_with_a_notice_and_the_raw_source() -> None:
    msg = parsed("broken_boundary")
    body = shown(msg)
    assert "The printer still jams on page <b>two</b>." in body
    assert "--==_part" not in body and "Content-Type" not in body
    assert "--==_part" not in (msg.text or "") and "Content-Type" not in (msg.text or "")
    email = msg.content_attributes["email"]
    assert "NoBoundaryInMultipartDefect" in email["malformed"]
    raw = msg.attachments[email["raw_source"]]
    assert raw.data == (CORPUS / "broken_boundary.eml").read_bytes()


def test_a_clean_mail_is_not_called_malformed() -> None:
    email = parsed("mixed_text_html_text").content_attributes["email"]
    assert "malformed" not in email and "raw_source" not in email


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("--a1\nX: y\n\nhi\n--a1--\n", "a1"),
        ("-- \nsignature\n", None),
        ("------------\nruler\n------------\n", None),
        ("--once\nonly once\n", None),
    ],
)
def test_boundary_guess(body: str, expected: str | None) -> None:
    assert guess_boundary(body) == expected


def test_mime_syntax_is_stripped_when_no_boundary_can_be_used() -> None:
    text = "--b\nContent-Type: text/plain\n\nhello\n-- \nsig"
    assert strip_mime_syntax(text) == "hello\n-- \nsig"


def test_senders_without_an_address_stay_apart() -> None:
    a, b = parsed("no_address_sender_a"), parsed("no_address_sender_b")
    assert a.contact.external_id != b.contact.external_id
    assert a.contact.name == "Kim at the front desk"
    assert b.contact.name == "Lou (warehouse)"


def test_generated_attachment_names_have_proper_extensions() -> None:
    names = [a.filename for a in parsed("unnamed_parts").attachments]
    assert names == ["attachment-1.jpg", "attachment-2.bin"]
    assert [a.filename for a in parsed("bounce").attachments] == ["delivery-status.txt"]


@pytest.mark.parametrize(
    ("ctype", "ext"),
    [
        ("application/pdf", ".pdf"),
        ("image/png", ".png"),
        ("message/delivery-status", ".txt"),
        ("text/x-unheard-of", ".txt"),
        ("application/x-very-long-vendor-specific-type", ".bin"),
    ],
)
def test_extension(ctype: str, ext: str) -> None:
    assert extension(ctype) == ext


def test_quoted_history_is_split_from_what_the_customer_wrote() -> None:
    email = parsed("quoted_reply").content_attributes["email"]
    assert email["visible_text"] == "Thanks, that worked!"
    assert email["quoted_text"].startswith("On Mon, 2 Mar 2026")
    assert email["signature"] == "-- \nCara\nACME"


def test_a_mail_forwarded_in_the_body_is_not_taken_for_quoted_history() -> None:
    email = parsed("plain_forwarded_inline").content_attributes["email"]
    assert "Parcel 55 left the depot." in email["visible_text"]
    assert email["quoted_text"] is None


def test_html_quote_markers_survive_sanitizing_for_the_inbox_to_collapse() -> None:
    html = shown(parsed("html_gmail_quote"))
    assert '<div class="gmail_quote">' in html and '<blockquote class="gmail_quote">' in html


def test_a_broken_content_disposition_costs_nothing_but_that_header() -> None:
    msg = parsed("broken_disposition")
    assert "quarantined" not in msg.content_attributes
    assert "The body is still readable." in (msg.text or "")
    assert [a.content_type for a in msg.attachments] == ["application/pdf"]


def test_quarantined_mails_keep_their_senders_apart() -> None:
    from adapters.email.parse import quarantine

    a = quarantine(b"From: Ann <ann@example.org>\r\nX: \x00\r\n\r\nbody", MC, "boom")
    b = quarantine(b"From: bob@example.org\r\n\r\nbody", MC, "boom")
    c, d = quarantine(b"\x00one", MC, "boom"), quarantine(b"\x00two", MC, "boom")
    assert (a.contact.external_id, b.contact.external_id) == ("ann@example.org", "bob@example.org")
    assert c.contact.external_id != d.contact.external_id
