"""utcnow(): the wall clock while it agrees with the shared (database) clock within a
second, the shared clock carried by the monotonic clock as soon as it does not
(server/storage/schema.py; README.md, "Operating it": clocks)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from server.storage import schema


@pytest.fixture
def restore_anchor() -> Iterator[None]:
    saved = schema._anchor
    yield
    schema.set_clock_anchor(saved)


def test_a_wall_clock_an_hour_off_gives_way_to_the_shared_clock(restore_anchor: None) -> None:
    shared = datetime.now(UTC) - timedelta(hours=1)  # this wall clock is an hour ahead
    schema.set_clock_anchor((time.monotonic(), shared))
    now = schema.utcnow()
    assert abs(now - shared) < timedelta(seconds=1)


def test_a_wall_clock_within_the_tolerance_is_used_as_it_is(restore_anchor: None) -> None:
    schema.set_clock_anchor((time.monotonic(), datetime.now(UTC) + timedelta(milliseconds=300)))
    before = datetime.now(UTC)
    now = schema.utcnow()
    assert before <= now <= datetime.now(UTC)  # the wall clock, not 300 ms ahead


def test_no_reading_yet_is_the_wall_clock(restore_anchor: None) -> None:
    schema.set_clock_anchor(None)
    before = datetime.now(UTC)
    assert before <= schema.utcnow() <= datetime.now(UTC)
