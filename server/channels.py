"""Runs one adapter instance per active inbox and gives each its AdapterContext."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from adapters import storable
from adapters.base import (
    Adapter,
    AdapterContext,
    InboundMessage,
    IngestResult,
    StatusUpdate,
)
from adapters.registry import ADAPTERS
from server.actions import delivery, inbound
from server.actions.channel_secrets import InboxSecrets
from server.context import AppContext
from server.events.bus import Bus
from server.events.types import Event, EventType
from server.storage import schema as t
from server.storage.schema import utcnow
from server.storage.shared_clock import shared_now

log = logging.getLogger(__name__)


class DbStateStore:
    def __init__(self, ctx: AppContext, inbox_id: int) -> None:
        self._ctx, self._inbox_id = ctx, inbox_id

    async def get(self, key: str) -> Any:
        s = t.inbox_state.c
        async with self._ctx.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(s.value).where(s.inbox_id == self._inbox_id, s.key == key)
                )
            ).first()
        return None if row is None else row.value

    async def set(self, key: str, value: Any) -> None:
        s = t.inbox_state.c
        async with self._ctx.db.write() as conn:
            done = await conn.execute(
                sa.update(t.inbox_state)
                .where(s.inbox_id == self._inbox_id, s.key == key)
                .values(value=value, updated_at=utcnow())
            )
            if done.rowcount == 0:
                await conn.execute(
                    t.inbox_state.insert().values(
                        inbox_id=self._inbox_id, key=key, value=value, updated_at=utcnow()
                    )
                )


class DbLease:
    """A row per lease name; the holder renews it before ``ttl`` runs out."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx

    async def acquire(self, name: str, ttl: float) -> bool:
        node = self._ctx.node_id
        l = t.leases.c  # noqa: E741
        async with self._ctx.db.write() as conn:
            # the database's clock, as for outbox claims: a node whose wall clock jumped
            # ahead would otherwise take live leases and, once back, hold one that far ahead
            now = await shared_now(conn)
            until = now + timedelta(seconds=ttl)
            taken = await conn.execute(
                sa.update(t.leases)
                .where(l.name == name, sa.or_(l.holder == node, l.expires_at < now))
                .values(holder=node, expires_at=until)
            )
            if taken.rowcount:
                return True
            exists = (await conn.execute(sa.select(l.name).where(l.name == name))).first()
            if exists:
                return False
            await conn.execute(t.leases.insert().values(name=name, holder=node, expires_at=until))
            return True

    async def release(self, name: str) -> None:
        l = t.leases.c  # noqa: E741
        async with self._ctx.db.write() as conn:
            await conn.execute(
                sa.delete(t.leases).where(l.name == name, l.holder == self._ctx.node_id)
            )


@dataclass
class Health:
    connected: bool = False
    error: str | None = None
    lag: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    updated_at: str | None = None


LAGGING_AFTER = 60.0  # seconds of ingestion lag before admins are told the watcher lags


