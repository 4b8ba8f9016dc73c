"""The durable queue of account emails (invites, password resets): claim, sent, retry.

A row is committed with the action that needs it (``accounts.queue_mail``); any node's
worker claims it with a compare-and-set on ``claimed_until`` (so two nodes never send the
same row at once), and records the result. Bodies hold link tokens: they are encrypted at
rest and erased once the mail is sent or given up.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from server.context import AppContext
from server.storage import schema as t
from server.storage.schema import utcnow
from server.storage.shared_clock import shared_now, shared_now_sql

CLAIM_SECONDS = 120  # above one SMTP attempt's timeout (30 s): a dead node's claim lapses
MAX_ATTEMPTS = 8  # backoff 30 s doubling: about two hours of retries, then failed


async def claim_due(ctx: AppContext, limit: int = 10) -> list[Any]:
    m = t.account_mail.c
    async with ctx.db.read() as conn:
        now = await shared_now(conn)  # not this node's clock: server/storage/shared_clock.py
        ids = [
            r.id
            for r in await conn.execute(
                sa.select(m.id)
                .where(
                    m.state == "queued",
                    m.next_attempt_at <= now,
                    sa.or_(m.claimed_until.is_(None), m.claimed_until < now),
                )
                .order_by(m.id)
                .limit(limit)
            )
        ]
    claimed = []
    for mail_id in ids:
        async with ctx.db.write() as conn:
            done = await conn.execute(
                sa.update(t.account_mail)
                .where(
                    m.id == mail_id,
                    m.state == "queued",
                    sa.or_(m.claimed_until.is_(None), m.claimed_until < now),
                )
                .values(
                    claimed_until=now + timedelta(seconds=CLAIM_SECONDS), attempts=m.attempts + 1
                )
            )
            if done.rowcount:
                row = (await conn.execute(sa.select(t.account_mail).where(m.id == mail_id))).one()
                claimed.append(row)
    return claimed


async def mark_sent(ctx: AppContext, mail_id: int) -> None:
    await _finish(ctx, mail_id, state="sent", sent_at=utcnow(), last_error=None)


async def mark_failed(ctx: AppContext, row: Any, reason: str, *, permanent: bool) -> None:
    if permanent or row.attempts >= MAX_ATTEMPTS:
        await _finish(ctx, row.id, state="failed", last_error=reason[:1000])
        return
    delay = timedelta(seconds=30 * 2 ** (row.attempts - 1))
    async with ctx.db.write() as conn:
        await conn.execute(
            sa.update(t.account_mail)
            .where(t.account_mail.c.id == row.id)
            .values(
                next_attempt_at=shared_now_sql(conn) + delay,
                claimed_until=None,
                last_error=reason[:1000],
            )
        )


async def _finish(ctx: AppContext, mail_id: int, **values: Any) -> None:
    async with ctx.db.write() as conn:
        await conn.execute(
            sa.update(t.account_mail)
            .where(t.account_mail.c.id == mail_id)
            .values(body="", claimed_until=None, **values)
        )
