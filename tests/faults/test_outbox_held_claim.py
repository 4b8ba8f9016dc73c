"""A delivery another live node is sending is not "due" for this node: the outbox worker
sleeps until that claim ends (capped by the poll interval) instead of spinning through
claim/next_due rounds for as long as the other node's send takes. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa

from server.actions import delivery
from server.storage import schema as t
from server.storage.schema import utcnow
from tests.conftest import Running
from tests.support.api import create_api_inbox, eventually, post_inbound
from tests.support.receiver import Receiver


async def test_a_delivery_held_by_another_node_is_not_due_until_its_claim_ends(
    server: Running, admin: httpx.AsyncClient
) -> None:
    ctx = server.ctx
    async with Receiver() as receiver:
        inbox = await create_api_inbox(admin, webhook_url=receiver.url)
        await post_inbound(server.client(), inbox, text="hi", contact="c1")
        conv = (await admin.get("/api/conversations")).json()["items"][0]
        sent = await admin.post(
            f"/api/conversations/{conv['id']}/messages",
            json={"text": "hello", "client_id": "held-claim-1"},
        )
        assert sent.status_code == 201, sent.text
        await eventually(lambda: _outbox_done(ctx))  # this node's worker is idle again

    now = utcnow()
    other = "other-node/boot-1"
    held_until = now + timedelta(seconds=60)
    async with ctx.db.write() as conn:
        await conn.execute(sa.insert(t.nodes).values(node_id=other, seen_at=now))
        # the delivery is due again (a retry) and the other, live node is sending it now
        await conn.execute(
            sa.update(t.outbox).values(
                state="queued",
                next_attempt_at=now - timedelta(seconds=5),
                claimed_by=other,
                claimed_until=held_until,
            )
        )
    assert await delivery.claim(ctx) == []  # not ours to take
    due = await delivery.next_due(ctx)
    assert due is not None and due >= held_until - timedelta(seconds=1), (due, now)

    # once the holder's claim has lapsed, the row is due at its own time again
    async with ctx.db.write() as conn:
        await conn.execute(sa.update(t.outbox).values(claimed_until=now - timedelta(seconds=1)))
    due = await delivery.next_due(ctx)
    assert due is not None and due <= now, (due, now)


async def _outbox_done(ctx: object) -> bool:
    async with ctx.db.read() as conn:  # type: ignore[attr-defined]
        states = (await conn.execute(sa.select(t.outbox.c.state))).scalars().all()
    return bool(states) and all(s == "done" for s in states)
