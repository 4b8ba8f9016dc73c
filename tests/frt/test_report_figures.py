"""Report figures are seconds to 0.1 s: interpolation noise never reaches a reader."""

from __future__ import annotations

from server.reporting.stats import summary


def test_percentiles_and_means_carry_no_float_noise() -> None:
    # p90 of four segments interpolates at rank 2.7: 60 + (86399 - 60) * 0.7 is
    # 60497.30000000002 in floats; the mean of 0.1, 0.2, 0.3 is 0.19999999999999998.
    assert summary([60.0, 60.0, 60.0, 86399.0]) == {
        "median": 60.0,
        "p90": 60497.3,
        "mean": 21644.8,
    }
    assert summary([0.1, 0.2, 0.3])["mean"] == 0.2
    assert summary([None]) == {"median": None, "p90": None, "mean": None}
