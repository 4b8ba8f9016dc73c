"""Auto-assignment: give waiting conversations to online members with room (docs/automation.md).

The decision is ``server.domain.assignment.plan``; this module loads its inputs and writes
its result, inside the caller's transaction.

Atomic across nodes: every assignment decision first takes one PostgreSQL advisory lock
(``pg_advisory_xact_lock``, released at commit). One lock for all inboxes, not one per
inbox, because capacity is global: an agent in two inboxes could otherwise be pushed over
their limit by two inboxes deciding at once. Loads are counted after the lock is held, and
PostgreSQL runs at READ COMMITTED, so each decision sees every assignment committed before
it. SQLite has one writer at a time already.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from server.actions._conv import add_activity, update_conversation
from server.actions._tx import Tx, transaction
from server.context import AppContext
from server.domain.assignment import Candidate, Policy, has_room, plan
from server.exceptions import InvalidInput, NotFound
from server.storage import schema as t
from server.storage.schema import utcnow

log = logging.getLogger(__name__)
LOCK_KEY = 0x5B0A_0015  # advisory lock id of assignment decisions (any constant works)
_LABEL = {Policy.ROUND_ROBIN: "round robin", Policy.LEAST_LOADED: "least loaded"}


# Inputs ------------------------------------------------------------------------------


async def lock(tx: Tx) -> None:
    if tx.conn.dialect.name == "postgresql":
        await tx.conn.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_KEY)))


async def policy_of(tx: Tx, inbox_id: int) -> tuple[Policy, int | None]:
    r = t.inbox_routing.c
    row = (
        await tx.conn.execute(sa.select(r.policy, r.last_user_id).where(r.inbox_id == inbox_id))
    ).first()
    if row is None:
        return Policy.OFF, None
    return Policy(row.policy), row.last_user_id


def presence_of(ctx: AppContext) -> Any:
    """The presence store the hub uses (set by ``server.actions.automation.start``)."""
    return ctx.extras.get("presence")


async def _online(ctx: AppContext, user_ids: Iterable[int]) -> set[int]:
    store = presence_of(ctx)
    if store is None:
        return set()
    return {u for u in user_ids if await store.user_status(u) == "online"}


async def candidates(tx: Tx, ctx: AppContext, inbox_id: int) -> list[Candidate]:
    im, u = t.inbox_members.c, t.users.c
    members = [
        int(r[0])
        for r in await tx.conn.execute(
            sa.select(im.user_id)
            .join(t.users, u.id == im.user_id)
            .where(im.inbox_id == inbox_id, u.is_active.is_(True), u.is_bot.is_(False))
        )
    ]
    if not members:
        return []
    online = await _online(ctx, members)
    total, here = await _loads(tx, members, inbox_id)
    limits = await _limits(tx, members)
    return [
        Candidate(
            user_id=m,
            online=m in online,
            open_total=total.get(m, 0),
            open_here=here.get(m, 0),
            capacity=limits.get(m, (None, {}))[0],
            inbox_capacity=limits.get(m, (None, {}))[1].get(str(inbox_id)),
        )
        for m in members
    ]


async def _loads(
    tx: Tx, members: list[int], inbox_id: int
) -> tuple[dict[int, int], dict[int, int]]:
    """Open (not resolved) conversations per member: in total and in this inbox."""
    c = t.conversations.c
    rows = await tx.conn.execute(
        sa.select(c.assignee_id, c.inbox_id, sa.func.count())
        .where(c.assignee_id.in_(members), c.status != "resolved")
        .group_by(c.assignee_id, c.inbox_id)
    )
    total: dict[int, int] = {}
    here: dict[int, int] = {}
    for user_id, inbox, n in rows:
        total[int(user_id)] = total.get(int(user_id), 0) + int(n)
        if inbox == inbox_id:
            here[int(user_id)] = int(n)
    return total, here


async def _limits(tx: Tx, members: list[int]) -> dict[int, tuple[int | None, dict[str, int]]]:
    a = t.agent_capacity.c
    rows = await tx.conn.execute(
        sa.select(a.user_id, a.max_open, a.inbox_limits).where(a.user_id.in_(members))
    )
    return {int(r.user_id): (r.max_open, dict(r.inbox_limits or {})) for r in rows}


async def _queued(tx: Tx, inbox_id: int, limit: int) -> list[int]:
    """Unassigned open conversations of the inbox, oldest waiting first.

    Rows another transaction holds are skipped (PostgreSQL): that transaction is the one
    creating or changing the conversation, and it decides for it itself after this one.
    """
    c = t.conversations.c
    query = (
        sa.select(c.id)
        .where(c.inbox_id == inbox_id, c.assignee_id.is_(None), c.status == "open")
        .order_by(sa.func.coalesce(c.waiting_since, c.created_at), c.id)
        .limit(limit)
    )
    if tx.conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [int(r[0]) for r in await tx.conn.execute(query)]


# Decisions ---------------------------------------------------------------------------


async def auto_assign(tx: Tx, ctx: AppContext, conversation: Any) -> Any:
    """Assign a new or reopened unassigned conversation if its inbox routes automatically.

    Returns the updated row, or the given one when it stays queued (or routing is off).
    """
    if conversation.assignee_id is not None or conversation.status != "open":
        return conversation
    policy, _last = await policy_of(tx, conversation.inbox_id)
    if policy == Policy.OFF:
        return conversation
    await lock(tx)
    policy, last = await policy_of(tx, conversation.inbox_id)  # read again under the lock
    pool = await candidates(tx, ctx, conversation.inbox_id)
    pairs = plan(policy, pool, [conversation.id], last)
    if not pairs:
        return conversation
    return await _write(tx, conversation, pairs[0][1], policy)


async def drain(tx: Tx, ctx: AppContext, inbox_ids: Iterable[int]) -> int:
    """Assign queued conversations of these inboxes while members have room."""
    done = 0
    locked = False
    for inbox_id in sorted(set(inbox_ids)):
        policy, _last = await policy_of(tx, inbox_id)
        if policy == Policy.OFF:
            continue
        if not locked:
            await lock(tx)
            locked = True
        policy, last = await policy_of(tx, inbox_id)
        pool = await candidates(tx, ctx, inbox_id)
        room = sum(_room(c) for c in pool)
        if room == 0:
            continue
        waiting = await _queued(tx, inbox_id, room)
        for conversation_id, user_id in plan(policy, pool, waiting, last):
            row = (
                await tx.conn.execute(
                    sa.select(t.conversations).where(t.conversations.c.id == conversation_id)
                )
            ).one()
            await _write(tx, row, user_id, policy)
            done += 1
    return done


def _room(c: Candidate) -> int:
    """How many more conversations a candidate can take (bounded: 1,000 per drain)."""
    if not has_room(c):
        return 0
    left = [1000]
    if c.capacity is not None:
        left.append(c.capacity - c.open_total)
    if c.inbox_capacity is not None:
        left.append(c.inbox_capacity - c.open_here)
    return max(0, min(left))


async def _write(tx: Tx, conversation: Any, user_id: int, policy: Policy) -> Any:
    now = utcnow()
    name = (
        await tx.conn.execute(sa.select(t.users.c.name).where(t.users.c.id == user_id))
    ).scalar_one()
    await tx.conn.execute(
        sa.update(t.inbox_routing)
        .where(t.inbox_routing.c.inbox_id == conversation.inbox_id)
        .values(last_user_id=user_id, updated_at=now)
    )
    await add_activity(
        tx,
        conversation,
        f"Assigned to {name} automatically ({_LABEL[policy]})",
        {"assignment": {"assignee_id": user_id}, "auto": True},
        None,
        now,
    )
    row = await update_conversation(tx, conversation, {"assignee_id": user_id}, now=now)
    from server.actions import notifications

    await notifications.assigned(tx, row, user_id, by=None)
    return row


async def inboxes_of(tx: Tx, user_id: int) -> list[int]:
    im = t.inbox_members.c
    return [
        int(r[0])
        for r in await tx.conn.execute(sa.select(im.inbox_id).where(im.user_id == user_id))
    ]


async def _routed(ctx: AppContext, user_id: int | None) -> list[int]:
    """Routed inboxes (of ``user_id``, or all), read without taking the write lock: most
    presence changes and timer passes find none, and must not queue behind writers."""
    r, im = t.inbox_routing.c, t.inbox_members.c
    query = sa.select(r.inbox_id).where(r.policy != Policy.OFF.value)
    if user_id is not None:
        query = query.join(t.inbox_members, im.inbox_id == r.inbox_id).where(im.user_id == user_id)
    async with ctx.db.read() as conn:
        return [int(x[0]) for x in await conn.execute(query)]


async def drain_for_user(ctx: AppContext, user_id: int) -> int:
    """Someone came online or gained room: serve the queues of their inboxes."""
    inbox_ids = await _routed(ctx, user_id)
    if not inbox_ids:
        return 0
    async with transaction(ctx) as tx:
        return await drain(tx, ctx, inbox_ids)


async def drain_all(ctx: AppContext) -> int:
    """Serve every routed inbox's queue (a safety net run by the automation worker)."""
    inbox_ids = await _routed(ctx, None)
    if not inbox_ids:
        return 0
    async with transaction(ctx) as tx:
        return await drain(tx, ctx, inbox_ids)


