"""A node killed mid-delivery and restarted under the same SWITCHBOARD_NODE_ID (as the
compose file sets it) takes its dead predecessor's outbox claims over at once.

Claims belong to a process incarnation (node id + boot id), not to the configured name:
before, the restarted node's own heartbeat kept the dead claims "alive" for the whole
claim lease (120 s).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from tests.integration.test_crash import Node, _admin
from tests.integration.test_crash import node as node
from tests.support.api import create_api_inbox, eventually
from tests.support.receiver import Received, Receiver

CLAIM_SECONDS = 120  # server/actions/delivery.py: what the restarted node used to wait


class HangingReceiver(Receiver):
    """The first delivery hangs (the node dies while it waits); later ones succeed."""

    release: asyncio.Event

    async def _handle(self, request: Request) -> Response:
        self.requests.append(Received(request.url.path, dict(request.headers), b""))
        if len(self.requests) == 1:
            await self.release.wait()
        return Response(b"ok")


async def test_a_restarted_node_takes_over_its_predecessors_claims_at_once(
    node: Node,
    tmp_path: Path,
) -> None:
    node.env["SWITCHBOARD_NODE_ID"] = "fixed-node"
    await node.start()
    receiver = HangingReceiver()
    receiver.release = asyncio.Event()
    async with receiver:
        try:
            admin = await _admin(node)
            inbox = await create_api_inbox(admin, webhook_url=receiver.url)
            cid = await _conversation(node, inbox)
            reply = await admin.post(
                f"/api/conversations/{cid}/messages",
                json={"text": "on it", "client_id": "reply-r1"},
            )
            assert reply.status_code == 201, reply.text
            await eventually(_received(receiver, 1))  # claimed, and hanging in the send
            await admin.aclose()
            node.kill9()

            await node.start()  # same SWITCHBOARD_NODE_ID
            started = asyncio.get_running_loop().time()
            admin = await _admin(node)

            async def sent() -> bool:
                items = (await admin.get(f"/api/conversations/{cid}/messages")).json()["items"]
                return any(m["client_id"] == "reply-r1" and m["status"] == "sent" for m in items)

            # Well below the old 120 s lease: the dead incarnation's claim is void at once.
            await eventually(sent, timeout=CLAIM_SECONDS / 3)
            took = asyncio.get_running_loop().time() - started
            await admin.aclose()
        finally:
            receiver.release.set()  # the hung handler ends, so the receiver can stop
    ids = {r.headers["x-switchboard-delivery"] for r in receiver.requests}
    assert ids == {str(reply.json()["message"]["id"])}  # the retry kept its delivery id
    print(f"restarted node delivered after {took:.1f} s")
    assert len(receiver.requests) == 2, took


async def _conversation(node: Node, inbox: dict[str, Any]) -> int:
    from tests.support.api import post_inbound

    async with httpx.AsyncClient(base_url=node.base, timeout=30) as intake:
        response = await post_inbound(intake, inbox, external_id="x1")
        assert response.status_code == 201
        return int(response.json()["conversation_id"])


def _received(receiver: Receiver, n: int) -> Any:
    async def check() -> bool:
        await asyncio.sleep(0)
        return len(receiver.requests) >= n

    return check
