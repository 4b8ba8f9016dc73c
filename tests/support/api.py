"""Small helpers that drive the REST API the way an admin or an integration would."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

INBOUND_TOKEN = "inbound-token-0123456789"


async def create_agent(
    admin: httpx.AsyncClient,
    email: str,
    *,
    role: str = "agent",
    name: str | None = None,
    is_bot: bool = False,
    password: str = "agent-password-1",
) -> dict[str, Any]:
    response = await admin.post(
        "/api/admin/agents",
        json={
            "email": email,
            "name": name or email.split("@")[0].title(),
            "role": role,
            "password": password,
            "is_bot": is_bot,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def create_api_inbox(
    admin: httpx.AsyncClient,
    *,
    name: str = "API",
    members: list[int] | None = None,
    webhook_url: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    config: dict[str, Any] = {"inbound_token": INBOUND_TOKEN, "webhook_secret": "hook-secret"}
    if webhook_url:
        config["webhook_url"] = webhook_url
    response = await admin.post(
        "/api/admin/inboxes",
        json={"name": name, "kind": "api", "config": config, "member_ids": members or [], **extra},
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def post_inbound(
    client: httpx.AsyncClient,
    inbox: dict[str, Any],
    *,
    text: str = "Hello",
    external_id: str | None = None,
    contact: str = "cust-1",
    sent_at: str | None = None,
    token: str = INBOUND_TOKEN,
    **extra: Any,
) -> httpx.Response:
    body: dict[str, Any] = {
        "external_id": external_id or str(uuid.uuid4()),
        "text": text,
        "contact": {"external_id": contact, "name": f"Customer {contact}"},
        **extra,
    }
    if sent_at:
        body["sent_at"] = sent_at
    return await client.post(
        f"/api/channels/api/{inbox['public_key']}/messages",
        json=body,
        headers={"authorization": f"Bearer {token}"},
    )


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 10.0, interval: float = 0.05
) -> Any:
    """Poll ``check`` until it returns a truthy value; fail with its last value."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s; last value: {last!r}")
