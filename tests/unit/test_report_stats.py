"""Report figures: percentiles by linear interpolation, groups with unanswered segments."""

from __future__ import annotations

import pytest

from server.reporting.stats import SegmentRow, group, percentile, summary


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.9, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.5),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 0.9, 46.0),
        ([0.0, 100.0], 0.9, 90.0),
    ],
)
def test_percentile(values: list[float], q: float, expected: float | None) -> None:
    assert percentile(values, q) == expected


def test_summary_ignores_unanswered() -> None:
    assert summary([60.0, None, 120.0]) == {"median": 90.0, "p90": 114.0, "mean": 90.0}


def _seg(inbox: int, responder: int | None, wall: float | None) -> SegmentRow:
    return SegmentRow(
        1,
        inbox,
        "email",
        responder,
        None,
        "2026-01-01T00:00:00Z",
        None if wall is None else "2026-01-01T00:01:00Z",
        wall,
        wall,
    )


def test_group_counts_answered_and_labels() -> None:
    rows = [_seg(1, 5, 60.0), _seg(1, 5, 180.0), _seg(2, None, None)]
    groups = group(rows, "inbox", {1: "Support"})
    assert [(g["key"], g["label"], g["count"], g["answered"], g["median"]) for g in groups] == [
        (1, "Support", 2, 2, 120.0),
        (2, "2", 1, 0, None),
    ]
    assert groups[0]["business_mean"] == 120.0
