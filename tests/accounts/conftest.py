"""Fixtures for the account tests: sockets closed after each test, agents with passwords."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import Running, _set_admin_password, make_settings, start_server
from tests.realtime.wsclient import AgentSocket
from tests.support.api import create_agent
from tests.support.ports import free_port

PASSWORD = "agent-password-1"


@pytest.fixture(autouse=True)
async def _close_sockets() -> AsyncIterator[None]:
    yield
    await AgentSocket.close_all()


async def agent_login(
    server: Running, admin: httpx.AsyncClient, email: str, **kwargs: Any
) -> tuple[dict[str, Any], str]:
    """An agent created by the admin, logged in with its password: (agent, session token)."""
    user = await create_agent(admin, email, **kwargs)
    token = await login_token(server, email, PASSWORD)
    return user, token


async def login_token(server: Running, email: str, password: str, code: str | None = None) -> str:
    body: dict[str, Any] = {"email": email, "password": password}
    if code:
        body["code"] = code
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post("/api/auth/login", json=body)
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


@dataclass
class Outgoing:
    """A real SMTP server (aiosmtpd) that records what it is handed."""

    port: int
    mails: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = BytesParser(policy=policy.default).parsebytes(envelope.original_content or b"")
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        return "250 OK queued"


@pytest.fixture
def smtp() -> Iterator[Outgoing]:
    outgoing = Outgoing(free_port())
    controller = Controller(outgoing, hostname="127.0.0.1", port=outgoing.port)
    controller.start()
    try:
        yield outgoing
    finally:
        controller.stop()


@pytest.fixture
async def mail_server(tmp_path: Path, database_url: str, smtp: Outgoing) -> AsyncIterator[Running]:
    """A server that sends account mail through ``smtp`` (SWITCHBOARD_MAIL_URL)."""
    settings = make_settings(
        tmp_path,
        database_url,
        mail_url=f"smtp+plain://127.0.0.1:{smtp.port}",
        mail_from="team@example.test",
    )
    running = await start_server(settings)
    await _set_admin_password(running)
    try:
        yield running
    finally:
        await running.stop()


def link_in(mail: EmailMessage) -> str:
    body = mail.get_content()
    found = re.search(r"#/(?:invite|reset)/(\S+)", body)
    assert found, body
    return found.group(1)
