"""Fixtures for the account tests: sockets closed after each test, agents with passwords."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Running
from tests.realtime.wsclient import AgentSocket
from tests.support.api import create_agent

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
