"""The incremental clock (server/domain/waits.py): NRT waits, hand-computed, and FRT agreeing
with the whole-timeline definition on every case of tests/unit/test_frt.py.

Calendar facts (2026): Jan 5 is a Monday. Berlin and Warsaw are UTC+1 in winter and UTC+2
from Sun Mar 29 (02:00 -> 03:00) to Sun Oct 25 (03:00 -> 02:00). Berlin's 09:00-17:00 is
08:00Z-16:00Z in winter; Warsaw's Sunday 00:00-24:00 is 23 h long on Mar 29, 25 h on Oct 25.
"""

from __future__ import annotations

from datetime import datetime, time

import pytest

from server.domain.calendar import BusinessHours
from server.domain.frt import TimelineItem, compute_segments
from server.domain.status import Status
from server.domain.waits import (
    ClockState,
    Cycle,
    Kind,
    deadline,
    fixed,
    open_wait,
    replay,
    step,
)
from tests.unit.test_frt import (
    BERLIN,
    CASES,
    MON,
    TUE,
    customer,
    moved,
    outbound,
    reply,
    z,
)

WARSAW_SUNDAYS = BusinessHours("Europe/Warsaw", {6: ((time(0), time(0)),)})
WARSAW = BusinessHours("Europe/Warsaw", dict.fromkeys(range(5), ((time(9), time(17)),)))


def wait(
    index: int,
    segment: int,
    start: tuple[str, str],
    response: tuple[str, str, str] | None,
    wall: int | None = None,
    business: int | None = None,
    ended: str | None = None,
) -> Cycle:
    return Cycle(
        Kind.NRT,
        index,
        segment,
        z(start[0]),
        start[1],
        responded_at=None if response is None else z(response[0]),
        response_message_id=None if response is None else response[1],
        responder_id=None if response is None else response[2],
        wall_seconds=wall,
        business_seconds=business,
        ended_unanswered_at=None if ended is None else z(ended),
    )


