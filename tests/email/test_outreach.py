"""An agent starts a conversation (docs/outreach.md): the email leaves through real SMTP,
the customer's answer threads in through real IMAP, and the first-response clock starts
at the customer's message, not the agent's opening one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx

from tests.conftest import Running
from tests.email.conftest import Mailbox, SmtpPeer, create_email_inbox, email_config, mail
from tests.support.api import create_agent, create_api_inbox, eventually


async def _detail(client: httpx.AsyncClient, cid: int) -> dict[str, Any]:
    return (await client.get(f"/api/conversations/{cid}")).json()  # type: ignore[no-any-return]


async def test_an_agent_writes_first_and_the_clock_starts_at_the_customer(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
    ewa = await create_agent(admin, "ewa@example.test", name="Ewa")
    await admin.put(f"/api/admin/inboxes/{inbox['id']}/members", json={"user_ids": [ewa["id"]]})
    agent = await server.login("ewa@example.test", "agent-password-1")
    body = {
        "inbox_id": inbox["id"],
        "email": "Zofia@Example.org",
        "name": "Zofia",
        "subject": "Your replacement order",
        "text": "Your new parcel ships today.",
        "client_id": "start-1",
    }
    started = await agent.post("/api/conversations", json=body)
    assert started.status_code == 201, started.text
    conv, opening = started.json()["conversation"], started.json()["message"]
    assert conv["status"] == "pending" and conv["assignee_id"] == ewa["id"]
    again = await agent.post("/api/conversations", json=body)  # a retried request
    assert again.status_code == 200 and again.json()["message"]["id"] == opening["id"]

    await eventually(lambda: _now(len(smtp_peer.recorder.delivered) == 1))
    out = smtp_peer.recorder.delivered[0]
    assert smtp_peer.recorder.rcpt == ["zofia@example.org"]
    assert out["Subject"] == "Your replacement order"
    detail = await _detail(agent, conv["id"])
    assert detail["response_cycles"] == [] and detail["waiting_since"] is None

    answer = mail(
        "answer@example.org",
        sender="Zofia <zofia@example.org>",
        to=mailbox.address,
        subject="Re: Your replacement order",
        body="Thanks, which courier?",
        headers={"In-Reply-To": out["Message-ID"], "References": out["Message-ID"]},
    )
    # Mail times have whole seconds (Date, IMAP arrival): the answer arrives in a later
    # second than our email left, as any human answer does.
    ours = datetime.fromisoformat(opening["sent_at"].replace("Z", "+00:00"))
    await asyncio.sleep(
        max(0.0, (ours + timedelta(seconds=1.1) - datetime.now(UTC)).total_seconds())
    )
    dated = format_datetime(datetime.now(UTC)).encode()
    await mailbox.append(answer.replace(b"Mon, 02 Mar 2026 10:00:00 +0000", dated))

    async def customer_wrote() -> dict[str, Any] | None:
        d = await _detail(agent, conv["id"])
        return d if d["response_cycles"] and d["waiting_since"] else None

    waiting = await eventually(customer_wrote)
    assert waiting["status"] == "open"
    (segment,) = waiting["response_cycles"]
    assert segment["responded_at"] is None  # the opening email answered nothing
    reply = await agent.post(f"/api/conversations/{conv['id']}/messages", json={"text": "DPD."})
    answered = await _detail(agent, conv["id"])
    assert answered["first_response_message_id"] == reply.json()["message"]["id"]
    started_at = datetime.fromisoformat(segment["started_at"].replace("Z", "+00:00"))
    replied_at = datetime.fromisoformat(reply.json()["message"]["sent_at"].replace("Z", "+00:00"))
    assert answered["frt_seconds"] == (replied_at - started_at).total_seconds()
    assert started_at.tzinfo is UTC or started_at.utcoffset() is not None


async def test_what_cannot_be_started_is_refused_in_words(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    email_inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
    api_inbox = await create_api_inbox(admin)
    cases = [
        (
            {"inbox_id": api_inbox["id"], "text": "hi", "email": "a@b.org"},
            "customers must write first",
        ),
        ({"inbox_id": email_inbox["id"], "text": "hi", "email": "a@b.org"}, "subject"),
        (
            {
                "inbox_id": email_inbox["id"],
                "text": "hi",
                "subject": "s",
                "email": "not-an-address",
            },
            "email",
        ),
        ({"inbox_id": email_inbox["id"], "text": "hi", "subject": "s"}, "give the customer"),
        ({"inbox_id": email_inbox["id"], "text": "", "subject": "s", "email": "a@b.org"}, "text"),
    ]
    for body, words in cases:
        r = await admin.post("/api/conversations", json=body)
        assert r.status_code == 422, (body, r.text)
        assert words in r.json()["error"]["message"], (words, r.json())
    outsider = await create_agent(admin, "out@example.test")
    client = await server.login(outsider["email"], "agent-password-1")
    hidden = await client.post(
        "/api/conversations",
        json={"inbox_id": email_inbox["id"], "text": "hi", "subject": "s", "email": "a@b.org"},
    )
    assert hidden.status_code == 404  # not a member: the same answer as no inbox at all


async def _now(value: Any) -> Any:
    return value
