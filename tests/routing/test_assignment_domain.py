"""The auto-assignment decision (server/domain/assignment.py), table-driven, plain calls."""

from __future__ import annotations

import pytest

from server.domain.assignment import Candidate, Policy, choose, has_room, plan

RR, LL, OFF = Policy.ROUND_ROBIN, Policy.LEAST_LOADED, Policy.OFF


def c(user_id: int, online: bool = True, **kw: int | None) -> Candidate:
    return Candidate(user_id, online, **kw)  # type: ignore[arg-type]


ROOM = [
    ("online, no limits", c(1), True),
    ("offline", c(1, online=False), False),
    ("below global", c(1, open_total=2, capacity=3), True),
    ("at global", c(1, open_total=3, capacity=3), False),
    ("zero capacity", c(1, capacity=0), False),
    ("below inbox, at nothing else", c(1, open_here=1, inbox_capacity=2), True),
    ("at inbox limit", c(1, open_here=2, inbox_capacity=2), False),
    ("inbox room but global full", c(1, open_total=5, capacity=5, inbox_capacity=9), False),
]


@pytest.mark.parametrize(("name", "candidate", "expected"), ROOM, ids=[r[0] for r in ROOM])
def test_has_room(name: str, candidate: Candidate, expected: bool) -> None:
    assert has_room(candidate) is expected


CHOOSE = [
    ("off assigns nobody", OFF, [c(1)], None, None),
    ("nobody online", RR, [c(1, False), c(2, False)], None, None),
    ("round robin starts at the lowest id", RR, [c(3), c(1), c(2)], None, 1),
    ("round robin continues after the last", RR, [c(1), c(2), c(3)], 1, 2),
    ("round robin wraps", RR, [c(1), c(2), c(3)], 3, 1),
    ("round robin skips offline", RR, [c(1), c(2, False), c(3)], 1, 3),
    ("round robin skips full", RR, [c(1), c(2, capacity=1, open_total=1), c(3)], 1, 3),
    ("last user gone: next higher id", RR, [c(1), c(5)], 3, 5),
    ("least loaded: fewest here", LL, [c(1, open_here=3), c(2, open_here=1)], None, 2),
    (
        "least loaded: tie here, fewer in total",
        LL,
        [c(1, open_here=1, open_total=4), c(2, open_here=1, open_total=2)],
        None,
        2,
    ),
    ("least loaded: full tie goes round robin", LL, [c(1), c(2), c(3)], 2, 3),
    ("least loaded skips offline", LL, [c(1, False), c(2, open_here=9)], None, 2),
]


@pytest.mark.parametrize(
    ("name", "policy", "pool", "last", "expected"), CHOOSE, ids=[r[0] for r in CHOOSE]
)
def test_choose(
    name: str, policy: Policy, pool: list[Candidate], last: int | None, expected: int | None
) -> None:
    assert choose(policy, pool, last) == expected


def test_round_robin_is_fair_over_many_conversations() -> None:
    pairs = plan(RR, [c(1), c(2), c(3)], list(range(100, 130)))
    counts = {u: sum(1 for _c, x in pairs if x == u) for u in (1, 2, 3)}
    assert counts == {1: 10, 2: 10, 3: 10}
    assert [u for _c, u in pairs[:6]] == [1, 2, 3, 1, 2, 3]


def test_least_loaded_evens_out_an_uneven_start() -> None:
    pool = [c(1, open_here=4, open_total=4), c(2), c(3, open_here=1, open_total=1)]
    pairs = plan(LL, pool, list(range(10, 15)))
    assert [u for _c, u in pairs] == [2, 3, 2, 3, 2]  # ties rotate; loads end at 4 / 3 / 3


def test_plan_stops_at_capacity_and_serves_oldest_first() -> None:
    pool = [c(1, capacity=2, open_total=1), c(2, capacity=1), c(3, online=False)]
    pairs = plan(RR, pool, [7, 8, 9, 10])
    assert pairs == [(7, 1), (8, 2)]  # 9 and 10 stay queued, in order


def test_plan_respects_per_inbox_capacity() -> None:
    pool = [c(1, inbox_capacity=1), c(2, inbox_capacity=2, open_here=1)]
    assert plan(LL, pool, [1, 2, 3]) == [(1, 1), (2, 2)]


def test_plan_with_nobody_online_assigns_nothing() -> None:
    assert plan(RR, [c(1, False)], [1, 2]) == []
