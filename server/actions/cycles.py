"""Stores the clock's cycles: FRT segments in ``response_cycles``, NRT waits in
``response_waits`` (docs/frt.md, "Storage"), each measured cycle with its ``calendar_id``.

Used by ``server.actions.clock`` only. A live fold writes the one or two cycles a message
changed; a replay diffs every cycle against what is stored. /metrics counts a segment's
first response once, when it is final (its message reached the provider): ``observed_at``
makes that exactly-once across retries, replays and nodes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from server.actions._tx import Tx
from server.domain.calendar import BusinessHours
from server.domain.waits import ClockState, Cycle, HoursFor, Kind
from server.metrics import FIRST_RESPONSE_SECONDS
from server.reporting import rollup
from server.storage import schema as t

_ALWAYS = BusinessHours.always()
_HOURS_CACHE: dict[str, BusinessHours] = {}  # parsed calendars by their JSON; few per install
#: Delivery statuses after which a reply is final (the provider accepted it).
FINAL = frozenset({"sent", "delivered", "read"})
_TABLES = {Kind.FRT: t.response_cycles, Kind.NRT: t.response_waits}
_ENTRIES = {Kind.FRT: rollup.cycle_entries, Kind.NRT: rollup.wait_entries}


class Writer:
    def __init__(
        self, tx: Tx, conversation: Any, inbox: Any, now: datetime, statuses: dict[str, str]
    ) -> None:
        self.tx, self.conversation, self.inbox, self.now = tx, conversation, inbox, now
        self.statuses = statuses  # outbound message id -> delivery status, as far as read
        self.stored: dict[tuple[Kind, int], dict[str, Any]] = {}
        self.kept: dict[tuple[Kind, int], int] = {}  # replay: cycles keeping their calendar
        self._calendar: int | None = None
        self.zone = rollup.zone_of(inbox.business_hours)
        self.old_entries: list[rollup.Entry] = []  # report rollups: what the rows were
        self.new_entries: list[rollup.Entry] = []  # … and what they are now

    async def fold(self, before: ClockState, changed: Iterable[Cycle]) -> None:
        """Write what one fold changed: new cycles inserted, the others updated (their
        stored row read first: the rollups subtract what it contributed)."""
        for cycle in changed:
            row = await self._row(cycle)
            known = before.segments if cycle.kind is Kind.FRT else before.waits
            table = _TABLES[cycle.kind]
            if cycle.index >= known:
                await self.tx.conn.execute(table.insert(), [row])
            else:
                c = table.c
                old = (
                    await self.tx.conn.execute(
                        sa.select(table).where(
                            c.conversation_id == self.conversation.id, c.idx == cycle.index
                        )
                    )
                ).first()
                await self.tx.conn.execute(self._where(table, cycle.index).values(**row))
                self.old_entries += _ENTRIES[cycle.kind](old._mapping if old else None)
            self.new_entries += _ENTRIES[cycle.kind](row)
            await self._observe_if_final(cycle)
        await self.flush_rollups()

    async def flush_rollups(self) -> None:
        """The rollups follow the rows, in the same transaction (staged on the Tx, written
        once before commit: server/reporting/rollup.py flush)."""
        await rollup.apply(
            self.tx, self.conversation.inbox_id, self.zone, self.old_entries, self.new_entries
        )
        self.old_entries, self.new_entries = [], []

    async def calendars_for_replay(self) -> HoursFor:
        """Load what is stored; a measured cycle that starts where it did keeps its calendar."""
        current = hours_from(self.inbox.business_hours)
        for kind, table in _TABLES.items():
            query = sa.select(table).where(table.c.conversation_id == self.conversation.id)
            for row in (await self.tx.conn.execute(query)).all():
                self.stored[(kind, row.idx)] = dict(row._mapping)
        ids = {
            r["calendar_id"] for r in self.stored.values() if r["calendar_id"] and r["responded_at"]
        }
        calendars = await self._calendars(ids)

        def hours_for(cycle: Cycle) -> BusinessHours:
            old = self.stored.get((cycle.kind, cycle.index))
            measured = old and old["responded_at"] and old["started_at"] == cycle.started_at
            if old and measured and old["calendar_id"] in calendars:
                self.kept[(cycle.kind, cycle.index)] = old["calendar_id"]
                return calendars[old["calendar_id"]]
            return current

        return hours_for

    async def replace_all(self, result: Iterable[Cycle]) -> None:
        """After a replay: make the stored cycles exactly `result`."""
        wanted = {(c.kind, c.index): c for c in result}
        for kind, table in _TABLES.items():
            gone = [i for (k, i) in self.stored if k is kind and (k, i) not in wanted]
            for i in gone:
                self.old_entries += _ENTRIES[kind](self.stored[(kind, i)])
            if gone:
                await self.tx.conn.execute(
                    sa.delete(table).where(
                        table.c.conversation_id == self.conversation.id, table.c.idx.in_(gone)
                    )
                )
        for key, cycle in wanted.items():
            row, old = await self._row(cycle), self.stored.get(key)
            table = _TABLES[cycle.kind]
            if old is None:
                await self.tx.conn.execute(table.insert(), [row])
                self.new_entries += _ENTRIES[cycle.kind](row)
            elif any(old[name] != value for name, value in row.items()):
                await self.tx.conn.execute(self._where(table, cycle.index).values(**row))
                self.old_entries += _ENTRIES[cycle.kind](old)
                self.new_entries += _ENTRIES[cycle.kind](row)
            await self._observe_if_final(cycle)
        await self.flush_rollups()

    def _where(self, table: sa.Table, index: int) -> Any:
        c = table.c
        return sa.update(table).where(c.conversation_id == self.conversation.id, c.idx == index)

    async def _row(self, cycle: Cycle) -> dict[str, Any]:
        conv = self.conversation
        row: dict[str, Any] = {
            "conversation_id": conv.id,
            "inbox_id": conv.inbox_id,
            "idx": cycle.index,
            "channel": self.inbox.kind,
            "started_at": cycle.started_at,
            "start_message_id": _int(cycle.start_message_id),
            "responded_at": cycle.responded_at,
            "response_message_id": _int(cycle.response_message_id),
            "responder_id": _int(cycle.responder_id),
            "team_id": conv.team_id,
            "wall_seconds": cycle.wall_seconds,
            "business_seconds": cycle.business_seconds,
            "ended_unanswered_at": cycle.ended_unanswered_at,
            "calendar_id": await self._calendar_of(cycle),
        }
        if cycle.kind is Kind.NRT:
            return {**row, "segment_idx": cycle.segment_index}
        resolved = cycle.resolved_at
        seconds = (resolved - cycle.started_at).total_seconds() if resolved else None
        targets = self.inbox.frt_targets or {}
        goal = targets.get(conv.priority, targets.get("default"))
        kept = self.stored.get((Kind.FRT, cycle.index))
        if (Kind.FRT, cycle.index) in self.kept and kept is not None:
            goal = kept.get("target_seconds")  # measured: keeps its calendar and its target
        return {
            **row,
            "resolved_at": resolved,
            "resolution_seconds": seconds,
            "target_seconds": float(goal) if goal else None,
        }

    async def _calendar_of(self, cycle: Cycle) -> int | None:
        if cycle.business_seconds is None:
            return None
        kept = self.kept.get((cycle.kind, cycle.index))
        return kept if kept is not None else await self._current_calendar()

    async def _current_calendar(self) -> int:
        """The inbox's calendar as a stored snapshot (created on first use)."""
        if self._calendar is None:
            self._calendar = await calendar_id(self.tx, self.inbox)
        return self._calendar

    async def _calendars(self, ids: set[int]) -> dict[int, BusinessHours]:
        if not ids:
            return {}
        c = t.calendars.c
        rows = await self.tx.conn.execute(sa.select(c.id, c.business_hours).where(c.id.in_(ids)))
        return {int(r.id): hours_from(r.business_hours) for r in rows}

    async def _observe_if_final(self, cycle: Cycle) -> None:
        message_id = cycle.response_message_id
        if cycle.kind is Kind.FRT and message_id and self.statuses.get(message_id) in FINAL:
            # a reply sent before it became the response (an earlier one failed later);
            # only our own sends count, never imported history
            await _observe(self.tx, self.conversation.id, int(message_id), self.now, sent=True)