NRT_CASES = [
    pytest.param(
        BERLIN,
        [
            customer(f"{MON}T09:00Z", "c1"),
            reply(f"{MON}T09:30Z", "r1"),
            customer(f"{MON}T10:00Z", "c2"),
            customer(f"{MON}T10:05Z", "c3"),  # already waiting: no second wait
            reply(f"{MON}T10:45Z", "r2", "bob"),
        ],
        [wait(0, 0, (f"{MON}T10:00Z", "c2"), (f"{MON}T10:45Z", "r2", "bob"), 2700, 2700)],
        id="a follow-up after a reply waits for the next reply",
    ),
    pytest.param(
        BERLIN,
        [
            customer(f"{MON}T09:00Z", "c1"),
            customer(f"{MON}T09:05Z", "c2"),  # the first response is still awaited: no NRT
            reply(f"{MON}T09:10Z", "r1"),
            customer(f"{MON}T09:20Z", "c3"),
            outbound(f"{MON}T09:25Z", "note", "alice"),
            outbound(f"{MON}T09:30Z", "bot", "bot"),
            outbound(f"{MON}T09:31Z", "auto", "auto-reply"),
            outbound(f"{MON}T09:35Z", "failed", "alice"),
            reply(f"{MON}T10:00Z", "r2", "bob"),
        ],
        [wait(0, 0, (f"{MON}T09:20Z", "c3"), (f"{MON}T10:00Z", "r2", "bob"), 2400, 2400)],
        id="notes, bots, auto-replies and failed sends between do not end a wait",
    ),
    pytest.param(
        BERLIN,
        [
            customer(f"{MON}T15:00Z", "c1"),
            reply(f"{MON}T15:30Z", "r1"),
            customer(f"{MON}T15:50Z", "c2"),  # 16:50 in Berlin: 10 min left today
            reply(f"{TUE}T08:10Z", "r2"),  # 09:10 Tuesday: 10 min into the day
        ],
        [wait(0, 0, (f"{MON}T15:50Z", "c2"), (f"{TUE}T08:10Z", "r2", "alice"), 58800, 1200)],
        id="out of hours overnight",
    ),
    pytest.param(
        WARSAW_SUNDAYS,
        [
            customer("2026-03-28T20:00Z", "c1"),
            reply("2026-03-28T20:10Z", "r1"),
            customer("2026-03-28T23:00Z", "c2"),  # Sunday 00:00 in Warsaw (CET)
            reply("2026-03-29T22:00Z", "r2"),  # Monday 00:00 in Warsaw (CEST): 23 h later
        ],
        [
            wait(
                0,
                0,
                ("2026-03-28T23:00Z", "c2"),
                ("2026-03-29T22:00Z", "r2", "alice"),
                82800,
                82800,
            )
        ],
        id="Warsaw spring forward: the open Sunday is 23 h",
    ),
    pytest.param(
        WARSAW_SUNDAYS,
        [
            customer("2026-10-24T21:00Z", "c1"),
            reply("2026-10-24T21:10Z", "r1"),
            customer("2026-10-24T22:00Z", "c2"),  # Sunday 00:00 in Warsaw (CEST)
            reply("2026-10-25T23:00Z", "r2"),  # Monday 00:00 in Warsaw (CET): 25 h later
        ],
        [
            wait(
                0,
                0,
                ("2026-10-24T22:00Z", "c2"),
                ("2026-10-25T23:00Z", "r2", "alice"),
                90000,
                90000,
            )
        ],
        id="Warsaw fall back: the open Sunday is 25 h",
    ),
    pytest.param(
        WARSAW,
        [
            customer("2026-03-27T15:00Z", "c1"),
            reply("2026-03-27T15:10Z", "r1"),
            customer("2026-03-27T15:30Z", "c2"),  # Friday 16:30 CET: 30 min left
            reply("2026-03-30T07:30Z", "r2"),  # Monday 09:30 CEST: 30 min into the day
        ],
        [
            wait(
                0,
                0,
                ("2026-03-27T15:30Z", "c2"),
                ("2026-03-30T07:30Z", "r2", "alice"),
                230400,
                3600,
            )
        ],
        id="Warsaw weekend across the spring-forward night",
    ),
    pytest.param(
        BERLIN,
        [
            customer(f"{MON}T09:00Z", "c1"),
            reply(f"{MON}T09:10Z", "r1"),
            customer(f"{MON}T09:20Z", "c2"),
            moved(f"{MON}T09:30Z", Status.RESOLVED),  # ends the wait unanswered
            customer(f"{MON}T10:00Z", "c3"),  # reopens: a new segment, not a wait
            reply(f"{MON}T10:20Z", "r2"),
            customer(f"{MON}T10:30Z", "c4"),
            reply(f"{MON}T11:00Z", "r3", "bob"),
        ],
        [
            wait(0, 0, (f"{MON}T09:20Z", "c2"), None, ended=f"{MON}T09:30Z"),
            wait(1, 1, (f"{MON}T10:30Z", "c4"), (f"{MON}T11:00Z", "r3", "bob"), 1800, 1800),
        ],
        id="resolve ends a wait, reopen starts a segment then waits again",
    ),
    pytest.param(
        BERLIN,
        [
            customer(f"{MON}T09:00Z", "c1"),
            reply(f"{MON}T09:10Z", "r1"),
            customer(f"{MON}T09:20Z", "c2"),
            moved(f"{MON}T09:30Z", Status.PENDING),
            moved(f"{MON}T10:00Z", Status.OPEN),
            moved(f"{MON}T10:05Z", Status.SNOOZED),
            reply(f"{MON}T10:20Z", "r2"),  # still snoozed: 09:20-09:30 + 10:00-10:05 count
        ],
        [wait(0, 0, (f"{MON}T09:20Z", "c2"), (f"{MON}T10:20Z", "r2", "alice"), 3600, 900)],
        id="pending and snoozed pause a wait",
    ),
    pytest.param(
        BERLIN,
        [
            customer(f"{MON}T09:00Z", "c1"),
            reply(f"{MON}T09:10Z", "r1"),
            moved(f"{MON}T09:15Z", Status.PENDING),  # waiting on the customer
            customer(f"{MON}T10:00Z", "c2"),  # ends the pause and starts a wait
            reply(f"{MON}T10:30Z", "r2"),
        ],
        [wait(0, 0, (f"{MON}T10:00Z", "c2"), (f"{MON}T10:30Z", "r2", "alice"), 1800, 1800)],
        id="the customer answering a pending conversation",
    ),
    pytest.param(
        BERLIN,
        [
            reply(f"{MON}T08:00Z", "r0"),  # agent-started: the opening message answers nothing
            customer(f"{MON}T09:00Z", "c1"),  # starts the first segment, not a wait
            reply(f"{MON}T09:30Z", "r1"),
            customer(f"{MON}T09:40Z", "c2"),
            reply(f"{MON}T10:00Z", "r2"),
        ],
        [wait(0, 0, (f"{MON}T09:40Z", "c2"), (f"{MON}T10:00Z", "r2", "alice"), 1200, 1200)],
        id="agent-started conversation",
    ),
    pytest.param(
        BERLIN,
        [
            customer(f"{MON}T09:00Z", "c1"),
            reply(f"{MON}T09:10Z", "r1"),
            reply(f"{MON}T09:12Z", "r2"),  # a second reply answers nothing
            customer(f"{MON}T09:20Z", "c2"),
        ],
        [wait(0, 0, (f"{MON}T09:20Z", "c2"), None)],
        id="still waiting",
    ),
]


