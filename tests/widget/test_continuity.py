"""Email continuity through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from adapters.email.parse import MailContext, parse_message
from server.actions.inbound import ingest
from server.storage.schema import utcnow
from server.widget.continuity import sweep
from tests.conftest import Running
from tests.support.api import eventually
from tests.support.ports import free_port
from tests.widget.helpers import Visitor, create_webchat_inbox


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


async def test_unseen_reply_is_emailed_once_and_seen_reply_never(
    server: Running, admin: httpx.AsyncClient, smtp: tuple[Inbox, int]
) -> None:
    mailbox, port = smtp
    email = (
        await admin.post(
            "/api/admin/inboxes",
            json={
                "name": "Mail",
                "kind": "email",
                "config": {
                    "address": "help@shop.example",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": port,
                    "smtp_security": "none",
                },
            },
        )
    ).json()
    inbox = await create_webchat_inbox(
        admin,
        email_continuity={"enabled": True, "after_minutes": 3, "email_inbox_id": email["id"]},
        pre_chat={"enabled": True, "fields": [{"name": "email", "type": "email"}]},
    )
    visitor = Visitor(server.client(), inbox["public_key"])
    await visitor.start(form={"email": "visitor@example.test"})
    conv = (await visitor.send("hello?")).json()["message"]["conversation_id"]
    reply = (
        await admin.post(
            f"/api/conversations/{conv}/messages", json={"text": "We shipped it today."}
        )
    ).json()["message"]

    async def sent() -> bool:
        items = await visitor.history()
        return any(m["id"] == reply["id"] and m["status"] == "sent" for m in items)

    await eventually(sent)
    assert await sweep(server.ctx, utcnow()) == 0  # not yet: only minutes later
    later = utcnow() + timedelta(minutes=4)
    assert await sweep(server.ctx, later) == 1
    assert await sweep(server.ctx, later) == 0
    await eventually(lambda: _arrived(mailbox))  # sent by the queue's worker (issue 14)
    [mail] = mailbox.messages
    assert mail["To"] == "visitor@example.test"
    assert "We shipped it today." in mail.get_payload(decode=True).decode()
    # the visitor answers the email: it lands in the chat conversation, as the visitor
    answer = (
        f"From: Visitor <visitor@example.test>\r\nTo: {mail['Reply-To']}\r\n"
        f"Subject: Re: {mail['Subject']}\r\nMessage-ID: <answer-1@example.test>\r\n"
        f"In-Reply-To: {mail['Message-ID']}\r\n\r\nThanks, that is all.\r\n"
    )
    parsed = parse_message(answer.encode(), MailContext("help@shop.example", "shop.example"))
    landed = await ingest(server.ctx, email["id"], parsed)
    assert landed.conversation_id == conv
    history = await visitor.history()
    assert [m["text"] for m in history if m["direction"] == "in"][-1].startswith("Thanks")
    assert (
        await admin.get(
            "/api/conversations", params={"inbox_id": str(email["id"]), "status": "all"}
        )
    ).json()["items"] == []
    second = (
        await admin.post(f"/api/conversations/{conv}/messages", json={"text": "Anything else?"})
    ).json()["message"]
    await visitor.client.post(
        visitor.url("seen"), json={"message_id": second["id"]}, headers=visitor.auth()
    )
    assert await sweep(server.ctx, utcnow() + timedelta(minutes=10)) == 0


async def _arrived(mailbox: Inbox) -> bool:
    return bool(mailbox.messages)
