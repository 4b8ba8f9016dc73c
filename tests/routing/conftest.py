"""Fixtures for routing and automation: agents with tokens, an inbox, helpers."""

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
from tests.support.api import create_api_inbox, eventually, post_inbound


@pytest.fixture(autouse=True)
async def _close_sockets() -> AsyncIterator[None]:
    yield
    await AgentSocket.close_all()


@dataclass
class Agent:
    user: dict[str, Any]
    token: str
    http: httpx.AsyncClient

    @property
    def id(self) -> int:
        return int(self.user["id"])


async def make_agent(server: Running, name: str) -> Agent:
    """An agent with a session token (no password: Argon2 would slow every setup)."""
    user = await admin_actions.create_user(
        server.ctx, email=f"{name}@example.test", name=name.title(), role="agent", password=None
    )
    token = await auth.issue_token(server.ctx, user["id"], "session", expires=timedelta(days=1))
    return Agent(user, token, server.client(token))


@dataclass
class Desk:
    server: Running
    admin: httpx.AsyncClient
    ana: Agent
    ben: Agent
    cy: Agent
    inbox: dict[str, Any]

    async def online(self, *agents: Agent) -> list[AgentSocket]:
        # max_queue None: nobody reads these sockets, and a full queue would stall the close
        return [await AgentSocket.open(self.server.ws_url, a.token, max_queue=None) for a in agents]

    async def routing(self, policy: str) -> dict[str, Any]:
        r = await self.admin.put(
            f"/api/admin/inboxes/{self.inbox['id']}/routing", json={"policy": policy}
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def capacity(self, agent: Agent, max_open: int | None, **limits: int) -> None:
        r = await self.admin.put(
            f"/api/admin/agents/{agent.id}/capacity",
            json={"max_open": max_open, "inbox_limits": limits},
        )
        assert r.status_code == 200, r.text

    async def chat(self, contact: str, text: str = "Hello") -> int:
        r = await post_inbound(self.admin, self.inbox, contact=contact, text=text)
        assert r.status_code in (200, 201), r.text
        return int(r.json()["conversation_id"])

    async def conversation(self, conversation_id: int) -> dict[str, Any]:
        r = await self.admin.get(f"/api/conversations/{conversation_id}")
        assert r.status_code == 200, r.text
        body = r.json()
        return body.get("conversation", body)  # type: ignore[no-any-return]

    async def assignee(self, conversation_id: int) -> int | None:
        return (await self.conversation(conversation_id))["assignee_id"]  # type: ignore[no-any-return]

    async def messages(self, conversation_id: int) -> list[dict[str, Any]]:
        r = await self.admin.get(f"/api/conversations/{conversation_id}/messages")
        assert r.status_code == 200, r.text
        body = r.json()
        return body["items"]  # type: ignore[no-any-return]

    async def status(self, conversation_id: int, status: str, who: Any = None) -> dict[str, Any]:
        client = who.http if who is not None else self.admin
        r = await client.post(
            f"/api/conversations/{conversation_id}/status", json={"status": status}
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


@pytest.fixture
async def desk(server: Running, admin: httpx.AsyncClient) -> Desk:
    ana = await make_agent(server, "ana")
    ben = await make_agent(server, "ben")
    cy = await make_agent(server, "cy")
    inbox = await create_api_inbox(admin, name="Support", members=[ana.id, ben.id, cy.id])
    return Desk(server, admin, ana, ben, cy, inbox)


__all__ = ["Agent", "Desk", "eventually", "make_agent"]
