"""Real peers for the email channel: one Dovecot per session (a fresh IMAP account per
test), and an aiosmtpd SMTP server per test that records what we deliver and can be told
to answer 4xx, 5xx, or drop the connection after DATA.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.ports import free_port
from tests.support.services import DovecotServer

PASSWORD = "mail-password-1"
_users = itertools.count()
PREPARED_USERS = 80  # added before start: adding to a running Dovecot costs ~1 s each


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    server = DovecotServer()
    for i in range(PREPARED_USERS):
        server.add_user(f"support{i}@example.test", PASSWORD)
    server.start()
    try:
        yield server
    finally:
        server.close()


@dataclass
class Mailbox:
    dovecot: DovecotServer
    address: str

    async def append(self, raw: bytes) -> int | None:
        return await asyncio.to_thread(self.dovecot.append, self.address, PASSWORD, raw)

    def drop_into_maildir(self, name: str, raw: bytes) -> None:
        """Deliver the way a local MTA does, also while Dovecot is down."""
        new = self.dovecot.mail_dir / self.address / "Maildir" / "new"
        path = new / f"{name}.eml"
        path.write_bytes(raw)
        stat = new.stat()
        os.chown(path, stat.st_uid, stat.st_gid)


@pytest.fixture
def mailbox(dovecot: DovecotServer) -> Mailbox:
    n = next(_users)
    assert n < PREPARED_USERS, "raise PREPARED_USERS in tests/email/conftest.py"
    return Mailbox(dovecot, f"support{n}@example.test")


@dataclass
class Recorder:
    """aiosmtpd handler: records every DATA it sees; ``mode`` decides the answer."""

    mode: str = "ok"  # ok | 4xx | 5xx | drop
    modes: list[str] = field(default_factory=list)  # consumed first, one per DATA
    attempts: list[EmailMessage] = field(default_factory=list)
    delivered: list[EmailMessage] = field(default_factory=list)
    rcpt: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        mail = BytesParser(policy=policy.default).parsebytes(content)
        assert isinstance(mail, EmailMessage)
        self.attempts.append(mail)
        mode = self.modes.pop(0) if self.modes else self.mode
        if mode == "4xx":
            return "451 4.3.0 Mailbox temporarily unavailable"
        if mode == "5xx":
            return "550 5.1.1 User unknown: no such mailbox here"
        if mode == "drop":
            transport: Any = server.transport
            transport.abort()  # a connection lost after DATA, before any answer
            return "250 OK"
        self.delivered.append(mail)
        self.rcpt.extend(envelope.rcpt_tos)
        return "250 OK queued"


@dataclass
class SmtpPeer:
    port: int
    recorder: Recorder


@pytest.fixture
def smtp_peer() -> Iterator[SmtpPeer]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpPeer(port, recorder)
    finally:
        controller.stop()


def email_config(mailbox: Mailbox, smtp: SmtpPeer, **extra: Any) -> dict[str, Any]:
    return {
        "address": mailbox.address,
        "imap_host": mailbox.dovecot.host,
        "imap_port": mailbox.dovecot.port,
        "imap_security": "none",
        "imap_password": PASSWORD,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_security": "none",
        **extra,
    }


async def create_email_inbox(
    admin: httpx.AsyncClient, config: dict[str, Any], name: str = "Support"
) -> dict[str, Any]:
    response = await admin.post(
        "/api/admin/inboxes", json={"name": name, "kind": "email", "config": config}
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def mail(
    message_id: str | None,
    *,
    sender: str = "Carol Customer <carol@example.org>",
    to: str = "support@example.test",
    subject: str = "Printer on fire",
    body: str = "Help please",
    headers: dict[str, str] | None = None,
) -> bytes:
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        "Date: Mon, 02 Mar 2026 10:00:00 +0000",
    ]
    if message_id:
        lines.append(f"Message-ID: <{message_id}>")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


CORPUS = Path(__file__).parent / "corpus"


@dataclass
class TlsCert:
    cert: Path
    key: Path
    fingerprint: str  # AB:CD:… (SHA-256 of the DER certificate)


def make_cert(directory: Path, name: str = "localhost") -> TlsCert:
    """A self-signed certificate, as a self-hosted mail server would have."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    digest = hashlib.sha256(der).hexdigest().upper()
    key.chmod(0o644)  # Dovecot's config reader runs unprivileged when we are not root
    return TlsCert(cert, key, ":".join(digest[i : i + 2] for i in range(0, 64, 2)))


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> TlsCert:
    return make_cert(tmp_path_factory.mktemp("tls"))


class TlsDovecot(DovecotServer):
    """Dovecot offering STARTTLS on its IMAP port (ssl = yes, not required)."""

    def __init__(self, cert: TlsCert) -> None:
        self.cert = cert
        super().__init__()

    def _before_start(self) -> None:
        super()._before_start()
        text = self.config_path.read_text().replace(
            "ssl = no\n",
            f"ssl = yes\nssl_cert = <{self.cert.cert}\nssl_key = <{self.cert.key}\n",
        )
        # ssl = yes also opens the implicit-TLS listener on the fixed port 993: switched
        # off, so this Dovecot never collides with another on the machine (STARTTLS only)
        text = text.replace(
            "  inet_listener imap {\n",
            "  inet_listener imaps {\n    port = 0\n  }\n  inet_listener imap {\n",
            1,
        )
        self.config_path.write_text(text)


TLS_USERS = 6


@pytest.fixture(scope="session")
def tls_dovecot(tls_cert: TlsCert) -> Iterator[TlsDovecot]:
    server = TlsDovecot(tls_cert)
    for i in range(TLS_USERS):
        server.add_user(f"secure{i}@example.test", PASSWORD)
    server.start()
    try:
        yield server
    finally:
        server.close()


_tls_users = itertools.count()


@pytest.fixture
def tls_mailbox(tls_dovecot: TlsDovecot) -> Mailbox:
    n = next(_tls_users)
    assert n < TLS_USERS, "raise TLS_USERS in tests/email/conftest.py"
    return Mailbox(tls_dovecot, f"secure{n}@example.test")


@pytest.fixture
def tls_smtp_peer(tls_cert: TlsCert) -> Iterator[SmtpPeer]:
    """aiosmtpd that requires STARTTLS before MAIL FROM: a delivery proves TLS was used."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls_cert.cert, tls_cert.key)
    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    try:
        yield SmtpPeer(port, recorder)
    finally:
        controller.stop()
