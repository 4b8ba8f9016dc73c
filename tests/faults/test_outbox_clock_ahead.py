"""A node whose wall clock jumped (chaos clock_jump) neither holds deliveries back nor
sends them twice.

A retry scheduled by a node whose wall clock was ahead (it jumped forward, then back) is
not held back by the jump: the row was written "in the future", so its schedule comes
from a wrong clock and the row is due now (the chaos run found a reply 4xx'd on the jumped
node waiting an hour). A row written now with a far retry time (a long backoff or a
provider's Retry-After) keeps its schedule. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from server import channels
from server.actions import delivery
from server.storage import schema as t
from server.storage import shared_clock
from server.storage.schema import utcnow
from tests.conftest import Running
from tests.support.api import create_api_inbox, eventually, post_inbound
from tests.support.receiver import Receiver

JUMP = timedelta(hours=1)


async def test_a_retry_written_by_a_clock_an_hour_ahead_is_due_now(
    server: Running, admin: httpx.AsyncClient
) -> None:
    ctx = server.ctx
    async with Receiver() as receiver:
        ids = await _delivered(server, admin, receiver, "clock-ahead-1", "clock-ahead-2")
        delivered = len(receiver.requests)

        now = utcnow()
        o = t.outbox.c
        async with ctx.db.write() as conn:
            # reply 1: a 4xx on a node an hour ahead: retry "in 2 s" on its clock
            await conn.execute(
                sa.update(t.outbox)
                .where(o.message_id == ids[0])
                .values(
                    state="queued",
                    attempts=1,
                    claimed_until=None,
                    updated_at=now + JUMP,
                    next_attempt_at=now + JUMP + timedelta(seconds=2),
                )
            )
            # reply 2: a true clock asked to wait an hour (a Retry-After): it waits
            await conn.execute(
                sa.update(t.outbox)
                .where(o.message_id == ids[1])
                .values(
                    state="queued",
                    attempts=1,
                    claimed_until=None,
                    updated_at=now,
                    next_attempt_at=now + JUMP,
                )
            )
        ctx.outbox_wakeup.set()

        async def first_sent_again() -> bool:
            return len(receiver.requests) > delivered and await _states(ctx, ids[:1], {"done"})

        await eventually(first_sent_again, timeout=20)
        assert await _states(ctx, ids[1:], {"queued"})


async def _delivered(
    server: Running, admin: httpx.AsyncClient, receiver: Receiver, *client_ids: str
) -> list[int]:
    """Replies in one API-channel conversation, each delivered to ``receiver`` (done)."""
    inbox = await create_api_inbox(admin, webhook_url=receiver.url)
    await post_inbound(server.client(), inbox, text="hi", contact="c1")
    conv = (await admin.get("/api/conversations")).json()["items"][0]
    ids = []
    for n, client_id in enumerate(client_ids, 1):
        sent = await admin.post(
            f"/api/conversations/{conv['id']}/messages",
            json={"text": f"reply {n}", "client_id": client_id},
        )
        assert sent.status_code == 201, sent.text
        ids.append(sent.json()["message"]["id"])
    await eventually(lambda: _states(server.ctx, ids, {"done"}))
    return ids


async def _states(ctx: object, message_ids: list[int], wanted: set[str]) -> bool:
    o = t.outbox.c
    async with ctx.db.read() as conn:  # type: ignore[attr-defined]
        rows = (await conn.execute(sa.select(o.state).where(o.message_id.in_(message_ids)))).all()
    return len(rows) == len(message_ids) and all(r.state in wanted for r in rows)


async def test_a_node_whose_clock_is_an_hour_ahead_leaves_a_live_nodes_claim_alone(
    server: Running, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its own clock would call the other node's heartbeat an hour old and its claim
    lapsed (a second send of a delivery in flight, seen as re-sent webhooks and mails in
    the chaos run's clock_jump). On PostgreSQL claims are decided by the database's
    clock; on SQLite there is one node, whose clock is the only one."""
    ctx = server.ctx
    async with Receiver() as receiver:
        (message_id,) = await _delivered(server, admin, receiver, "clock-ahead-claim")

    now = utcnow()
    other = "other-node/boot-1"
    async with ctx.db.write() as conn:
        await conn.execute(sa.insert(t.nodes).values(node_id=other, seen_at=now))
        await conn.execute(  # the other, live node is sending it right now
            sa.update(t.outbox)
            .where(t.outbox.c.message_id == message_id)
            .values(
                state="queued",
                next_attempt_at=now - timedelta(seconds=5),
                updated_at=now,
                claimed_by=other,
                claimed_until=now + timedelta(seconds=60),
            )
        )
    _jump(monkeypatch)
    async with ctx.db.read() as conn:
        shared = await shared_clock.shared_now(conn)
    if server.settings.database_url.startswith("postgresql"):
        assert abs(shared - now) < timedelta(minutes=1)  # the database's clock
        assert await delivery.claim(ctx) == []  # not ours to take
    else:
        assert shared - now > JUMP - timedelta(minutes=1)  # one node: its own clock


