"""The incremental response clock: FRT segments and NRT waits, one item at a time.

docs/frt.md defines both figures. `step` folds one timeline item onto a `ClockState` and
returns the cycles that changed; the state holds only what the open segment and open wait
need (their records, a running pause, the pauses since the wait began), so live traffic
costs O(1) per message however long the conversation is. `replay` folds a whole timeline
from the empty state: the action layer uses it when history changes (an import, a failed
send, a back-dated message). Items must be folded in `at` order; the caller replays when an
item arrives earlier than `ClockState.last_at`.

Which calendar measures a cycle is the caller's choice per cycle (`HoursFor`): a closed cycle
keeps the calendar it was measured under when history is replayed (docs/frt.md, "Calendar
changes").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from server.domain.calendar import BusinessHours, add_business_seconds, business_seconds
from server.domain.frt import ItemKind, TimelineItem
from server.domain.status import Status

__all__ = [
    "NEAR_BREACH_FRACTION",
    "ClockState",
    "Cycle",
    "HoursFor",
    "Kind",
    "deadline",
    "open_wait",
    "replay",
    "step",
]

_PAUSED = frozenset({Status.PENDING, Status.SNOOZED})
#: "Near breach" fires when this share of a target's business time has run: 80 % leaves a
#: fifth of the target to act (e.g. 12 min of a 1 h target).
NEAR_BREACH_FRACTION = 0.8
Pause = tuple[datetime, datetime]


class Kind(StrEnum):
    FRT = "frt"  # a segment: first response since the conversation (re)started
    NRT = "nrt"  # a wait: a follow-up after a human reply, until the next human reply


HoursFor = Callable[["Cycle"], BusinessHours]  # the calendar that measures this cycle


@dataclass(frozen=True)
class Cycle:
    """One measured wait. FRT cycles are segments (index = segment number); NRT cycles are
    waits (index counts the conversation's NRT waits; segment_index is their segment)."""

    kind: Kind
    index: int
    segment_index: int
    started_at: datetime
    start_message_id: str | None
    responded_at: datetime | None = None
    response_message_id: str | None = None
    responder_id: str | None = None
    wall_seconds: float | None = None
    business_seconds: float | None = None
    ended_unanswered_at: datetime | None = None
    resolved_at: datetime | None = None  # FRT only: the resolve that closed the segment

    @property
    def is_waiting(self) -> bool:
        return self.responded_at is None and self.ended_unanswered_at is None


@dataclass(frozen=True)
class ClockState:
    """What the next item needs: the open segment, its latest wait, the pauses in play."""

    segment: Cycle | None = None  # the segment open now (None once resolved)
    wait: Cycle | None = None  # the open segment's latest NRT wait
    segments: int = 0  # segments started so far (the next segment's index)
    waits: int = 0  # NRT waits started so far
    paused_at: datetime | None = None  # a pending/snoozed pause running since
    pauses: tuple[Pause, ...] = ()  # closed pauses since the open cycle started
    last_at: datetime | None = None  # the latest item folded

    def to_json(self) -> dict[str, Any]:
        return {
            "segment": _cycle_json(self.segment),
            "wait": _cycle_json(self.wait),
            "segments": self.segments,
            "waits": self.waits,
            "paused_at": _iso(self.paused_at),
            "pauses": [[_iso(a), _iso(b)] for a, b in self.pauses],
            "last_at": _iso(self.last_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClockState:
        return cls(
            segment=_cycle_from(data.get("segment")),
            wait=_cycle_from(data.get("wait")),
            segments=int(data["segments"]),
            waits=int(data["waits"]),
            paused_at=_time(data.get("paused_at")),
            pauses=tuple((_at(a), _at(b)) for a, b in data.get("pauses", [])),
            last_at=_time(data.get("last_at")),
        )


def fixed(hours: BusinessHours) -> HoursFor:
    """One calendar for every cycle."""
    return lambda _cycle: hours


def open_wait(state: ClockState) -> Cycle | None:
    """The cycle a customer is waiting on now (FRT or NRT), if any."""
    if state.segment is not None and state.segment.is_waiting:
        return state.segment
    if state.wait is not None and state.wait.is_waiting:
        return state.wait
    return None


def deadline(
    state: ClockState, kind: Kind, seconds: float, hours: BusinessHours
) -> datetime | None:
    """When the open `kind` cycle has used `seconds` of business time (a target, or a share
    of it for near-breach). None when no such cycle waits, while paused (the clock is
    stopped), or when the calendar never opens. May be in the past."""
    current = open_wait(state)
    if current is None or current.kind is not kind or state.paused_at is not None:
        return None
    return add_business_seconds(hours, current.started_at, seconds, state.pauses)


def replay(items: Iterable[TimelineItem], hours_for: HoursFor) -> tuple[ClockState, list[Cycle]]:
    """Fold a whole timeline (sorted stably by `at`); every cycle's final record, in order."""
    state, cycles = ClockState(), {}
    for item in sorted(items, key=lambda i: i.at):
        state, changed = step(state, item, hours_for)
        cycles.update({(c.kind, c.index): c for c in changed})
    return state, list(cycles.values())


def step(
    state: ClockState, item: TimelineItem, hours_for: HoursFor
) -> tuple[ClockState, tuple[Cycle, ...]]:
    """Fold one item (not earlier than `state.last_at`); returns the cycles it changed."""
    if state.last_at is not None and item.at < state.last_at:
        raise ValueError(f"item at {item.at.isoformat()} is before {state.last_at.isoformat()}")
    state = replace(state, last_at=item.at)
    if item.kind is ItemKind.CUSTOMER_MESSAGE:
        return _customer(_resume(state, item.at), item)
    if item.counts_as_response:
        return _respond(state, item, hours_for)
    if item.status is not None:
        return _status(state, item)
    return state, ()


def _customer(state: ClockState, item: TimelineItem) -> tuple[ClockState, tuple[Cycle, ...]]:
    if state.segment is None:
        segment = Cycle(Kind.FRT, state.segments, state.segments, item.at, item.message_id)
        new = replace(state, segment=segment, wait=None, segments=state.segments + 1, pauses=())
        return new, (segment,)
    if open_wait(state) is not None:
        return state, ()  # already waiting: a follow-up starts nothing
    wait = Cycle(Kind.NRT, state.waits, state.segment.index, item.at, item.message_id)
    return replace(state, wait=wait, waits=state.waits + 1, pauses=()), (wait,)


def _respond(
    state: ClockState, item: TimelineItem, hours_for: HoursFor
) -> tuple[ClockState, tuple[Cycle, ...]]:
    current = open_wait(state)
    if current is None:
        return state, ()
    pauses = state.pauses
    if state.paused_at is not None:
        pauses = (*pauses, (state.paused_at, item.at))
    hours = hours_for(current)
    answered = replace(
        current,
        responded_at=item.at,
        response_message_id=item.message_id,
        responder_id=item.author_id,
        wall_seconds=(item.at - current.started_at).total_seconds(),
        business_seconds=business_seconds(hours, current.started_at, item.at, pauses),
    )
    if current.kind is Kind.FRT:
        return replace(state, segment=answered, pauses=()), (answered,)
    return replace(state, wait=answered, pauses=()), (answered,)


def _status(state: ClockState, item: TimelineItem) -> tuple[ClockState, tuple[Cycle, ...]]:
    if item.status in _PAUSED:
        if state.paused_at is None:
            state = replace(state, paused_at=item.at)
        return state, ()
    state = _resume(state, item.at)
    if item.status is not Status.RESOLVED or state.segment is None:
        return state, ()
    changed = [_close(state.segment, item.at, resolved=True)]
    if state.wait is not None and state.wait.is_waiting:
        changed.append(_close(state.wait, item.at, resolved=False))
    return replace(state, segment=None, wait=None, pauses=()), tuple(changed)


def _close(cycle: Cycle, at: datetime, *, resolved: bool) -> Cycle:
    ended = at if cycle.is_waiting else None
    return replace(cycle, ended_unanswered_at=ended, resolved_at=at if resolved else None)


def _resume(state: ClockState, at: datetime) -> ClockState:
    """A customer message or a move to a non-paused status ends a running pause."""
    if state.paused_at is None:
        return state
    pauses = state.pauses
    if open_wait(state) is not None:  # only pauses inside an open cycle can matter later
        pauses = (*pauses, (state.paused_at, at))
    return replace(state, paused_at=None, pauses=pauses)


# --- JSON -------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: Any) -> datetime | None:
    return None if value is None else _at(value)


def _at(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


_TIMES = ("started_at", "responded_at", "ended_unanswered_at", "resolved_at")


def _cycle_json(cycle: Cycle | None) -> dict[str, Any] | None:
    if cycle is None:
        return None
    data = {name: getattr(cycle, name) for name in Cycle.__dataclass_fields__}
    return {**data, "kind": cycle.kind.value, **{n: _iso(getattr(cycle, n)) for n in _TIMES}}


def _cycle_from(data: Mapping[str, Any] | None) -> Cycle | None:
    if data is None:
        return None
    times = {name: _time(data.get(name)) for name in _TIMES}
    return Cycle(**{**data, "kind": Kind(data["kind"]), **times})
