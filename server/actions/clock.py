"""Keeps a conversation's response figures (docs/frt.md) in step with its timeline.

Incremental (docs/frt.md, "Incremental"): the conversation stores the pure clock's state
(``server.domain.waits.ClockState``) and the last message id it folded, in ``clock_state``.
A change folds only the messages written since: O(1) work per message however long the
conversation. Every writer of messages holds the conversation's row lock (``_conv.locked``),
so message ids grow in commit order within a conversation and "written since" is an id
range. The whole timeline is replayed only when history changed: no state yet, a message
dated before the last one folded (imports, late email), or a writer that clears
``clock_state`` (a send that failed, or stopped failing).

Deadlines (FRT ``sla_*``, NRT ``nrt_*``, with near-breach ``*_warn_at``) always come from
the current calendar and targets; a cycle's figures, once measured, keep the calendar they
were measured under (``calendar_id``), also through a replay.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from server.actions import cycles
from server.actions._tx import Tx
from server.domain.calendar import BusinessHours
from server.domain.frt import ItemKind, TimelineItem
from server.domain.status import Status
from server.domain.waits import (
    NEAR_BREACH_FRACTION,
    ClockState,
    Cycle,
    Kind,
    deadline,
    fixed,
    open_wait,
    replay,
    step,
)
from server.exceptions import InvalidInput
from server.storage import schema as t

#: A customer's clock may run this far ahead of ours; a later ``sent_at`` is refused.
MAX_FUTURE_SKEW = timedelta(minutes=5)
_STATE_VERSION = 1


def refuse_future(sent_at: datetime | None, now: datetime) -> None:
    """InvalidInput (422) for a customer message dated beyond the allowed clock skew."""
    if sent_at is None or sent_at <= now + MAX_FUTURE_SKEW:
        return
    ahead = int((sent_at - now).total_seconds())
    raise InvalidInput(
        f"sent_at: {sent_at.isoformat()} is {ahead} s in the future; at most "
        f"{int(MAX_FUTURE_SKEW.total_seconds())} s of clock skew is accepted"
    )


def received_time(sent_at: datetime | None, now: datetime) -> datetime:
    """When an inbound message counts as written: the channel's own timestamp, or `now` when
    there is none or it lies beyond the clock-skew allowance in the future (a sender's wrong
    clock, e.g. an email's Date header); docs/frt.md, "Timestamps"."""
    if sent_at is None or sent_at > now + MAX_FUTURE_SKEW:
        return now
    return sent_at


def hours_of(inbox: Any) -> BusinessHours:
    return cycles.hours_from(inbox.business_hours)


def timeline_item(row: Any, human_ids: set[int]) -> TimelineItem | None:
    """Classify one stored message for the clock (docs/frt.md, "What counts")."""
    at = row.sent_at
    if row.kind == "activity":
        status = (row.content_attributes or {}).get("status")
        return (
            TimelineItem(at, ItemKind.STATUS, str(row.id), status=Status(status))
            if status
            else None
        )
    if row.direction == "in":
        if row.kind != "message" or row.is_auto:
            return None
        return TimelineItem(at, ItemKind.CUSTOMER_MESSAGE, str(row.id))
    counts = (
        row.kind == "message"
        and row.sender_type == "agent"
        and row.sender_id in human_ids
        and not row.is_auto
        and row.status != "failed"
    )
    return TimelineItem(
        at, ItemKind.AGENT_REPLY, str(row.id), _str(row.sender_id), counts_as_response=counts
    )


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


async def _human_agent_ids(tx: Tx, rows: Sequence[Any]) -> set[int]:
    ids = {r.sender_id for r in rows if r.sender_type == "agent" and r.sender_id is not None}
    if not ids:
        return set()
    found = await tx.conn.execute(
        sa.select(t.users.c.id).where(t.users.c.id.in_(ids), t.users.c.is_bot.is_(False))
    )
    return {int(r[0]) for r in found}


#: Keys of ``frt_targets`` / ``nrt_targets``: a priority, or "default" for the others.
TARGET_KEYS = ("default", "none", "low", "medium", "high", "urgent")


def check_targets(name: str, targets: Any) -> None:
    """InvalidInput (422) unless `targets` maps priorities to whole seconds above zero."""
    for key, value in (targets or {}).items():
        if key not in TARGET_KEYS:
            raise InvalidInput(f"{name}.{key}: expected one of {', '.join(TARGET_KEYS)}")
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InvalidInput(f"{name}.{key}: expected whole seconds above 0, got {value!r}")


def target(inbox: Any, kind: Kind, priority: str) -> float | None:
    """The inbox's target for `kind` at this priority ("default" when none is set for it)."""
    targets = (inbox.frt_targets if kind is Kind.FRT else inbox.nrt_targets) or {}
    value = targets.get(priority, targets.get("default"))
    return float(value) if value else None


_m = t.messages.c
#: Only what the clock reads: bodies and email attributes can be large.
_COLUMNS = (
    _m.id,
    _m.sent_at,
    _m.kind,
    _m.direction,
    _m.sender_type,
    _m.sender_id,
    _m.is_auto,
    _m.status,
    sa.case((_m.kind == "activity", _m.content_attributes), else_=sa.null()).label(
        "content_attributes"
    ),
)
_TIMELINE = (
    sa.select(*_COLUMNS)
    .where(_m.conversation_id == sa.bindparam("cid"))
    .order_by(_m.sent_at, _m.id)
)
_SINCE = (
    sa.select(*_COLUMNS)
    .where(_m.conversation_id == sa.bindparam("cid"), _m.id > sa.bindparam("seen"))
    .order_by(_m.id)
)


def _saved(value: Any) -> tuple[int, ClockState] | None:
    if not isinstance(value, dict) or value.get("v") != _STATE_VERSION:
        return None
    return int(value["seen"]), ClockState.from_json(value["state"])


async def recompute(tx: Tx, conversation: Any, inbox: Any, now: datetime) -> dict[str, Any]:
    """Fold what changed into the clock; returns the conversation fields that move."""
    saved = _saved(getattr(conversation, "clock_state", None))
    if saved is not None:
        seen, state = saved
        rows = (await tx.conn.execute(_SINCE, {"cid": conversation.id, "seen": seen})).all()
        if not any(state.last_at and r.sent_at < state.last_at for r in rows):
            return await _fold(tx, conversation, inbox, now, seen, state, rows)
    return await _replay(tx, conversation, inbox, now)


async def _fold(
    tx: Tx,
    conversation: Any,
    inbox: Any,
    now: datetime,
    seen: int,
    state: ClockState,
    rows: Sequence[Any],
) -> dict[str, Any]:
    rows = sorted(rows, key=lambda r: (r.sent_at, r.id))
    humans = await _human_agent_ids(tx, rows)
    hours = hours_of(inbox)
    before, changed = state, {}
    for item in _items(rows, humans):
        state, moved = step(state, item, fixed(hours))
        changed.update({(c.kind, c.index): c for c in moved})
    writer = cycles.Writer(tx, conversation, inbox, now, _statuses(rows))
    await writer.fold(before, changed.values())
    seen = max([seen, *(int(r.id) for r in rows)])
    return _fields(conversation, inbox, state, seen, changed.values(), hours)


async def _replay(tx: Tx, conversation: Any, inbox: Any, now: datetime) -> dict[str, Any]:
    rows = (await tx.conn.execute(_TIMELINE, {"cid": conversation.id})).all()
    humans = await _human_agent_ids(tx, rows)
    writer = cycles.Writer(tx, conversation, inbox, now, _statuses(rows))
    hours_for = await writer.calendars_for_replay()
    state, result = replay(_items(rows, humans), hours_for)
    await writer.replace_all(result)
    seen = max((int(r.id) for r in rows), default=0)
    return _fields(conversation, inbox, state, seen, result, hours_of(inbox))


def _items(rows: Iterable[Any], humans: set[int]) -> list[TimelineItem]:
    return [i for i in (timeline_item(r, humans) for r in rows) if i is not None]


def _statuses(rows: Iterable[Any]) -> dict[str, str]:
    return {str(r.id): r.status for r in rows if r.direction == "out"}


def _fields(
    conversation: Any,
    inbox: Any,
    state: ClockState,
    seen: int,
    changed: Iterable[Cycle],
    hours: BusinessHours,
) -> dict[str, Any]:
    current = open_wait(state)
    fields: dict[str, Any] = {
        "clock_state": {"v": _STATE_VERSION, "seen": seen, "state": state.to_json()},
        "waiting_since": None if current is None else current.started_at,
    }
    segments = [c for c in changed if c.kind is Kind.FRT]
    if segments:
        latest = max(segments, key=lambda c: c.index)
        fields.update(
            first_response_at=latest.responded_at,
            first_response_message_id=_int(latest.response_message_id),
            first_responder_id=_int(latest.responder_id),
            frt_seconds=latest.wall_seconds,
            frt_business_seconds=latest.business_seconds,
        )
    fields.update(deadlines(conversation, inbox, state, hours))
    return fields


def deadlines(
    conversation: Any, inbox: Any, state: ClockState, hours: BusinessHours
) -> dict[str, Any]:
    """Due and near-breach instants for FRT (sla_*) and NRT (nrt_*), with their flags reset
    when a deadline moves (a breach of an earlier cycle or calendar is not this one's)."""
    fields: dict[str, Any] = {}
    for kind, prefix in ((Kind.FRT, "sla"), (Kind.NRT, "nrt")):
        seconds = target(inbox, kind, conversation.priority)
        due = warn = None
        if seconds is not None:
            due = deadline(state, kind, seconds, hours)
            warn = deadline(state, kind, seconds * NEAR_BREACH_FRACTION, hours)
        fields[f"{prefix}_due_at"], fields[f"{prefix}_warn_at"] = due, warn
        if due is not None and due != getattr(conversation, f"{prefix}_due_at", None):
            fields[f"{prefix}_breached_at"] = None
        if warn is not None and warn != getattr(conversation, f"{prefix}_warn_at", None):
            fields[f"{prefix}_warned_at"] = None
    return fields


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


async def response_sent(tx: Tx, message: Any) -> None:
    """A reply reached the provider: if it is a segment's first response, that response is
    final now, and /metrics counts it (once: ``observed_at``)."""
    await cycles.observe_sent(tx, message)


async def settings_changed(tx: Tx, inbox: Any) -> int:
    """Business hours or targets changed: move the deadlines of every conversation that is
    waiting now, at once (docs/frt.md, "Calendar changes"). Returns how many moved."""
    from server.actions._conv import locked, update_conversation  # _conv imports this module
    from server.reporting import rollup

    await rollup.zone_changed(tx, inbox)  # report days follow the inbox's time zone
    c = t.conversations.c
    waiting = sa.select(t.conversations).where(c.inbox_id == inbox.id, c.waiting_since.is_not(None))
    rows = (await tx.conn.execute(locked(tx, waiting.order_by(c.id)))).all()
    for row in rows:
        await update_conversation(tx, row, {}, recompute_clock=True, inbox=inbox)
    return len(rows)
