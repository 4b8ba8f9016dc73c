"""Email continuity goes through its durable queue (issue 14): committed before it is
sent, retried with the same Message-ID on 4xx, failed with the server's reason on 5xx,
its status shown on the reply, and nothing lost across a server restart. Real aiosmtpd,
on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from server.actions import continuity_delivery
from server.storage.schema import utcnow
from server.widget.continuity import sweep
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Running, start_server
from tests.support.api import eventually
from tests.support.ports import free_port
from tests.widget.helpers import Visitor, create_webchat_inbox


class ScriptedSmtp:
    """Answers DATA with the scripted replies in turn, then accepts; records every try."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.attempts: list[Any] = []  # every DATA, refused or accepted
        self.delivered: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content)
        self.attempts.append(mail)
        if self.answers:
            return self.answers.pop(0)
        self.delivered.append(mail)
        return "250 OK"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


def serve(handler: ScriptedSmtp, port: int) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


@pytest.fixture
def running_smtp(request: pytest.FixtureRequest, smtp_port: int) -> Iterator[ScriptedSmtp]:
    handler = ScriptedSmtp(*getattr(request, "param", ()))
    controller = serve(handler, smtp_port)
    try:
        yield handler
    finally:
        controller.stop()


async def unseen_reply(
    server: Running, admin: httpx.AsyncClient, smtp_port: int
) -> tuple[int, dict[str, Any]]:
    """A chat whose visitor left an email and an agent reply the visitor never saw."""
    email = (
        await admin.post(
            "/api/admin/inboxes",
            json={
                "name": "Mail",
                "kind": "email",
                "config": {
                    "address": "help@shop.example",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": smtp_port,
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
    conv = (await visitor.send("where is my parcel?")).json()["message"]["conversation_id"]
    reply = (
        await admin.post(f"/api/conversations/{conv}/messages", json={"text": "It left today."})
    ).json()["message"]

    async def sent() -> bool:
        items = await visitor.history()
        return any(m["id"] == reply["id"] and m["status"] == "sent" for m in items)

    await eventually(sent)
    return conv, reply


async def continuity_of(admin: httpx.AsyncClient, conv: int, message_id: int) -> dict[str, Any]:
    items = (await admin.get(f"/api/conversations/{conv}/messages")).json()["items"]
    [reply] = [m for m in items if m["id"] == message_id]
    return reply["content_attributes"].get("email_continuity") or {}


def status_is(admin: httpx.AsyncClient, conv: int, message_id: int, status: str) -> Any:
    async def check() -> dict[str, Any] | None:
        shown = await continuity_of(admin, conv, message_id)
        return shown if shown.get("status") == status else None

    return check


@pytest.mark.parametrize(
    "running_smtp", [("421 4.3.2 try again later", "451 4.7.1 greylisted")], indirect=True
)
async def test_refused_twice_then_accepted_arrives_once_with_one_message_id(
    server: Running,
    admin: httpx.AsyncClient,
    smtp_port: int,
    running_smtp: ScriptedSmtp,
    caplog: pytest.LogCaptureFixture,
) -> None:
    conv, reply = await unseen_reply(server, admin, smtp_port)
    assert await sweep(server.ctx, utcnow() + timedelta(minutes=4)) == 1
    # committed before any send: the agent sees it pending (or already retrying)
    assert (await continuity_of(admin, conv, reply["id"]))["status"] in ("pending", "sent")
    shown = await eventually(status_is(admin, conv, reply["id"], "sent"), timeout=60)
    assert len(running_smtp.attempts) == 3
    [mail] = running_smtp.delivered
    assert {m["Message-ID"] for m in running_smtp.attempts} == {mail["Message-ID"]}
    assert mail["To"] == "visitor@example.test"
    assert "It left today." in mail.get_payload(decode=True).decode()
    assert shown["error"] is None and shown["sent_at"]
    assert await sweep(server.ctx, utcnow() + timedelta(minutes=10)) == 0  # never queued twice
    assert len(running_smtp.delivered) == 1
    worker = [r for r in caplog.records if r.name == "server.widget.continuity_outbox"]
    assert [r.getMessage() for r in worker if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize(
    "running_smtp", [("550 5.1.1 visitor@example.test: mailbox unavailable",)], indirect=True
)
async def test_refused_for_good_is_failed_with_the_servers_reason(
    server: Running, admin: httpx.AsyncClient, smtp_port: int, running_smtp: ScriptedSmtp
) -> None:
    conv, reply = await unseen_reply(server, admin, smtp_port)
    assert await sweep(server.ctx, utcnow() + timedelta(minutes=4)) == 1
    shown = await eventually(status_is(admin, conv, reply["id"], "failed"), timeout=30)
    assert "550" in shown["error"] and "mailbox unavailable" in shown["error"]
    assert len(running_smtp.attempts) == 1 and running_smtp.delivered == []
    # the chat delivery itself is untouched: the reply is still "sent" in the chat
    items = (await admin.get(f"/api/conversations/{conv}/messages")).json()["items"]
    assert [m["status"] for m in items if m["id"] == reply["id"]] == ["sent"]


async def test_a_queued_mail_survives_a_server_restart(
    server: Running, admin: httpx.AsyncClient, smtp_port: int
) -> None:
    conv, reply = await unseen_reply(server, admin, smtp_port)
    # no SMTP server yet: the attempt is refused at connect and the mail waits, committed
    assert await sweep(server.ctx, utcnow() + timedelta(minutes=4)) == 1
    waiting = await eventually(status_is(admin, conv, reply["id"], "pending"))
    await eventually(lambda: _retrying(admin, conv, reply["id"]), timeout=30)
    due = await continuity_delivery.next_due(server.ctx)  # the worker sleeps until then
    assert isinstance(due, datetime) and due > utcnow() - timedelta(seconds=5)
    await server.stop()
    handler = ScriptedSmtp()
    controller = serve(handler, smtp_port)
    again = await start_server(server.settings)
    try:
        admin2 = await again.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        await eventually(status_is(admin2, conv, reply["id"], "sent"), timeout=60)
        [mail] = handler.delivered
        assert "It left today." in mail.get_payload(decode=True).decode()
        assert waiting["to"] == "visitor@example.test"
    finally:
        await again.stop()
        controller.stop()


async def _retrying(admin: httpx.AsyncClient, conv: int, message_id: int) -> bool:
    shown = await continuity_of(admin, conv, message_id)
    return "SMTP connection failed" in str(shown.get("error"))
