"""Durable delivery of rules' signed webhooks (docs/automation.md "Webhooks").

A webhook action commits a ``rule_webhooks`` row with the rule's other writes; the
automation timer (every node, every second) claims due rows atomically and POSTs the
stored body with ``X-Switchboard-Signature: sha256=<HMAC of the body>``. A failure is
retried with backoff, then marked ``failed`` with its reason — never dropped silently.
The private-address guard runs again before every attempt (a name can change address).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from adapters.base import PermanentError, TransientError
from adapters.outbound_guard import refuse_private
from server.actions.rule_actions import signature, webhook_secret
from server.context import AppContext
from server.storage import schema as t
from server.storage.shared_clock import shared_now, shared_now_sql

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6  # 1 + 2 + 4 + 8 + 16 minutes of backoff: half an hour of outage covered
CLAIM = timedelta(seconds=60)  # above the 10 s request timeout: a dead node's claim expires
TIMEOUT = 10.0


def backoff(attempt: int) -> timedelta:
    return timedelta(minutes=2 ** max(0, attempt - 1))


async def _claim(ctx: AppContext, limit: int = 20) -> list[Any]:
    w = t.rule_webhooks.c
    async with ctx.db.read() as conn:
        now = await shared_now(conn)  # not this node's clock: server/storage/shared_clock.py
    due = (
        sa.select(w.id)
        .where(
            w.state == "queued",
            w.next_attempt_at <= now,
            sa.or_(w.claimed_until.is_(None), w.claimed_until < now),
        )
        .order_by(w.id)
        .limit(limit)
    )
    async with ctx.db.read() as conn:  # most passes find nothing: no write lock for that
        ids = [int(r[0]) for r in await conn.execute(due)]
    if not ids:
        return []
    async with ctx.db.write() as conn:
        claimed = []
        for webhook_id in ids:
            row = (
                await conn.execute(
                    sa.update(t.rule_webhooks)
                    .where(
                        w.id == webhook_id,
                        w.state == "queued",
                        sa.or_(w.claimed_until.is_(None), w.claimed_until < now),
                    )
                    .values(claimed_until=now + CLAIM)
                    .returning(t.rule_webhooks)
                )
            ).first()
            if row is not None:
                claimed.append(row)
    return claimed


async def _post(ctx: AppContext, row: Any) -> None:
    await refuse_private(row.url, ctx.settings.allow_private_urls)
    body = row.body.encode()
    headers = {
        "content-type": "application/json",
        "x-switchboard-signature": signature(webhook_secret(ctx, row.rule_id), body),
        "x-switchboard-delivery": str(row.id),
    }
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
            response = await client.post(row.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise TransientError(f"{type(exc).__name__}: {exc}") from None
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientError(f"the receiver answered {response.status_code}")
    if response.status_code >= 300:
        raise PermanentError(f"the receiver answered {response.status_code}")


async def _settle(ctx: AppContext, row: Any, error: str | None, permanent: bool) -> None:
    w = t.rule_webhooks.c
    attempts = row.attempts + 1
    async with ctx.db.write() as conn:
        now = shared_now_sql(conn)  # the queue's clock (server/storage/shared_clock.py)
        if error is None:
            values: dict[str, Any] = {"state": "sent", "sent_at": now, "last_error": None}
        elif permanent or attempts >= MAX_ATTEMPTS:
            values = {"state": "failed", "last_error": error[:1000]}
        else:
            values = {"last_error": error[:1000], "next_attempt_at": now + backoff(attempts)}
        await conn.execute(
            sa.update(t.rule_webhooks)
            .where(w.id == row.id)
            .values(attempts=attempts, claimed_until=None, **values)
        )


async def deliver_due(ctx: AppContext) -> int:
    """Deliver the webhooks that are due; returns how many were attempted."""
    rows = await _claim(ctx)
    for row in rows:
        try:
            await _post(ctx, row)
        except PermanentError as exc:
            await _settle(ctx, row, str(exc), True)
        except TransientError as exc:
            await _settle(ctx, row, str(exc), False)
        else:
            await _settle(ctx, row, None, False)
    return len(rows)