# Settings ----------------------------------------------------------------------------


async def set_policy(ctx: AppContext, inbox_id: int, policy: str) -> dict[str, Any]:
    try:
        chosen = Policy(policy)
    except ValueError:
        allowed = ", ".join(p.value for p in Policy)
        raise InvalidInput(f"policy: expected one of {allowed}, got {policy!r}") from None
    now = utcnow()
    async with transaction(ctx) as tx:
        exists = (
            await tx.conn.execute(sa.select(t.inboxes.c.id).where(t.inboxes.c.id == inbox_id))
        ).first()
        if exists is None:
            raise NotFound(f"inbox {inbox_id} not found")
        r = t.inbox_routing.c
        updated = await tx.conn.execute(
            sa.update(t.inbox_routing)
            .where(r.inbox_id == inbox_id)
            .values(policy=chosen.value, updated_at=now)
        )
        if updated.rowcount == 0:
            await tx.conn.execute(
                t.inbox_routing.insert().values(
                    inbox_id=inbox_id, policy=chosen.value, updated_at=now
                )
            )
        assigned = await drain(tx, ctx, [inbox_id])
    return {"inbox_id": inbox_id, "policy": chosen.value, "assigned": assigned}


async def get_policy(ctx: AppContext, inbox_id: int) -> dict[str, Any]:
    async with ctx.db.read() as conn:
        r = t.inbox_routing.c
        row = (await conn.execute(sa.select(r.policy).where(r.inbox_id == inbox_id))).first()
    return {"inbox_id": inbox_id, "policy": row.policy if row else Policy.OFF.value}


