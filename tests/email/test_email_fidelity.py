"""Issue 14 end to end: corpus mails of each defect's shape delivered through a real Dovecot
(IMAP APPEND, as an MTA's delivery appears to the watcher), on SQLite and PostgreSQL, and
read back through the REST API an agent's browser uses."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Running
from tests.email.conftest import CORPUS, Mailbox, SmtpPeer, create_email_inbox, email_config, mail
from tests.email.test_email_channel import (
    all_messages,
    conversations,
    first_conversation,
    messages,
)
from tests.support.api import create_agent, eventually


def corpus(name: str) -> bytes:
    return (CORPUS / f"{name}.eml").read_bytes()


async def _settled(admin: httpx.AsyncClient, inbox_id: int, count: int) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | None:
        found = await all_messages(admin, inbox_id)
        return found if len(found) >= count else None

    found: list[dict[str, Any]] = await eventually(enough, timeout=20)
    return found


def _by_subject(found: list[dict[str, Any]], convs: list[dict[str, Any]]) -> dict[str, Any]:
    subjects = {c["id"]: c["subject"] for c in convs}
    return {subjects[m["conversation_id"]]: m for m in found}


async def test_a_reused_message_id_with_another_body_is_kept_and_marked(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
    await mailbox.append(corpus("repeated_id_first"))
    await mailbox.append(corpus("repeated_id_second"))
    relayed = b"Received: from relay.example.org by mx\r\n" + corpus("repeated_id_first")
    await mailbox.append(relayed)  # the same mail seen again: one message
    await mailbox.append(corpus("repeated_id_second"))  # also its second copy
    await mailbox.append(mail("canary@example.org", to=mailbox.address, body="canary"))
    found = await _settled(admin, inbox["id"], 3)
    texts = sorted(m["text"].strip() for m in found)
    assert texts == [
        "A different mail under the same id: it arrived after all, thank you.",
        "The first mail: my order 1234 has not arrived.",
        "canary",
    ]
    (second,) = [m for m in found if m["text"].startswith("A different mail")]
    assert second["content_attributes"]["repeated_external_id"] == "reused-id-1@mua.example.org"
    (first,) = [m for m in found if m["text"].startswith("The first mail")]
    assert "repeated_external_id" not in first["content_attributes"]


async def test_a_bounce_shows_the_reason_and_marks_our_reply_failed(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
    await mailbox.append(mail("parcel@customer.example", to=mailbox.address))
    conv = await first_conversation(admin, inbox["id"])
    url = f"/api/conversations/{conv['id']}/messages"
    sent = await admin.post(url, json={"text": "On its way"})
    reply_id = sent.json()["message"]["id"]
    await eventually(lambda: _true(len(smtp_peer.recorder.delivered) == 1))
    our_id = smtp_peer.recorder.delivered[0]["Message-ID"].strip("<>")

    async def reply() -> dict[str, Any]:
        return next(m for m in await messages(admin, conv["id"]) if m["id"] == reply_id)

    await eventually(lambda: _status(reply, "sent"))
    await mailbox.append(corpus("bounce_dsn").replace(b"ORIGINAL-ID", our_id.encode()))
    failed = await eventually(lambda: _status(reply, "failed"))
    assert "Delivery to nobody@customer.example failed: 550 5.1.1" in failed["error"]
    bounce = (await messages(admin, conv["id"]))[-1]  # threaded by the returned Message-ID
    assert bounce["is_auto"] is True
    assert "Delivery to nobody@customer.example failed: 550 5.1.1" in bounce["html"]
    names = {a["filename"]: a for a in bounce["attachments"]}
    assert names["delivery-status.txt"]["size"] > 100  # the report itself, not 0 bytes


async def test_each_shape_is_shown_as_a_mail_client_shows_it(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
    shapes = [
        "mixed_text_html_text",
        "forwarded_with_attachment",
        "inline_text_with_filename",
        "html_with_title",
        "raw_8bit_headers_latin1",
        "raw_8bit_headers_koi8r",
        "external_body",
        "unnamed_parts",
        "no_address_sender_a",
        "no_address_sender_b",
    ]
    for name in shapes:
        await mailbox.append(corpus(name))
    found = await _settled(admin, inbox["id"], len(shapes))
    convs = await conversations(admin, inbox["id"])
    by = _by_subject(found, convs)

    mixed = by["Three parts"]["html"]
    assert (
        mixed.index("First, the plain")
        < mixed.index("Second, the <b>HTML</b>")
        < mixed.index("Third, the plain")
    )
    forwarded = by["Fwd: Invoice 77"]
    assert "<summary>Forwarded message: Invoice 77</summary>" in forwarded["html"]
    assert "Your invoice <b>77</b> is attached." in forwarded["html"]
    assert [a["filename"] for a in forwarded["attachments"]] == ["Invoice-77.eml", "invoice-77.pdf"]
    assert "flux capacitor" in by["Error log"]["text"]
    assert "Untitled" not in by["Newsletter reply"]["html"]
    assert by["Problème de facture"]["content_attributes"]["email"]["header_charset"] == (
        "iso-8859-1"
    )
    assert "Заказ не пришёл" in by
    assert "https://files.example.org/logs/big.log" in by["The big file"]["text"]
    unnamed = [a["filename"] for a in by["Unnamed parts"]["attachments"]]
    assert unnamed == ["attachment-1.jpg", "attachment-2.bin"]

    names = {c["subject"]: (c.get("contact") or {}).get("name") for c in convs}
    assert names["Problème de facture"] == "Élodie François"
    assert names["Заказ не пришёл"] == "Иван Петров"
    contacts = {c["subject"]: c["contact_id"] for c in convs}
    assert contacts["No address A"] != contacts["No address B"]
    assert names["No address A"] == "Kim at the front desk"


async def test_broken_mime_is_reconstructed_and_its_raw_source_is_for_members_only(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
    raw = corpus("broken_boundary")
    await mailbox.append(raw)
    (msg,) = await _settled(admin, inbox["id"], 1)
    assert "The printer still jams on page <b>two</b>." in msg["html"]
    assert "--==_part" not in msg["html"] + msg["text"]
    assert "Content-Type" not in msg["html"] + msg["text"]
    email = msg["content_attributes"]["email"]
    assert email["malformed"]
    source = msg["attachments"][email["raw_source"]]
    download = await admin.get(source["url"])
    assert download.status_code == 200
    assert download.content.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")

    await create_agent(admin, "outsider@example.test", password="agent-password-1")
    outsider = await server.login("outsider@example.test", "agent-password-1")
    assert (await outsider.get(source["url"])).status_code == 404


async def _true(value: bool) -> bool:
    return value


async def _status(get: Any, status: str) -> dict[str, Any] | None:
    found: dict[str, Any] = await get()
    return found if found["status"] == status else None


async def test_a_contact_name_follows_newer_mail_but_not_over_an_agents_edit(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))

    async def contact_name(count: int) -> str | None:
        convs = await conversations(admin, inbox["id"])
        if len(convs) < count:
            return None
        contact = await admin.get(f"/api/contacts/{convs[0]['contact_id']}")
        name: str | None = contact.json().get("contact", contact.json())["name"]
        return name

    await mailbox.append(mail("n1@example.org", to=mailbox.address, sender="j.smith <js@x.org>"))
    assert await eventually(lambda: contact_name(1)) == "j.smith"
    newer = mail("n2@example.org", to=mailbox.address, sender="Jane Smith <js@x.org>", body="2")
    await mailbox.append(newer)
    await eventually(lambda: _is(contact_name(2), "Jane Smith"))

    contact_id = (await conversations(admin, inbox["id"]))[0]["contact_id"]
    edited = await admin.patch(f"/api/contacts/{contact_id}", json={"name": "Jane (VIP)"})
    assert edited.status_code == 200, edited.text
    await mailbox.append(mail("n3@example.org", to=mailbox.address, sender="J S <js@x.org>"))
    await mailbox.append(mail("n4@example.org", to=mailbox.address, sender="Bob <bob@x.org>"))
    await _settled(admin, inbox["id"], 4)
    convs = await conversations(admin, inbox["id"])
    names = {(c.get("contact") or {}).get("name") for c in convs}
    assert names == {"Jane (VIP)", "Bob"}


async def _is(value: Any, expected: str) -> bool:
    return bool(await value == expected)
