"""The first-response clock. Expected numbers are worked out by hand and written as literals.

Calendar facts (2026): Jan 5 is a Monday, Dec 25 a Friday (a holiday in BERLIN). Berlin is
UTC+1 in winter, UTC+2 from Sun Mar 29 to Sun Oct 25; New York is UTC-5, UTC-4 from Sun Mar 8
to Sun Nov 1. So Berlin's 09:00-17:00 is 08:00Z-16:00Z in winter and 07:00Z-15:00Z in summer.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta, timezone

import pytest

from server.domain.calendar import BusinessHours
from server.domain.frt import (
    ItemKind,
    Segment,
    TimelineItem,
    compute_segments,
    paused_intervals,
    sla_deadline,
    waiting_since,
)
from server.domain.status import Status

NINE_TO_FIVE = ((time(9), time(17)),)
BERLIN = BusinessHours(
    "Europe/Berlin", dict.fromkeys(range(5), NINE_TO_FIVE), frozenset({date(2026, 12, 25)})
)
SPLIT = BusinessHours(
    "Europe/Berlin", dict.fromkeys(range(5), ((time(9), time(12)), (time(13), time(17))))
)
NEW_YORK = BusinessHours("America/New_York", dict.fromkeys(range(5), NINE_TO_FIVE))
ALWAYS = BusinessHours.always()
NEVER = BusinessHours("UTC", {})


def z(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- timeline builders ----------------------------------------------------------------------------


def customer(at: str, message_id: str) -> TimelineItem:
    return TimelineItem(z(at), ItemKind.CUSTOMER_MESSAGE, message_id, author_id="customer")


def reply(at: str, message_id: str, author: str = "alice") -> TimelineItem:
    """A public reply by a human agent that was sent: the only thing that stops the clock."""
    return TimelineItem(z(at), ItemKind.AGENT_REPLY, message_id, author, counts_as_response=True)


def outbound(at: str, message_id: str, author: str) -> TimelineItem:
    """A note, auto-reply, bot message or failed send: recorded, never a response."""
    return TimelineItem(z(at), ItemKind.AGENT_REPLY, message_id, author)


def moved(at: str, status: Status) -> TimelineItem:
    return TimelineItem(z(at), ItemKind.STATUS, status=status)


# --- expected segments ----------------------------------------------------------------------------


def answered(
    index: int, start: tuple[str, str], response: tuple[str, str, str], wall: int, business: int
) -> Segment:
    return Segment(
        index=index,
        started_at=z(start[0]),
        start_message_id=start[1],
        responded_at=z(response[0]),
        response_message_id=response[1],
        responder_id=response[2],
        wall_seconds=wall,
        business_seconds=business,
        ended_unanswered_at=None,
    )


def unanswered(index: int, start: tuple[str, str], ended_at: str | None) -> Segment:
    """ended_at None: still waiting."""
    return Segment(
        index=index,
        started_at=z(start[0]),
        start_message_id=start[1],
        responded_at=None,
        response_message_id=None,
        responder_id=None,
        wall_seconds=None,
        business_seconds=None,
        ended_unanswered_at=None if ended_at is None else z(ended_at),
    )


MON = "2026-01-05"
TUE = "2026-01-06"

CASES = [
    pytest.param(
        BERLIN,
        [customer(f"{MON}T09:00Z", "c1"), reply(f"{MON}T09:30Z", "r1")],
        [answered(0, (f"{MON}T09:00Z", "c1"), (f"{MON}T09:30Z", "r1", "alice"), 1800, 1800)],
        id="answered within hours",
    ),
    pytest.param(
        BERLIN,
        [customer(f"{MON}T17:00Z", "c1"), reply(f"{MON}T19:00Z", "r1")],
        [answered(0, (f"{MON}T17:00Z", "c1"), (f"{MON}T19:00Z", "r1", "alice"), 7200, 0)],
        id="reply outside business hours",
    ),
    pytest.param(
        BERLIN,
        [customer("2026-01-09T15:00Z", "c1"), reply("2026-01-12T09:00Z", "r1")],
        [
            answered(
                0, ("2026-01-09T15:00Z", "c1"), ("2026-01-12T09:00Z", "r1", "alice"), 237600, 7200
            )
        ],
        id="over a weekend",
    ),
    pytest.param(
        BERLIN,
        [customer("2026-12-24T15:00Z", "c1"), reply("2026-12-28T09:00Z", "r1")],
        [
            answered(
                0, ("2026-12-24T15:00Z", "c1"), ("2026-12-28T09:00Z", "r1", "alice"), 324000, 7200
            )
        ],
        id="over a holiday and a weekend",
    ),
    pytest.param(
        SPLIT,
        [customer(f"{MON}T10:00Z", "c1"), reply(f"{MON}T13:00Z", "r1")],
        [answered(0, (f"{MON}T10:00Z", "c1"), (f"{MON}T13:00Z", "r1", "alice"), 10800, 7200)],
        id="lunch break between two intervals",
    ),
    pytest.param(
        BERLIN,
        [customer("2026-03-27T15:00Z", "c1"), reply("2026-03-30T08:00Z", "r1")],
        [
            answered(
                0, ("2026-03-27T15:00Z", "c1"), ("2026-03-30T08:00Z", "r1", "alice"), 234000, 7200
            )
        ],
        id="Berlin spring forward",
    ),
    pytest.param(
        BERLIN,
        [customer("2026-10-23T14:00Z", "c1"), reply("2026-10-26T09:00Z", "r1")],
        [
            answered(
                0, ("2026-10-23T14:00Z", "c1"), ("2026-10-26T09:00Z", "r1", "alice"), 241200, 7200
            )
        ],
        id="Berlin fall back",
    ),
    pytest.param(
        NEW_YORK,
        [customer("2026-03-06T21:00Z", "c1"), reply("2026-03-09T14:00Z", "r1")],
        [
            answered(
                0, ("2026-03-06T21:00Z", "c1"), ("2026-03-09T14:00Z", "r1", "alice"), 234000, 7200
            )
        ],
        id="New York spring forward",
    ),
    pytest.param(
        NEW_YORK,
        [customer("2026-10-30T20:00Z", "c1"), reply("2026-11-02T15:00Z", "r1")],
        [
            answered(
                0, ("2026-10-30T20:00Z", "c1"), ("2026-11-02T15:00Z", "r1", "alice"), 241200, 7200
            )
        ],
        id="New York fall back",
    ),
    pytest.param(
        ALWAYS,
        [customer("2026-01-10T12:00Z", "c1"), reply("2026-01-11T12:30Z", "r1")],
        [
            answered(
                0, ("2026-01-10T12:00Z", "c1"), ("2026-01-11T12:30Z", "r1", "alice"), 88200, 88200
            )
        ],
        id="24/7 calendar counts the weekend",
    ),
    pytest.param(
        BERLIN,
        [
            customer(f"{MON}T09:00Z", "c1"),
            outbound(f"{MON}T09:00:01Z", "auto", "auto-reply"),
            outbound(f"{MON}T09:10Z", "note", "alice"),
            outbound(f"{MON}T09:20Z", "bot", "bot"),
            outbound(f"{MON}T09:30Z", "failed", "alice"),
            reply(f"{MON}T10:00Z", "r1", "bob"),
        ],
        [answered(0, (f"{MON}T09:00Z", "c1"), (f"{MON}T10:00Z", "r1", "bob"), 3600, 3600)],
        id="notes, auto-replies, bots and failed sends do not stop the clock",
    ),
    pytest.param(
        BERLIN,
        [
            customer(f"{MON}T09:00Z", "c1"),
            customer(f"{MON}T09:05Z", "c2"),
            reply(f"{MON}T09:30Z", "r1"),
            customer(f"{MON}T09:45Z", "c3"),
            reply(f"{MON}T09:50Z", "r2", "bob"),
            moved(f"{MON}T10:00Z", Status.RESOLVED),
            customer(f"{TUE}T09:00Z", "c4"),
            reply(f"{TUE}T11:00Z", "r3", "bob"),
        ],
        [
            answered(0, (f"{MON}T09:00Z", "c1"), (f"{MON}T09:30Z", "r1", "alice"), 1800, 1800),
            answered(1, (f"{TUE}T09:00Z", "c4"), (f"{TUE}T11:00Z", "r3", "bob"), 7200, 7200),
        ],
        id="follow-ups do not restart the clock, a message after resolve does",
    ),
    pytest.param(
        BERLIN,
        [
            customer(f"{MON}T09:00Z", "c1"),
            outbound(f"{MON}T09:10Z", "note", "alice"),
            moved(f"{MON}T10:00Z", Status.RESOLVED),
            customer(f"{MON}T12:00Z", "c2"),
        ],
        [
            unanswered(0, (f"{MON}T09:00Z", "c1"), ended_at=f"{MON}T10:00Z"),
            unanswered(1, (f"{MON}T12:00Z", "c2"), ended_at=None),
        ],
        id="resolved unanswered, then waiting again",
    ),
    pytest.param(
        BERLIN,
        [
            customer(f"{MON}T09:00Z", "c1"),
            moved(f"{MON}T09:30Z", Status.PENDING),
            customer(f"{MON}T11:00Z", "c2"),  # reopens: the pause ends, no new segment
            reply(f"{MON}T12:00Z", "r1"),
        ],
        [answered(0, (f"{MON}T09:00Z", "c1"), (f"{MON}T12:00Z", "r1", "alice"), 10800, 5400)],
        id="pending is paused until the customer writes",
    ),
    pytest.param(
        BERLIN,
        [
            customer(f"{MON}T09:00Z", "c1"),
            moved(f"{MON}T10:00Z", Status.PENDING),
            moved(f"{MON}T11:00Z", Status.SNOOZED),
            moved(f"{MON}T12:00Z", Status.OPEN),
            reply(f"{MON}T13:00Z", "r1"),
        ],
        [answered(0, (f"{MON}T09:00Z", "c1"), (f"{MON}T13:00Z", "r1", "alice"), 14400, 7200)],
        id="pending then snoozed is one pause until reopened",
    ),
    pytest.param(
        BERLIN,
        [
            customer(f"{MON}T09:00Z", "c1"),
            moved(f"{MON}T10:00Z", Status.SNOOZED),
            reply(f"{MON}T11:00Z", "r1"),
        ],
        [answered(0, (f"{MON}T09:00Z", "c1"), (f"{MON}T11:00Z", "r1", "alice"), 7200, 3600)],
        id="reply while still snoozed",
    ),
    pytest.param(
        BERLIN,
        [
            customer(f"{MON}T09:00Z", "c1"),
            moved(f"{MON}T09:30Z", Status.PENDING),
            moved(f"{MON}T10:00Z", Status.RESOLVED),
            customer(f"{MON}T11:00Z", "c2"),
            reply(f"{MON}T11:30Z", "r1"),
        ],
        [
            unanswered(0, (f"{MON}T09:00Z", "c1"), ended_at=f"{MON}T10:00Z"),
            answered(1, (f"{MON}T11:00Z", "c2"), (f"{MON}T11:30Z", "r1", "alice"), 1800, 1800),
        ],
        id="resolve ends a pause and the segment",
    ),
    pytest.param(
        BERLIN,
        [
            reply(f"{MON}T08:00Z", "r0"),  # agent-initiated conversation: nobody waits yet
            moved(f"{MON}T08:10Z", Status.RESOLVED),
            customer(f"{MON}T09:00Z", "c1"),
            reply(f"{MON}T09:30Z", "r1", "bob"),
        ],
        [answered(0, (f"{MON}T09:00Z", "c1"), (f"{MON}T09:30Z", "r1", "bob"), 1800, 1800)],
        id="items before the first customer message are ignored",
    ),
    pytest.param(
        BERLIN,
        [customer(f"{MON}T09:00Z", "c1"), reply(f"{MON}T09:00Z", "r1")],
        [answered(0, (f"{MON}T09:00Z", "c1"), (f"{MON}T09:00Z", "r1", "alice"), 0, 0)],
        id="same instant, reply listed after the message",
    ),
    pytest.param(
        BERLIN,
        [reply(f"{MON}T09:00Z", "r1"), customer(f"{MON}T09:00Z", "c1")],
        [unanswered(0, (f"{MON}T09:00Z", "c1"), ended_at=None)],
        id="same instant, reply listed before the message",
    ),
    pytest.param(BERLIN, [], [], id="empty timeline"),
]


@pytest.mark.parametrize(("hours", "timeline", "expected"), CASES)
def test_compute_segments(
    hours: BusinessHours, timeline: list[TimelineItem], expected: list[Segment]
) -> None:
    assert compute_segments(timeline, hours) == expected


OUT_OF_ORDER = [
    customer(f"{MON}T09:00Z", "c1"),
    moved(f"{MON}T09:10Z", Status.PENDING),
    customer(f"{MON}T09:40Z", "c2"),
    reply(f"{MON}T10:00Z", "r1"),
    moved(f"{MON}T11:00Z", Status.RESOLVED),
    customer(f"{TUE}T08:00Z", "c3"),
    outbound(f"{TUE}T08:30Z", "note", "alice"),
    reply(f"{TUE}T09:00Z", "r2", "bob"),
]


def test_input_order_does_not_matter() -> None:
    expected = [
        answered(0, (f"{MON}T09:00Z", "c1"), (f"{MON}T10:00Z", "r1", "alice"), 3600, 1800),
        answered(1, (f"{TUE}T08:00Z", "c3"), (f"{TUE}T09:00Z", "r2", "bob"), 3600, 3600),
    ]
    # Every rotation and the reverse of the timeline, e.g. imports arriving late.
    orders = [OUT_OF_ORDER[n:] + OUT_OF_ORDER[:n] for n in range(len(OUT_OF_ORDER))]
    for timeline in [*orders, OUT_OF_ORDER[::-1]]:
        assert compute_segments(timeline, BERLIN) == expected


def test_is_waiting() -> None:
    done = answered(0, (f"{MON}T09:00Z", "c1"), (f"{MON}T09:30Z", "r1", "alice"), 1800, 1800)
    assert unanswered(0, (f"{MON}T09:00Z", "c1"), None).is_waiting
    assert not done.is_waiting
    assert not unanswered(0, (f"{MON}T09:00Z", "c1"), f"{MON}T10:00Z").is_waiting


# --- waiting_since --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeline", "expected"),
    [
        pytest.param([], None, id="empty"),
        pytest.param(
            [customer(f"{MON}T09:00Z", "c1"), customer(f"{MON}T09:10Z", "c2")],
            f"{MON}T09:00Z",
            id="first unanswered message",
        ),
        pytest.param(
            [customer(f"{MON}T09:00Z", "c1"), reply(f"{MON}T09:30Z", "r1")], None, id="answered"
        ),
        pytest.param(
            [
                customer(f"{MON}T09:00Z", "c1"),
                reply(f"{MON}T09:30Z", "r1"),
                customer(f"{MON}T10:00Z", "c2"),
                customer(f"{MON}T10:05Z", "c3"),
            ],
            f"{MON}T10:00Z",
            id="follow-up after the response",
        ),
        pytest.param(
            [customer(f"{MON}T09:00Z", "c1"), moved(f"{MON}T10:00Z", Status.RESOLVED)],
            None,
            id="resolved",
        ),
        pytest.param(
            [customer(f"{MON}T09:00Z", "c1"), outbound(f"{MON}T09:10Z", "auto", "bot")],
            f"{MON}T09:00Z",
            id="an auto-reply is no answer",
        ),
        pytest.param(
            [customer(f"{MON}T09:00Z", "c1"), moved(f"{MON}T09:10Z", Status.SNOOZED)],
            f"{MON}T09:00Z",
            id="snoozing does not reset it",
        ),
        pytest.param(
            [customer(f"{MON}T10:00Z", "c2"), reply(f"{MON}T09:30Z", "r1")],
            f"{MON}T10:00Z",
            id="a reply before the message does not answer it",
        ),
    ],
)
def test_waiting_since(timeline: list[TimelineItem], expected: str | None) -> None:
    assert waiting_since(timeline) == (None if expected is None else z(expected))
    assert waiting_since(timeline[::-1]) == waiting_since(timeline)  # no ties in these cases


# --- sla_deadline and paused_intervals ------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "timeline", "target", "expected"),
    [
        pytest.param(
            BERLIN,
            [customer("2026-01-09T15:30Z", "c1")],
            3600,
            "2026-01-12T08:30Z",
            id="30 min on Friday, 30 min on Monday",
        ),
        pytest.param(
            BERLIN,
            [
                customer(f"{MON}T09:00Z", "c1"),
                moved(f"{MON}T09:15Z", Status.PENDING),
                customer(f"{MON}T09:45Z", "c2"),
            ],
            3600,
            f"{MON}T10:30Z",
            id="a finished pause moves the deadline",
        ),
        pytest.param(
            BERLIN,
            [
                customer(f"{MON}T09:00Z", "c1"),
                reply(f"{MON}T09:10Z", "r1"),
                moved(f"{MON}T09:20Z", Status.RESOLVED),
                customer(f"{MON}T14:00Z", "c2"),
            ],
            10800,
            f"{TUE}T09:00Z",
            id="second cycle: 2 h on Monday, 1 h on Tuesday",
        ),
        pytest.param(
            BERLIN, [customer(f"{MON}T09:00Z", "c1")], 0, f"{MON}T09:00Z", id="zero target"
        ),
        pytest.param(BERLIN, [], 3600, None, id="empty"),
        pytest.param(
            BERLIN,
            [customer(f"{MON}T09:00Z", "c1"), reply(f"{MON}T09:10Z", "r1")],
            3600,
            None,
            id="answered",
        ),
        pytest.param(
            BERLIN,
            [customer(f"{MON}T09:00Z", "c1"), moved(f"{MON}T09:10Z", Status.RESOLVED)],
            3600,
            None,
            id="resolved unanswered",
        ),
        pytest.param(
            BERLIN,
            [customer(f"{MON}T09:00Z", "c1"), moved(f"{MON}T09:10Z", Status.SNOOZED)],
            3600,
            None,
            id="snoozed now: the clock is stopped",
        ),
        pytest.param(NEVER, [customer(f"{MON}T09:00Z", "c1")], 3600, None, id="never open"),
    ],
)
def test_sla_deadline(
    hours: BusinessHours, timeline: list[TimelineItem], target: float, expected: str | None
) -> None:
    assert sla_deadline(timeline, target, hours) == (None if expected is None else z(expected))


def test_paused_intervals_cut_a_running_pause_at_until() -> None:
    timeline = [
        customer(f"{MON}T09:00Z", "c1"),
        moved(f"{MON}T09:30Z", Status.PENDING),
        customer(f"{MON}T10:00Z", "c2"),
        moved(f"{MON}T11:00Z", Status.SNOOZED),
    ]
    assert paused_intervals(timeline, z(f"{MON}T12:00Z")) == [
        (z(f"{MON}T09:30Z"), z(f"{MON}T10:00Z")),
        (z(f"{MON}T11:00Z"), z(f"{MON}T12:00Z")),
    ]


# --- TimelineItem validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"kind": ItemKind.CUSTOMER_MESSAGE, "counts_as_response": True},
            "counts_as_response: expected an agent_reply, got customer_message",
        ),
        ({"kind": ItemKind.STATUS}, "status: set it exactly on status items, got None"),
        (
            {"kind": ItemKind.AGENT_REPLY, "status": Status.OPEN},
            "status: set it exactly on status items, got <Status.OPEN: 'open'>",
        ),
    ],
)
def test_timeline_item_rejects_nonsense(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        TimelineItem(z(f"{MON}T09:00Z"), **kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_timeline_item_needs_an_aware_time_and_normalises_it_to_utc() -> None:
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        TimelineItem(datetime(2026, 1, 5, 9), ItemKind.CUSTOMER_MESSAGE)
    berlin_ten = datetime(2026, 1, 5, 10, tzinfo=timezone(timedelta(hours=1)))
    item = TimelineItem(berlin_ten, ItemKind.CUSTOMER_MESSAGE)
    assert item.at == z(f"{MON}T09:00Z")
    assert item.at.utcoffset() == timedelta(0)


def test_every_permutation_of_a_small_timeline_agrees() -> None:
    timeline = [
        customer(f"{MON}T09:00Z", "c1"),
        moved(f"{MON}T09:20Z", Status.SNOOZED),
        moved(f"{MON}T09:40Z", Status.OPEN),
        reply(f"{MON}T10:00Z", "r1"),
    ]
    expected = [answered(0, (f"{MON}T09:00Z", "c1"), (f"{MON}T10:00Z", "r1", "alice"), 3600, 2400)]
    for permutation in itertools.permutations(timeline):
        assert compute_segments(permutation, BERLIN) == expected
