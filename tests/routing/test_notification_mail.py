"""E-mail digests of notifications through the real aiosmtpd, on SQLite and PostgreSQL
(docs/automation.md "E-mail digests")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from server.actions.notification_mail import send_digests
from server.domain import notification_digest as digest
from server.storage import schema as t
from server.storage.schema import utcnow
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Running,
    _set_admin_password,
    make_settings,
    start_server,
)
from tests.routing.conftest import Agent, Desk, eventually, make_agent
from tests.support.api import create_api_inbox

PUBLIC_URL = "https://desk.example.test"


@dataclass
class Outgoing:
    """A real SMTP server that answers ``refuse`` times 451, then records what it gets."""

    port: int
    refuse: int = 0
    refused: int = 0
    mails: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refused < self.refuse:
            self.refused += 1
            return "451 4.3.0 Try again later"
        mail = BytesParser(policy=policy.default).parsebytes(envelope.original_content or b"")
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        return "250 OK queued"


@pytest.fixture
def smtp() -> Iterator[Outgoing]:
    from tests.support.ports import free_port

    outgoing = Outgoing(free_port())
    controller = Controller(outgoing, hostname="127.0.0.1", port=outgoing.port)
    controller.start()
    try:
        yield outgoing
    finally:
        controller.stop()


async def _desk(
    tmp_path: Path, database_url: str, smtp: Outgoing, **overrides: Any
) -> AsyncIterator[Desk]:
    settings = make_settings(
        tmp_path,
        database_url,
        mail_url=f"smtp+plain://127.0.0.1:{smtp.port}",
        mail_from="team@example.test",
        public_url=PUBLIC_URL,
        **overrides,
    )
    running: Running = await start_server(settings)
    await _set_admin_password(running)
    try:
        admin = await running.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        ana, ben, cy = [await make_agent(running, n) for n in ("ana", "ben", "cy")]
        inbox = await create_api_inbox(admin, name="Support", members=[ana.id, ben.id, cy.id])
        yield Desk(running, admin, ana, ben, cy, inbox)
    finally:
        await running.stop()


@pytest.fixture
async def desk(tmp_path: Path, database_url: str, smtp: Outgoing) -> AsyncIterator[Desk]:
    """Digests only when the test runs them (the worker's 10-minute interval never ends)."""
    async for d in _desk(tmp_path, database_url, smtp):
        yield d


async def email_mentions(agent: Agent) -> None:
    r = await agent.http.put(
        "/api/notifications/preferences", json={"prefs": {"mention": {"email": True}}}
    )
    assert r.status_code == 200, r.text


async def note(who: Agent, conversation: int, text: str) -> None:
    r = await who.http.post(
        f"/api/conversations/{conversation}/messages", json={"text": text, "private": True}
    )
    assert r.status_code == 201, r.text


async def account_mail(server: Running) -> list[Any]:
    async with server.ctx.db.read() as conn:
        return list((await conn.execute(sa.select(t.account_mail))).all())


async def delivered(smtp: Outgoing, count: int = 1) -> list[EmailMessage]:
    async def enough() -> bool:
        return len(smtp.mails) >= count

    await eventually(enough)
    return smtp.mails


async def test_one_digest_lists_both_mentions_and_only_for_who_chose_email(
    desk: Desk, smtp: Outgoing
) -> None:
    await email_mentions(desk.ben)  # cy keeps the default: app only
    conversation = await desk.chat("c1")
    await note(desk.ana, conversation, "@ben @cy please check the refund")
    await note(desk.ana, conversation, "@ben and the invoice too")
    assert await send_digests(desk.server.ctx) == 1
    [mail] = await delivered(smtp)
    assert mail["To"] == "ben@example.test"
    assert mail["Subject"] == "Switchboard: 2 unread notifications"
    text = mail.get_content()
    assert f"Ana mentioned you on conversation #{conversation}: @ben @cy please check" in text
    assert "@ben and the invoice too (in a private note)" in text
    assert text.count(f"{PUBLIC_URL}/#/inbox/{conversation}") == 2
    # a second round has nothing new to send, and nothing more is queued
    assert await send_digests(desk.server.ctx) == 0
    assert len(await account_mail(desk.server)) == 1
    await eventually(lambda: _all_sent(desk.server))
    assert len(smtp.mails) == 1


async def _all_sent(server: Running) -> bool:
    return all(row.state == "sent" for row in await account_mail(server))


async def test_a_later_mention_goes_alone_in_the_next_digest(desk: Desk, smtp: Outgoing) -> None:
    await email_mentions(desk.ben)
    conversation = await desk.chat("c1")
    await note(desk.ana, conversation, "@ben before the digest")
    assert await send_digests(desk.server.ctx) == 1
    await note(desk.ana, conversation, "@ben after the digest")
    assert await send_digests(desk.server.ctx) == 1
    first, second = await delivered(smtp, 2)
    assert "before the digest" in first.get_content()
    assert second["Subject"] == "Switchboard: 1 unread notification"
    assert "after the digest" in second.get_content()
    assert "before the digest" not in second.get_content()


async def test_a_notification_read_in_the_app_is_not_emailed(desk: Desk, smtp: Outgoing) -> None:
    await email_mentions(desk.ben)
    conversation = await desk.chat("c1")
    await note(desk.ana, conversation, "@ben first look")
    await note(desk.ana, conversation, "@ben second look")
    listed = (await desk.ben.http.get("/api/notifications")).json()["notifications"]
    first = [n["id"] for n in listed if "first look" in n["text"]]
    r = await desk.ben.http.post("/api/notifications/read", json={"ids": first})
    assert r.json()["marked"] == 1
    assert await send_digests(desk.server.ctx) == 1
    [mail] = await delivered(smtp)
    assert mail["Subject"] == "Switchboard: 1 unread notification"
    assert "second look" in mail.get_content()
    assert "first look" not in mail.get_content()


async def test_nothing_is_sent_to_an_agent_without_the_email_preference(
    desk: Desk, smtp: Outgoing
) -> None:
    conversation = await desk.chat("c1")
    await note(desk.ana, conversation, "@ben @cy have a look")
    assert await send_digests(desk.server.ctx) == 0
    assert await account_mail(desk.server) == []


async def test_two_rounds_at_once_send_one_digest(desk: Desk, smtp: Outgoing) -> None:
    """Two nodes' rounds racing: the notifications are e-mailed once."""
    await email_mentions(desk.ben)
    conversation = await desk.chat("c1")
    await note(desk.ana, conversation, "@ben one")
    ctx = desk.server.ctx
    assert sum(await asyncio.gather(send_digests(ctx), send_digests(ctx))) == 1
    assert len(await account_mail(desk.server)) == 1


async def test_an_smtp_4xx_is_retried_and_the_digest_arrives_once(
    desk: Desk, smtp: Outgoing
) -> None:
    smtp.refuse = 1
    await email_mentions(desk.ben)
    conversation = await desk.chat("c1")
    await note(desk.ana, conversation, "@ben urgent")
    assert await send_digests(desk.server.ctx) == 1

    async def deferred() -> Any:
        rows = await account_mail(desk.server)
        return rows if rows and rows[0].last_error and rows[0].claimed_until is None else None

    [row] = await deferred_rows(deferred)
    assert row.state == "queued" and "451" in row.last_error and smtp.refused == 1
    async with desk.server.ctx.db.write() as conn:  # the 30 s backoff has passed
        await conn.execute(
            sa.update(t.account_mail)
            .where(t.account_mail.c.id == row.id)
            .values(next_attempt_at=utcnow())
        )
    [mail] = await delivered(smtp)
    assert "urgent" in mail.get_content()
    await eventually(lambda: _all_sent(desk.server))
    assert await send_digests(desk.server.ctx) == 0
    assert len(smtp.mails) == 1


async def deferred_rows(check: Any) -> list[Any]:
    return await eventually(check)  # type: ignore[no-any-return]


async def test_the_worker_sends_digests_on_its_interval(
    tmp_path: Path, database_url: str, smtp: Outgoing
) -> None:
    async for desk in _desk(tmp_path, database_url, smtp, notify_email_minutes=0.005):
        await email_mentions(desk.ben)
        conversation = await desk.chat("c1")
        await note(desk.ana, conversation, "@ben from the worker")
        [mail] = await delivered(smtp)
        assert "from the worker" in mail.get_content()


@pytest.mark.parametrize(
    ("item", "public_url", "expected"),
    [
        (
            digest.Item("assigned", "Conversation #4 was assigned to you", 4),
            "",
            ("- Conversation #4 was assigned to you"),
        ),
        (
            digest.Item("assigned", "Conversation #4 was assigned to you", 4),
            "https://x.test/",
            ("- Conversation #4 was assigned to you\n  https://x.test/#/inbox/4"),
        ),
        (
            digest.Item("mention", "Ana mentioned you: " + "x" * 300, None),
            "https://x.test",
            ("- Ana mentioned you: " + "x" * 181 + "… (in a private note)"),
        ),
    ],
)
def test_digest_lines(item: digest.Item, public_url: str, expected: str) -> None:
    assert digest.line(item, public_url) == expected