def _kind(cycles: list[Cycle], kind: Kind) -> list[Cycle]:
    return [c for c in cycles if c.kind is kind]


@pytest.mark.parametrize(("hours", "timeline", "expected"), NRT_CASES)
def test_next_response_waits(
    hours: BusinessHours, timeline: list[TimelineItem], expected: list[Cycle]
) -> None:
    assert _kind(replay(timeline, fixed(hours))[1], Kind.NRT) == expected


@pytest.mark.parametrize(("hours", "timeline", "expected"), [*CASES, *NRT_CASES])
def test_frt_segments_agree_with_the_whole_timeline_definition(
    hours: BusinessHours, timeline: list[TimelineItem], expected: object
) -> None:
    segments = compute_segments(timeline, hours)
    cycles = _kind(replay(timeline, fixed(hours))[1], Kind.FRT)
    fields = ("index", "started_at", "start_message_id", "responded_at", "response_message_id")
    more = ("responder_id", "wall_seconds", "business_seconds", "ended_unanswered_at")
    assert [tuple(getattr(c, f) for f in fields + more) for c in cycles] == [
        tuple(getattr(s, f) for f in fields + more) for s in segments
    ]


@pytest.mark.parametrize(("hours", "timeline", "expected"), [*CASES, *NRT_CASES])
def test_one_item_at_a_time_through_json_equals_a_replay(
    hours: BusinessHours, timeline: list[TimelineItem], expected: object
) -> None:
    """The live path: fold each item onto the stored (JSON) state of the previous one."""
    state, cycles = ClockState(), {}
    for item in sorted(timeline, key=lambda i: i.at):
        state, changed = step(ClockState.from_json(state.to_json()), item, fixed(hours))
        cycles.update({(c.kind, c.index): c for c in changed})
    full_state, full = replay(timeline, fixed(hours))
    assert list(cycles.values()) == full
    assert state == full_state


def test_a_back_dated_item_is_refused() -> None:
    state, _ = step(ClockState(), customer(f"{MON}T10:00Z", "c1"), fixed(BERLIN))
    with pytest.raises(ValueError, match="is before"):
        step(state, customer(f"{MON}T09:00Z", "c0"), fixed(BERLIN))


