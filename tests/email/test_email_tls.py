"""STARTTLS for IMAP (Dovecot on its IMAP port with ``ssl = yes``) and SMTP (aiosmtpd that
refuses MAIL before STARTTLS), against a self-signed certificate: refused by default, with
the certificate's fingerprint shown to the admin; trusted once that fingerprint is pinned
per inbox; a different pin is refused (issue 14)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Running
from tests.email.conftest import (
    Mailbox,
    SmtpPeer,
    TlsCert,
    create_email_inbox,
    email_config,
    mail,
)
from tests.email.test_email_channel import first_conversation, health, messages
from tests.support.api import eventually


def starttls_config(mailbox: Mailbox, smtp: SmtpPeer, **extra: Any) -> dict[str, Any]:
    return email_config(mailbox, smtp, imap_security="starttls", smtp_security="starttls", **extra)


async def _checks(admin: httpx.AsyncClient, inbox_id: int) -> dict[str, dict[str, Any]]:
    result = (await admin.post(f"/api/admin/inboxes/{inbox_id}/test")).json()
    return {c["name"]: c for c in result["checks"]}


async def test_a_self_signed_certificate_is_refused_by_default_and_its_fingerprint_shown(
    server: Running,
    admin: httpx.AsyncClient,
    tls_mailbox: Mailbox,
    tls_smtp_peer: SmtpPeer,
    tls_cert: TlsCert,
) -> None:
    inbox = await create_email_inbox(admin, starttls_config(tls_mailbox, tls_smtp_peer))
    checks = await _checks(admin, inbox["id"])
    for name in ("imap.tls", "smtp.tls"):
        assert not checks[name]["ok"], checks
        assert "not trusted" in checks[name]["detail"]
        assert tls_cert.fingerprint in checks[name]["detail"]
    assert "imap.auth" not in checks and "smtp.auth" not in checks  # no password was sent

    async def refused() -> str | None:
        watch = await health(admin, inbox["id"]) or {}
        error = watch.get("error") or ""
        return error if "certificate" in error.lower() else None

    await eventually(refused, timeout=20)


async def test_a_pinned_certificate_is_trusted_for_imap_and_smtp_starttls(
    server: Running,
    admin: httpx.AsyncClient,
    tls_mailbox: Mailbox,
    tls_smtp_peer: SmtpPeer,
    tls_cert: TlsCert,
) -> None:
    config = starttls_config(
        tls_mailbox, tls_smtp_peer, tls_trusted_fingerprint=tls_cert.fingerprint
    )
    inbox = await create_email_inbox(admin, config)
    checks = await _checks(admin, inbox["id"])
    assert all(c["ok"] for c in checks.values()), checks
    assert checks["imap.tls"]["detail"] == "STARTTLS handshake completed"

    await tls_mailbox.append(mail("tls-in@example.org", to=tls_mailbox.address))
    conv = await first_conversation(admin, inbox["id"])
    await admin.post(f"/api/conversations/{conv['id']}/messages", json={"text": "Over TLS"})
    recorder = tls_smtp_peer.recorder
    await eventually(lambda: _true(len(recorder.delivered) == 1), timeout=20)

    async def sent() -> bool:
        return bool((await messages(admin, conv["id"]))[-1]["status"] == "sent")

    await eventually(sent)


async def test_another_certificate_than_the_pinned_one_is_refused(
    server: Running,
    admin: httpx.AsyncClient,
    tls_mailbox: Mailbox,
    tls_smtp_peer: SmtpPeer,
    tls_cert: TlsCert,
) -> None:
    wrong = "00:" * 31 + "00"
    inbox = await create_email_inbox(
        admin, starttls_config(tls_mailbox, tls_smtp_peer, tls_trusted_fingerprint=wrong)
    )
    checks = await _checks(admin, inbox["id"])
    for name in ("imap.tls", "smtp.tls"):
        assert not checks[name]["ok"], checks
        assert "is not the trusted certificate" in checks[name]["detail"]
        assert tls_cert.fingerprint in checks[name]["detail"]


async def _true(value: bool) -> bool:
    return value