async def test_a_node_whose_clock_is_an_hour_ahead_leaves_a_live_lease_alone(
    server: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The IMAP watcher's lease (one watcher per mailbox) is decided by the same clock as
    claims: a node an hour ahead does not take a live lease, and one it holds does not
    outlive its holder by the jump. On SQLite the one node's clock is the only one."""
    leases = channels.DbLease(server.ctx)
    assert await leases.acquire("imap:test", 30)  # this node holds it for 30 s
    async with server.ctx.db.write() as conn:  # another node's live lease
        await conn.execute(
            sa.update(t.leases)
            .where(t.leases.c.name == "imap:test")
            .values(holder="other-node", expires_at=utcnow() + timedelta(seconds=30))
        )
    _jump(monkeypatch)
    taken = await leases.acquire("imap:test", 30)
    async with server.ctx.db.read() as conn:
        row = (await conn.execute(sa.select(t.leases).where(t.leases.c.name == "imap:test"))).one()
    if server.ctx.db.is_sqlite:
        assert taken  # one node: its clock is the clock
    else:
        assert not taken and row.holder == "other-node"
        assert row.expires_at < utcnow() + timedelta(seconds=31)


async def test_a_4xx_answered_to_a_node_an_hour_ahead_keeps_its_backoff(
    server: Running, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry a jumped node writes after a 4xx is scheduled on the shared clock.

    Written on its own clock, the row was an hour "ahead" for the live nodes, which took
    it as due at once (the rule above), got the 4xx again and handed it back: the chaos
    run's clock_jump saw one reply spend nine of its ten attempts in two seconds, its next
    retry then 8.5 minutes away (a tenth would have failed it for good). On PostgreSQL the
    schedule is now the database's now + backoff; on SQLite the one node's clock is the
    clock, so its retry is due at once after the jump back (the rule above)."""
    ctx = server.ctx
    async with Receiver() as receiver:
        (message_id,) = await _delivered(server, admin, receiver, "clock-ahead-4xx")
    o = t.outbox.c
    async with ctx.db.write() as conn:  # in flight on the jumped node, first attempt
        outbox_id = (
            await conn.execute(
                sa.update(t.outbox)
                .where(o.message_id == message_id)
                .values(state="queued", attempts=1, claimed_until=utcnow() + timedelta(minutes=2))
                .returning(o.id)
            )
        ).scalar_one()
    _jump(monkeypatch)
    await delivery.mark_retry(ctx, outbox_id, "451 try again later", max_attempts=10)
    monkeypatch.undo()
    async with ctx.db.read() as conn:
        row = (await conn.execute(sa.select(t.outbox).where(o.id == outbox_id))).one()
        now = await shared_clock.shared_now(conn)
    if ctx.db.is_sqlite:
        assert row.next_attempt_at > now + JUMP - timedelta(minutes=1)  # its own clock
    else:
        assert row.updated_at <= now
        assert now < row.next_attempt_at < now + timedelta(seconds=delivery.backoff(1) * 2)


def _jump(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's wall clock, as every module reads it, an hour ahead."""
    ahead = lambda: datetime.now(UTC) + JUMP  # noqa: E731
    for module in (delivery, channels, shared_clock):
        monkeypatch.setattr(module, "utcnow", ahead)


async def test_a_node_an_hour_ahead_sleeps_until_its_next_delivery_is_due(
    server: Running, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claims are decided by the shared clock; the outbox worker's sleep until the next due
    row was reckoned on the node's own: an hour ahead, every row looked overdue while no
    claim found one, and the worker spun through claim rounds without a pause for as long
    as its clock was wrong. On SQLite the one node's clock is the clock: the row is due
    for it, and sent."""
    from server.workers import outbox

    ctx = server.ctx
    async with Receiver() as receiver:
        (message_id,) = await _delivered(server, admin, receiver, "clock-ahead-sleep")
        async with ctx.db.write() as conn:  # a retry due in 30 s on the shared clock
            now = await shared_clock.shared_now(conn)
            await conn.execute(
                sa.update(t.outbox)
                .where(t.outbox.c.message_id == message_id)
                .values(
                    state="queued",
                    next_attempt_at=now + timedelta(seconds=30),
                    updated_at=now,
                    claimed_until=None,
                )
            )
        rounds = 0
        claim = delivery.claim

        async def counted(*args: object, **kwargs: object) -> list[object]:
            nonlocal rounds
            rounds += 1
            return await claim(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(delivery, "claim", counted)
        _jump(monkeypatch)
        monkeypatch.setattr(outbox, "utcnow", lambda: datetime.now(UTC) + JUMP, raising=False)
        ctx.outbox_wakeup.set()
        await asyncio.sleep(2.0)
        monkeypatch.undo()
    polls = 2.0 / server.settings.outbox_poll_interval  # the poll interval caps each sleep
    assert rounds <= 1.5 * polls, f"{rounds} claim rounds in 2 s (~{polls:.0f} polls): it spun"
