"""Mail whose decoded text holds U+0000 (base64 body, RFC 2047 subject and name) is stored
without it, the same on SQLite and PostgreSQL (PostgreSQL refuses U+0000 in text), and the
watcher goes on to the next mail (issue 11, hole 7)."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from tests.conftest import Running
from tests.email.conftest import Mailbox, SmtpPeer, create_email_inbox, email_config, mail
from tests.support.api import eventually


async def conversations(admin: httpx.AsyncClient, inbox_id: int) -> list[Any]:
    params = {"inbox_id": inbox_id, "status": "all"}
    return (await admin.get("/api/conversations", params=params)).json()["items"]  # type: ignore[no-any-return]


async def messages(admin: httpx.AsyncClient, conversation_id: int) -> list[Any]:
    return (await admin.get(f"/api/conversations/{conversation_id}/messages")).json()["items"]  # type: ignore[no-any-return]


def _word(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


async def test_mail_with_nul_in_decoded_text_is_stored_without_it(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
    body = base64.b64encode(b"Help\x00 please").decode()
    name = _word("Ca\x00rol")
    await mailbox.append(
        mail(
            "nul-1@example.org",
            to=mailbox.address,
            sender=f"{name} <carol@example.org>",
            subject=_word("Printer\x00 on fire"),
            body=body,
            headers={"MIME-Version": "1.0", "Content-Transfer-Encoding": "base64"},
        )
    )
    await mailbox.append(
        mail(
            "after-1@example.org",
            to=mailbox.address,
            subject="Next one",
            sender="Dan <dan@example.org>",
        )
    )

    async def both() -> list[Any] | None:
        found = await conversations(admin, inbox["id"])
        return found if len(found) == 2 else None

    convs = {c["subject"]: c for c in await eventually(both)}
    assert set(convs) == {"Printer on fire", "Next one"}
    nul = convs["Printer on fire"]
    assert nul["contact"]["name"] == "Carol"
    texts = [m["text"].strip() for m in await messages(admin, nul["id"])]
    assert texts == ["Help please"]