async def calendar_id(tx: Tx, inbox: Any) -> int:
    """The id of the inbox's current calendar snapshot; stored the first time it is used."""
    c = t.calendars.c
    digest = calendar_digest(inbox.business_hours)
    found = (
        await tx.conn.execute(
            sa.select(c.id)
            .where(c.inbox_id == inbox.id, c.digest == digest)
            .order_by(c.id.desc())
            .limit(1)
        )
    ).first()
    if found is not None:
        return int(found.id)
    inserted = await tx.conn.execute(
        t.calendars.insert()
        .values(inbox_id=inbox.id, digest=digest, business_hours=inbox.business_hours)
        .returning(c.id)
    )
    return int(inserted.scalar_one())


async def observe_sent(tx: Tx, message: Any) -> None:
    """The reply `message` reached the provider; count it if it is a first response."""
    from server.storage.schema import utcnow

    await _observe(tx, message.conversation_id, int(message.id), utcnow())


async def _observe(
    tx: Tx, conversation_id: int, message_id: int, now: datetime, *, sent: bool = False
) -> None:
    """Count the segment answered by `message_id` unless it was counted; ``sent``: only if
    the message went through our outbox."""
    c = t.response_cycles.c
    where = [
        c.conversation_id == conversation_id,
        c.response_message_id == message_id,
        c.observed_at.is_(None),
    ]
    if sent:
        where.append(sa.exists().where(t.outbox.c.message_id == message_id))
    counted = (
        await tx.conn.execute(
            sa.update(t.response_cycles)
            .where(*where)
            .values(observed_at=now)
            .returning(c.channel, c.wall_seconds)
        )
    ).all()
    for row in counted:
        channel, seconds = str(row.channel), float(row.wall_seconds)
        tx.after_commit.append(
            lambda ch=channel, s=seconds: FIRST_RESPONSE_SECONDS.labels(ch).observe(s)
        )


def hours_from(data: Any) -> BusinessHours:
    """An inbox's ``business_hours`` JSON as a calendar (None: 24/7), parsed once."""
    if not data:
        return _ALWAYS
    key = json.dumps(data, sort_keys=True)
    hours = _HOURS_CACHE.get(key)
    if hours is None:
        if len(_HOURS_CACHE) > 1000:
            _HOURS_CACHE.clear()
        hours = _HOURS_CACHE[key] = BusinessHours.from_json(data)
    return hours


def calendar_digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data or None, sort_keys=True).encode()).hexdigest()


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)
