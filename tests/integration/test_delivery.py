"""Delivery receipts: monotonic statuses, and receipts that arrive before the send answer."""

from __future__ import annotations

from pathlib import Path

import httpx

from adapters.base import StatusUpdate
from server.actions.delivery import apply_status
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Running,
    _set_admin_password,
    make_settings,
    start_server,
)
from tests.support.api import create_api_inbox, eventually, post_inbound
from tests.support.receiver import Receiver


async def _message(admin: httpx.AsyncClient, cid: int, mid: int) -> dict[str, object]:
    items = (await admin.get(f"/api/conversations/{cid}/messages")).json()["items"]
    return next(m for m in items if m["id"] == mid)


async def test_receipt_before_send_answer_is_held_then_applied(
    server: Running, admin: httpx.AsyncClient
) -> None:
    async with Receiver() as receiver:
        receiver.script.extend([503])  # the first attempt fails: the send is not done yet
        inbox = await create_api_inbox(admin, webhook_url=receiver.url)
        cid = (await post_inbound(server.client(), inbox)).json()["conversation_id"]
        sent = (
            await admin.post(f"/api/conversations/{cid}/messages", json={"text": "hello"})
        ).json()["message"]
        provider_id = f"api-{sent['id']}"  # the API channel's deterministic provider id
        held = await apply_status(server.ctx, inbox["id"], StatusUpdate(provider_id, "read"))
        assert held is False
        assert (await _message(admin, cid, sent["id"]))["status"] == "pending"

        async def read() -> bool:
            return (await _message(admin, cid, sent["id"]))["status"] == "read"

        await eventually(read, timeout=20)
    late_sent = await apply_status(server.ctx, inbox["id"], StatusUpdate(provider_id, "sent"))
    assert late_sent is True
    assert (await _message(admin, cid, sent["id"]))["status"] == "read"  # never moves back
    delivered = await apply_status(server.ctx, inbox["id"], StatusUpdate(provider_id, "delivered"))
    assert delivered is True
    assert (await _message(admin, cid, sent["id"]))["status"] == "read"


async def test_webhook_to_a_private_address_is_refused_unless_allowed(
    tmp_path: Path, database_url: str
) -> None:
    running = await start_server(make_settings(tmp_path, database_url, allow_private_urls=False))
    try:
        await _set_admin_password(running)
        admin = await running.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        async with Receiver() as receiver:
            inbox = await create_api_inbox(admin, webhook_url=receiver.url)
            cid = (await post_inbound(running.client(), inbox)).json()["conversation_id"]
            sent = (
                await admin.post(f"/api/conversations/{cid}/messages", json={"text": "hello"})
            ).json()["message"]

            async def failed() -> dict[str, object] | None:
                message = await _message(admin, cid, sent["id"])
                return message if message["status"] == "failed" else None

            message = await eventually(failed, timeout=20)
        assert "private address" in str(message["error"])
        assert receiver.requests == []  # nothing reached the internal address
    finally:
        await running.stop()
