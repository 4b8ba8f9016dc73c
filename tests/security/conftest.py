"""Fixtures for the security regression tests (issue 11): the realtime team and the real
mail peers (Dovecot, aiosmtpd), reused from their suites, and a server with the
private-address guard on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Running, make_settings, start_server
from tests.conftest import _set_admin_password as set_admin_password
from tests.email.conftest import dovecot, mailbox, smtp_peer
from tests.realtime.conftest import _close_sockets, team
from tests.social.conftest import graph, telegram_api

__all__ = [
    "_close_sockets",
    "dovecot",
    "graph",
    "mailbox",
    "smtp_peer",
    "team",
    "telegram_api",
]


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[Running]:
    """A server with the private-address guard on (the production default)."""
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'guarded.db'}", allow_private_urls=False
    )
    running = await start_server(settings)
    await set_admin_password(running)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def guarded_admin(guarded: Running) -> httpx.AsyncClient:
    return await guarded.login(ADMIN_EMAIL, ADMIN_PASSWORD)