class HealthBoard:
    """Watcher health per inbox, for admins and /readyz.

    A change that matters (connected or not, a new error, lag crossing LAGGING_AFTER) is
    published at once as an ``inbox.health`` event to admins on every node.
    """

    def __init__(self, bus: Bus | None = None) -> None:
        self.by_inbox: dict[int, Health] = {}
        self._bus = bus
        self._tasks: set[asyncio.Task[Any]] = set()

    def reporter(self, inbox_id: int) -> _Reporter:
        return _Reporter(self, inbox_id)

    def update(self, inbox_id: int, health: Health) -> None:
        before = self.by_inbox.get(inbox_id)
        self.by_inbox[inbox_id] = health
        if self._bus is not None and _state(before) != _state(health):
            event = Event(
                EventType.INBOX_HEALTH,
                {"inbox_id": inbox_id, "health": asdict(health)},
                inbox_id=inbox_id,
                audience="admins",
            )
            task = asyncio.get_running_loop().create_task(self._bus.publish([event]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


def _state(health: Health | None) -> tuple[Any, ...]:
    if health is None:
        return (None,)
    lagging = health.lag is not None and health.lag > LAGGING_AFTER
    return (health.connected, health.error, lagging)


class _Reporter:
    def __init__(self, board: HealthBoard, inbox_id: int) -> None:
        self._board, self._inbox_id = board, inbox_id

    def report(
        self,
        *,
        connected: bool,
        error: str | None = None,
        lag: float | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        self._board.update(
            self._inbox_id, Health(connected, error, lag, dict(detail or {}), utcnow().isoformat())
        )


class ChannelManager:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.health = HealthBoard(ctx.bus)
        self.lease = DbLease(ctx)
        self._adapters: dict[int, Adapter] = {}
        self._lock = asyncio.Lock()

    async def start_all(self) -> None:
        async with self.ctx.db.read() as conn:
            ids = [
                r.id
                for r in (
                    await conn.execute(
                        sa.select(t.inboxes.c.id).where(t.inboxes.c.is_active.is_(True))
                    )
                ).all()
            ]
        for inbox_id in ids:
            await self.reload(inbox_id)

    async def stop_all(self) -> None:
        for inbox_id in list(self._adapters):
            await self._stop(inbox_id)

    async def reload(self, inbox_id: int) -> None:
        """(Re)start the adapter of an inbox after it was created, changed or disabled."""
        async with self._lock:
            await self._stop(inbox_id)
            row = await self._inbox(inbox_id)
            if row is None or not row.is_active or row.kind not in ADAPTERS:
                return
            adapter = ADAPTERS[row.kind](self.context_for(row))
            self._adapters[inbox_id] = adapter
            if self.ctx.settings.run_workers:
                await adapter.start()

    async def get(self, inbox_id: int) -> Adapter | None:
        if inbox_id not in self._adapters:
            await self.reload(inbox_id)
        return self._adapters.get(inbox_id)

    async def _stop(self, inbox_id: int) -> None:
        adapter = self._adapters.pop(inbox_id, None)
        if adapter is None:
            return
        try:
            await asyncio.wait_for(adapter.stop(), timeout=5)
        except Exception:  # a broken adapter must not block the others' shutdown
            log.exception("adapter of inbox %s did not stop cleanly", inbox_id)

    async def _inbox(self, inbox_id: int) -> Any:
        async with self.ctx.db.read() as conn:
            return (
                await conn.execute(sa.select(t.inboxes).where(t.inboxes.c.id == inbox_id))
            ).first()

    def context_for(self, row: Any) -> AdapterContext:
        config = {**(row.config or {}), **self.ctx.secrets.decrypt_json(row.secrets)}
        inbox_id = int(row.id)

        async def ingest(msg: InboundMessage) -> IngestResult:
            return await inbound.ingest(self.ctx, inbox_id, storable.inbound(msg))

        async def report_status(update: StatusUpdate) -> None:
            await delivery.apply_status(self.ctx, inbox_id, update)

        return AdapterContext(
            inbox_id=inbox_id,
            inbox_name=row.name,
            public_key=row.public_key,
            config=config,
            ingest=ingest,
            report_status=report_status,
            state=DbStateStore(self.ctx, inbox_id),
            health=self.health.reporter(inbox_id),
            lease=self.lease,
            settings=_adapter_settings(self.ctx),
            secrets=InboxSecrets(self.ctx, inbox_id),
        )


def _adapter_settings(ctx: AppContext) -> dict[str, Any]:
    s = asdict(ctx.settings)
    keep = (
        "public_url",
        "telegram_api_base",
        "meta_graph_base",
        "allow_private_urls",
        "max_attachment_bytes",
        "node_id",
    )
    out = {k: s[k] for k in keep if k in s}
    out["node_id"] = ctx.node_id
    return out


__all__ = ["ChannelManager"]
