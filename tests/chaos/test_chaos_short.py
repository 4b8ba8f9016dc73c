"""The short chaos run: two cycles of every fault under load, every promise kept.

Real processes throughout (tests/chaos/harness.py): two nodes, PostgreSQL, Redis, a
webhook receiver. The long run (hundreds of faults) is ``bench/chaos.py`` and its
figures are in bench/README.md.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.chaos import harness

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


async def test_two_cycles_of_every_fault_lose_nothing_and_recover(tmp_path: Path) -> None:
    rows = await harness.run(tmp_path, harness.FAULTS, cycles=2)
    print(harness.table(rows))
    for row in rows:
        broken = {k: row[k] for k in harness.MUST_BE_ZERO if row[k]}
        assert not broken, (row["fault"], broken, harness.table(rows))
        assert math.isfinite(row["recover_max_s"]), row
        assert row["acked"] > 0 and row["replies"] > 0, row
