"""The email channel end to end: a real Switchboard, a real Dovecot (IMAP IDLE), a real
aiosmtpd. Mail is delivered with IMAP APPEND (or dropped into the Maildir while Dovecot is
down), exactly as a watcher would see an MTA's delivery.
"""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
import pytest

from adapters.email import imap_watcher
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Running,
    _set_admin_password,
    make_settings,
    start_server,
)
from tests.email.conftest import (
    CORPUS,
    Mailbox,
    SmtpPeer,
    create_email_inbox,
    email_config,
    mail,
)
from tests.support.api import eventually
from tests.support.ports import free_port
from tests.support.services import PostgresServer


async def conversations(admin: httpx.AsyncClient, inbox_id: int) -> list[dict[str, Any]]:
    response = await admin.get(
        "/api/conversations", params={"inbox_id": inbox_id, "status": "all", "limit": 100}
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def messages(admin: httpx.AsyncClient, conversation_id: int) -> list[dict[str, Any]]:
    response = await admin.get(
        f"/api/conversations/{conversation_id}/messages", params={"limit": 200}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return sorted(items, key=lambda m: m["id"])


async def all_messages(admin: httpx.AsyncClient, inbox_id: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for conv in await conversations(admin, inbox_id):
        found += await messages(admin, conv["id"])
    return found


async def inbound_texts(admin: httpx.AsyncClient, inbox_id: int) -> list[str]:
    return sorted(
        m["text"].strip() for m in await all_messages(admin, inbox_id) if m["direction"] == "in"
    )


async def health(admin: httpx.AsyncClient, inbox_id: int) -> dict[str, Any] | None:
    items = (await admin.get("/api/admin/inboxes")).json()["items"]
    found: dict[str, Any] | None = next(i for i in items if i["id"] == inbox_id)["health"]
    return found


async def first_conversation(admin: httpx.AsyncClient, inbox_id: int) -> dict[str, Any]:
    async def one() -> dict[str, Any] | None:
        convs = await conversations(admin, inbox_id)
        return convs[0] if convs else None

    found: dict[str, Any] = await eventually(one)
    return found


async def test_mail_in_reply_out_and_the_customer_reply_threads(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
    await mailbox.append(mail("first@example.org", to=mailbox.address))
    conv = await first_conversation(admin, inbox["id"])
    assert conv["subject"] == "Printer on fire"

    sent = await admin.post(
        f"/api/conversations/{conv['id']}/messages", json={"text": "Have you tried water?"}
    )
    assert sent.status_code == 201, sent.text
    await eventually(lambda: _async(len(smtp_peer.recorder.delivered) == 1))
    out = smtp_peer.recorder.delivered[0]
    assert out["In-Reply-To"] == "<first@example.org>"
    assert out["References"] == "<first@example.org>"
    assert out["Subject"] == "Re: Printer on fire"
    assert out["From"].addresses[0].addr_spec == mailbox.address
    assert "via Support" in str(out["From"])
    reply_to = out["Reply-To"].addresses[0].addr_spec
    assert reply_to.startswith(mailbox.address.split("@")[0] + "+")
    assert smtp_peer.recorder.rcpt == ["carol@example.org"]
    assert "Have you tried water?" in out.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    async def delivered_status() -> bool:
        return bool((await messages(admin, conv["id"]))[-1]["status"] == "sent")

    await eventually(delivered_status)

    our_id = out["Message-ID"]
    await mailbox.append(
        mail(
            "second@example.org",
            to=mailbox.address,
            body="It worked",
            subject="Re: Printer on fire",
            headers={"In-Reply-To": our_id, "References": our_id},
        )
    )
    await mailbox.append(
        mail("third@example.org", to=reply_to, body="By token", subject="totally new subject")
    )
    await mailbox.append(mail("fourth@example.org", to=mailbox.address, body="New topic"))

    async def settled() -> bool:
        return len(await inbound_texts(admin, inbox["id"])) == 4

    await eventually(settled)
    texts = [m["text"].strip() for m in await messages(admin, conv["id"])]
    assert texts == ["Help please", "Have you tried water?", "It worked", "By token"]
    assert len(await conversations(admin, inbox["id"])) == 2  # "New topic": a new conversation

    watch = await health(admin, inbox["id"])
    assert watch is not None and watch["connected"] and watch["detail"]["last_uid"] >= 4


async def _async(value: Any) -> Any:
    return value


async def test_retries_reuse_the_message_id_and_5xx_fails_with_the_reason(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
    await mailbox.append(mail("ask@example.org", to=mailbox.address))
    conv = await first_conversation(admin, inbox["id"])
    recorder = smtp_peer.recorder

    recorder.modes = ["4xx", "drop"]  # then "ok": two transient failures, then delivery
    await admin.post(f"/api/conversations/{conv['id']}/messages", json={"text": "Answer"})
    await eventually(lambda: _async(len(recorder.delivered) == 1), timeout=30)
    ids = {m["Message-ID"] for m in recorder.attempts}
    assert len(recorder.attempts) == 3 and len(ids) == 1

    recorder.mode = "5xx"
    failed = await admin.post(f"/api/conversations/{conv['id']}/messages", json={"text": "No"})
    message_id = failed.json()["message"]["id"]

    async def failed_with_reason() -> dict[str, Any] | None:
        found = [m for m in await messages(admin, conv["id"]) if m["id"] == message_id]
        return found[0] if found and found[0]["status"] == "failed" else None

    failed_message = await eventually(failed_with_reason)
    assert "550" in failed_message["error"] and "User unknown" in failed_message["error"]
    assert len(recorder.delivered) == 1


async def test_auto_replies_are_visible_but_not_customer_messages(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
    await mailbox.append(
        mail(
            "ooo@example.org",
            to=mailbox.address,
            subject="Out of office",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    conv = await first_conversation(admin, inbox["id"])
    (msg,) = await messages(admin, conv["id"])
    assert msg["is_auto"] is True
    detail = (await admin.get(f"/api/conversations/{conv['id']}")).json()
    assert detail.get("conversation", detail).get("last_customer_message_at") is None


async def test_the_corpus_is_ingested_or_quarantined_and_the_watcher_survives(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(
        admin, email_config(mailbox, smtp_peer, max_message_bytes=100_000)
    )
    accepted = 0
    for path in sorted(CORPUS.glob("*.eml")):
        try:
            await mailbox.append(path.read_bytes())
        except RuntimeError:  # Dovecot refuses to store a zero-byte mail: not ours to test
            continue
        accepted += 1
    await mailbox.append(mail("canary@example.org", to=mailbox.address, body="canary"))

    async def all_in() -> int | None:
        found = await all_messages(admin, inbox["id"])
        return len(found) if len(found) >= accepted + 1 else None

    assert await eventually(all_in, timeout=20) == accepted + 1
    found = await all_messages(admin, inbox["id"])
    huge = [m for m in found if m["content_attributes"].get("truncated")]
    assert huge and "only the first 100000 bytes" in huge[0]["content_attributes"]["notes"][-1]
    html = [m for m in found if m["html"] and "evil.example" in m["html"]]
    assert html and "<script" not in html[0]["html"] and 'data-remote-src="http' in html[0]["html"]
    assert (await health(admin, inbox["id"]) or {}).get("connected") is True


async def test_a_dovecot_outage_is_backfilled_without_loss_or_duplicates(
    server: Running,
    admin: httpx.AsyncClient,
    mailbox: Mailbox,
    smtp_peer: SmtpPeer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Also: the connection lost inside IDLE leaves no task behind (the chaos run's node
    logs had "Task was destroyed but it is pending!" for aioimaplib's IDLE after each
    Dovecot outage)."""
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
    await mailbox.append(mail("before@example.org", to=mailbox.address, body="before"))
    await first_conversation(admin, inbox["id"])
    mailbox.dovecot.stop()
    try:

        async def disconnected() -> bool:
            return (await health(admin, inbox["id"]) or {}).get("connected") is False

        await eventually(disconnected, timeout=45)
        for i in range(3):
            mailbox.drop_into_maildir(
                f"during{i}", mail(f"during{i}@example.org", to=mailbox.address, body=f"during {i}")
            )
    finally:
        mailbox.dovecot.start()
    await mailbox.append(mail("after@example.org", to=mailbox.address, body="after"))

    async def settled() -> list[str] | None:
        texts = await inbound_texts(admin, inbox["id"])
        return texts if len(texts) >= 5 else None

    await eventually(settled, timeout=40)
    assert await inbound_texts(admin, inbox["id"]) == [
        "after",
        "before",
        "during 0",
        "during 1",
        "during 2",
    ]
    idles = [t for t in asyncio.all_tasks() if "IMAP4.idle" in repr(t.get_coro())]
    assert len(idles) <= 1, idles  # the live connection's IDLE only
    gc.collect()  # the lost connection's objects: a task still pending among them is logged
    await asyncio.sleep(0)
    leaked = [
        r.getMessage() for r in caplog.records if "destroyed but it is pending" in r.getMessage()
    ]
    assert not leaked, leaked


async def test_a_server_restart_resumes_the_cursor(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
    await mailbox.append(mail("one@example.org", to=mailbox.address, body="one"))
    await first_conversation(admin, inbox["id"])
    settings = server.settings
    await server.stop()
    for word in ("two", "three", "four"):
        await mailbox.append(mail(f"{word}@example.org", to=mailbox.address, body=word))
    again = await start_server(settings)
    try:
        client = await again.login(ADMIN_EMAIL, ADMIN_PASSWORD)

        async def settled() -> list[str] | None:
            texts = await inbound_texts(client, inbox["id"])
            return texts if len(texts) >= 4 else None

        await eventually(settled, timeout=20)
        await mailbox.append(mail("five@example.org", to=mailbox.address, body="five"))
        await eventually(lambda: _count(client, inbox["id"], 5))
        assert await inbound_texts(client, inbox["id"]) == ["five", "four", "one", "three", "two"]
    finally:
        await again.stop()
        server.server.should_exit = True  # the fixture's own stop() must find it stopped


async def _count(client: httpx.AsyncClient, inbox_id: int, n: int) -> bool:
    return len(await inbound_texts(client, inbox_id)) >= n


async def test_test_connection_reports_each_step(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    good = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
    result = (await admin.post(f"/api/admin/inboxes/{good['id']}/test")).json()
    assert result["ok"], result
    names = [c["name"] for c in result["checks"]]
    assert names[:5] == ["imap.dns", "imap.tcp", "imap.auth", "imap.mailbox", "imap.idle"]
    bad = await create_email_inbox(
        admin,
        email_config(
            mailbox,
            smtp_peer,
            imap_password="wrong-password",
            imap_mailbox="NoSuchBox",
            smtp_host="no-such-host.invalid",
        ),
        name="Broken",
    )
    result = (await admin.post(f"/api/admin/inboxes/{bad['id']}/test")).json()
    failed = {c["name"] for c in result["checks"] if not c["ok"]}
    assert not result["ok"] and failed == {"imap.auth", "smtp.dns"}
    secret = await admin.get("/api/admin/inboxes")
    assert "wrong-password" not in secret.text and "mail-password-1" not in secret.text


async def test_exactly_one_node_watches_a_mailbox_and_it_moves_when_that_node_stops(
    postgres: PostgresServer,
    tmp_path: Path,
    mailbox: Mailbox,
    smtp_peer: SmtpPeer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imap_watcher, "LEASE_TTL", 2.0)  # seconds instead of 30: a fast test
    monkeypatch.setattr(imap_watcher, "LEASE_RENEW", 0.3)
    url = postgres.create_database(f"lease_{mailbox.address.split('@')[0]}")
    node_a = await start_server(make_settings(tmp_path / "a", url, node_id="node-a"))
    node_b: Running | None = None
    try:
        await _set_admin_password(node_a)
        admin = await node_a.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
        node_b = await start_server(make_settings(tmp_path / "b", url, node_id="node-b"))
        await eventually(
            lambda: _async(
                _state(node_a, inbox["id"]) == "idle" and _state(node_b, inbox["id"]) == "standby"
            )
        )
        await mailbox.append(mail("lease1@example.org", to=mailbox.address, body="one"))
        await eventually(lambda: _count(admin, inbox["id"], 1))
        await node_a.stop()
        await eventually(lambda: _async(_state(node_b, inbox["id"]) == "idle"), timeout=20)
        client = await node_b.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        await mailbox.append(mail("lease2@example.org", to=mailbox.address, body="two"))
        await eventually(lambda: _count(client, inbox["id"], 2))
        assert await inbound_texts(client, inbox["id"]) == ["one", "two"]
    finally:
        if node_b is not None:
            await node_b.stop()
        if not node_a.task.done():
            await node_a.stop()
        postgres.drop_database(url.rsplit("/", 1)[1])


def _state(node: Running, inbox_id: int) -> str | None:
    assert node.ctx.channels is not None
    health = node.ctx.channels.health.by_inbox.get(inbox_id)
    return health.detail.get("state") if health else None


async def test_the_inbound_smtp_endpoint_refuses_unknown_recipients_and_stores_mail(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    port = free_port()
    inbox = await create_email_inbox(
        admin, {"address": "help@example.test", "inbound_smtp_port": port}
    )
    raw = mail("smtp-in@example.org", to="help@example.test", body="via MX")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await aiosmtplib.send(
            raw,
            sender="c@example.org",
            recipients=["nobody@example.test"],
            hostname="127.0.0.1",
            port=port,
        )
    assert refused.value.recipients[0].code == 550
    await aiosmtplib.send(
        raw,
        sender="c@example.org",
        recipients=["help@example.test"],
        hostname="127.0.0.1",
        port=port,
    )
    assert await inbound_texts(admin, inbox["id"]) == ["via MX"]  # committed before 250
    await aiosmtplib.send(
        raw,
        sender="c@example.org",
        recipients=["help+tok12345678@example.test"],
        hostname="127.0.0.1",
        port=port,
    )
    assert await inbound_texts(admin, inbox["id"]) == ["via MX"]  # redelivery deduplicated


async def test_imap_start_new_skips_mail_that_was_there_before(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    await mailbox.append(mail("old@example.org", to=mailbox.address, body="old"))
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer, imap_start="new"))

    async def idle() -> bool:
        return (await health(admin, inbox["id"]) or {}).get("detail", {}).get("state") == "idle"

    await eventually(idle)
    await mailbox.append(mail("new@example.org", to=mailbox.address, body="new"))
    await eventually(lambda: _count(admin, inbox["id"], 1))
    assert await inbound_texts(admin, inbox["id"]) == ["new"]