def test_a_closed_cycle_keeps_its_own_calendar() -> None:
    timeline = [
        customer(f"{MON}T15:00Z", "c1"),
        reply(f"{MON}T17:00Z", "r1"),  # 1 h inside Berlin hours, 2 h on a 24/7 calendar
        customer(f"{MON}T17:10Z", "c2"),
        reply(f"{MON}T17:40Z", "r2"),
    ]
    chosen = {(Kind.FRT, 0): BERLIN}
    _, cycles = replay(timeline, lambda c: chosen.get((c.kind, c.index), BusinessHours.always()))
    assert [(c.kind, c.business_seconds) for c in cycles] == [(Kind.FRT, 3600), (Kind.NRT, 1800)]


@pytest.mark.parametrize(
    ("timeline", "kind", "seconds", "expected"),
    [
        pytest.param(
            [customer("2026-01-09T15:30Z", "c1")],
            Kind.FRT,
            3600,
            "2026-01-12T08:30Z",
            id="FRT: 30 min on Friday, 30 min on Monday",
        ),
        pytest.param(
            [customer(f"{MON}T09:00Z", "c1")], Kind.NRT, 3600, None, id="no NRT while FRT waits"
        ),
        pytest.param(
            [
                customer(f"{MON}T09:00Z", "c1"),
                reply(f"{MON}T09:10Z", "r1"),
                customer(f"{MON}T15:30Z", "c2"),
                moved(f"{MON}T15:40Z", Status.PENDING),
                moved(f"{MON}T15:50Z", Status.OPEN),
            ],
            Kind.NRT,
            3600,
            f"{TUE}T08:40Z",
            id="NRT: 20 min Monday, the 10 min pause skipped, 40 min Tuesday",
        ),
        pytest.param(
            [
                customer(f"{MON}T09:00Z", "c1"),
                reply(f"{MON}T09:10Z", "r1"),
                customer(f"{MON}T09:20Z", "c2"),
                moved(f"{MON}T09:30Z", Status.SNOOZED),
            ],
            Kind.NRT,
            3600,
            None,
            id="NRT: snoozed now, the clock is stopped",
        ),
        pytest.param(
            [customer(f"{MON}T09:00Z", "c1"), reply(f"{MON}T09:10Z", "r1")],
            Kind.FRT,
            3600,
            None,
            id="answered: nothing is due",
        ),
    ],
)
def test_deadline(
    timeline: list[TimelineItem], kind: Kind, seconds: float, expected: str | None
) -> None:
    state, _ = replay(timeline, fixed(BERLIN))
    assert deadline(state, kind, seconds, BERLIN) == (None if expected is None else z(expected))


def test_open_wait_names_the_cycle_a_customer_waits_on() -> None:
    state, _ = replay([customer(f"{MON}T09:00Z", "c1")], fixed(BERLIN))
    assert open_wait(state) == Cycle(Kind.FRT, 0, 0, z(f"{MON}T09:00Z"), "c1")
    state, _ = step(state, reply(f"{MON}T09:10Z", "r1"), fixed(BERLIN))
    assert open_wait(state) is None
    state, _ = step(state, customer(f"{MON}T09:20Z", "c2"), fixed(BERLIN))
    assert open_wait(state) == Cycle(Kind.NRT, 0, 0, z(f"{MON}T09:20Z"), "c2")


def test_state_json_round_trips() -> None:
    state, _ = replay(
        [
            customer(f"{MON}T09:00Z", "c1"),
            reply(f"{MON}T09:10Z", "r1"),
            customer(f"{MON}T09:20Z", "c2"),
            moved(f"{MON}T09:30Z", Status.PENDING),
            moved(f"{MON}T09:40Z", Status.OPEN),
            moved(f"{MON}T09:45Z", Status.SNOOZED),
        ],
        fixed(BERLIN),
    )
    assert state.pauses and state.paused_at is not None
    assert ClockState.from_json(state.to_json()) == state
    assert isinstance(state.to_json()["last_at"], str)
    assert datetime.fromisoformat(state.to_json()["last_at"]) == z(f"{MON}T09:45Z")