async def set_capacity(
    ctx: AppContext, user_id: int, max_open: int | None, inbox_limits: dict[str, int]
) -> dict[str, Any]:
    for key, value in inbox_limits.items():
        if not (key.isascii() and key.isdigit() and len(key) <= 18) or value < 0:
            raise InvalidInput(
                f"inbox_limits: expected inbox id → limit ≥ 0, got {key!r}: {value!r}"
            )
    if max_open is not None and max_open < 0:
        raise InvalidInput(f"max_open: expected a limit ≥ 0 or null, got {max_open}")
    async with transaction(ctx) as tx:
        user = (
            await tx.conn.execute(sa.select(t.users.c.id).where(t.users.c.id == user_id))
        ).first()
        if user is None:
            raise NotFound(f"agent {user_id} not found")
        a = t.agent_capacity.c
        await tx.conn.execute(sa.delete(t.agent_capacity).where(a.user_id == user_id))
        await tx.conn.execute(
            t.agent_capacity.insert().values(
                user_id=user_id, max_open=max_open, inbox_limits=inbox_limits
            )
        )
        await drain(tx, ctx, await inboxes_of(tx, user_id))  # a raised limit makes room now
    return {"user_id": user_id, "max_open": max_open, "inbox_limits": inbox_limits}


async def get_capacity(ctx: AppContext, user_id: int) -> dict[str, Any]:
    a = t.agent_capacity.c
    async with ctx.db.read() as conn:
        row = (
            await conn.execute(sa.select(a.max_open, a.inbox_limits).where(a.user_id == user_id))
        ).first()
    return {
        "user_id": user_id,
        "max_open": row.max_open if row else None,
        "inbox_limits": dict(row.inbox_limits or {}) if row else {},
    }
