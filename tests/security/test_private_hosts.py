"""Hole 6: admin-set IMAP/SMTP hosts pass the private-address guard at connect time
(watcher, sender, "test connection"); SWITCHBOARD_ALLOW_PRIVATE_URLS allows them.
Hole 12: /readyz tells anonymous callers the status only.

The peers are the real Dovecot and aiosmtpd on loopback: refused with the guard on, and
working with it off.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from adapters.email.config import parse_config
from adapters.email.smtp_send import send_mail
from adapters.outbound_guard import PrivateAddress
from tests.conftest import Running
from tests.email.conftest import Mailbox, SmtpPeer, create_email_inbox, email_config
from tests.support.api import eventually
from tests.support.ports import free_port


def _failed(result: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["detail"] for c in result["checks"] if not c["ok"]}


async def test_probe_refuses_loopback_hosts_when_guarded(
    guarded: Running, guarded_admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(guarded_admin, email_config(mailbox, smtp_peer))
    result = (await guarded_admin.post(f"/api/admin/inboxes/{inbox['id']}/test")).json()
    assert not result["ok"]
    failed = _failed(result)
    assert set(failed) == {"imap.address", "smtp.address"}, result
    assert "private address" in failed["imap.address"]
    names = [c["name"] for c in result["checks"]]
    assert "imap.tcp" not in names and "smtp.tcp" not in names  # never connected


async def test_probe_works_when_private_hosts_are_allowed(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
    result = (await admin.post(f"/api/admin/inboxes/{inbox['id']}/test")).json()
    assert result["ok"], result


async def test_watcher_refuses_a_loopback_imap_host_when_guarded(
    guarded: Running, guarded_admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(guarded_admin, email_config(mailbox, smtp_peer))

    async def watcher_error() -> str | None:
        body = (await guarded_admin.get("/readyz")).json()
        state = body["checks"].get("watchers", {}).get(str(inbox["id"]), {})
        return state.get("error") if not state.get("connected") else None

    error = await eventually(watcher_error, timeout=60)
    assert "private address" in error


async def test_sender_refuses_a_loopback_smtp_host_unless_allowed(
    mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    config = parse_config(email_config(mailbox, smtp_peer))
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = mailbox.address, "c@example.org", "Hi"
    mail.set_content("Hello")
    with pytest.raises(PrivateAddress):
        await send_mail(config, mail, mailbox.address, ["c@example.org"])
    assert smtp_peer.recorder.attempts == []
    await send_mail(config, mail, mailbox.address, ["c@example.org"], allow_private=True)
    assert len(smtp_peer.recorder.delivered) == 1


async def test_readyz_details_are_for_admins_only(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    dead_port = free_port()  # nothing listens there
    config = email_config(mailbox, smtp_peer, imap_port=dead_port)
    inbox = await create_email_inbox(admin, config)

    async def admin_sees_error() -> str | None:
        body = (await admin.get("/readyz")).json()
        return body["checks"].get("watchers", {}).get(str(inbox["id"]), {}).get("error")

    assert str(dead_port) in await eventually(admin_sees_error, timeout=60)
    anonymous = await server.client().get("/readyz")
    assert anonymous.json() == {"ok": anonymous.status_code == 200}
    assert str(dead_port) not in anonymous.text
