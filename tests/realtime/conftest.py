"""Fixtures for the realtime tests: agents with tokens, inboxes they belong to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from server.actions import admin as admin_actions
from server.api import auth
from tests.conftest import Running
from tests.realtime.wsclient import AgentSocket
from tests.support.api import create_api_inbox


@pytest.fixture(autouse=True)
async def _close_sockets() -> AsyncIterator[None]:
    yield
    await AgentSocket.close_all()


@dataclass
class Agent:
    user: dict[str, Any]
    token: str
    http: httpx.AsyncClient


async def login_agent(server: Running, admin: httpx.AsyncClient, email: str) -> Agent:
    """An agent with a session token, issued the way login issues it.

    No password: Argon2 hashing would make every test's setup slow, and login itself is
    covered by the core API tests.
    """
    del admin  # the admin fixture guarantees the server is set up; the action does the rest
    user = await admin_actions.create_user(
        server.ctx, email=email, name=email.split("@")[0], role="agent", password=None
    )
    token = await auth.issue_token(server.ctx, user["id"], "session", expires=timedelta(days=1))
    return Agent(user, token, server.client(token))


@dataclass
class Team:
    alice: Agent
    bob: Agent
    carol: Agent  # not a member of inbox ``a``
    a: dict[str, Any]  # alice + bob
    b: dict[str, Any]  # carol only


@pytest.fixture
async def team(server: Running, admin: httpx.AsyncClient) -> Team:
    alice = await login_agent(server, admin, "alice@example.test")
    bob = await login_agent(server, admin, "bob@example.test")
    carol = await login_agent(server, admin, "carol@example.test")
    a = await create_api_inbox(admin, name="A", members=[alice.user["id"], bob.user["id"]])
    b = await create_api_inbox(admin, name="B", members=[carol.user["id"]])
    return Team(alice, bob, carol, a, b)
