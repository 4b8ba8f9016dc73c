"""The short chaos run: a cycle or two of every fault under load, every promise kept.

Real processes throughout (tests/chaos/harness.py): two nodes, PostgreSQL, Redis,
Dovecot, an SMTP server, a webhook receiver; for the full disk one SQLite node on a small
tmpfs. The long run (hundreds of faults) is ``bench/chaos.py`` and its figures are in
bench/README.md.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.chaos import harness

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


#: Two cycles of each fault, one of a clock jump and of a full disk: the three faults
#: added last take under a minute together.
CYCLES = {fault: 2 for fault in harness.FAULTS} | {"clock_jump": 1, "disk_full": 1}


async def test_every_fault_under_load_loses_nothing_and_recovers(tmp_path: Path) -> None:
    rows = await harness.run(tmp_path, harness.FAULTS, cycles=CYCLES)
    print(harness.table(rows))
    assert [row["fault"] for row in rows] == list(harness.FAULTS)
    for row in rows:
        assert not harness.broken(row), (row["fault"], harness.broken(row), harness.table(rows))
        assert math.isfinite(row["recover_max_s"]), row
        assert row["acked"] > 0 and row["replies"] > 0, row
    smtp = next(row for row in rows if row["fault"] == "smtp_errors")
    # The fault was exercised: replies were refused with 4xx and 5xx, some went out
    # after the 4xx, some failed with the 5xx.
    assert smtp["mail_answered_4xx"] and smtp["mail_answered_5xx"], smtp
    assert smtp["mail_sent"] and smtp["mail_failed"], smtp
    disk = next(row for row in rows if row["fault"] == "disk_full")
    assert disk["refused"].get(503), disk  # the disk was full under load: 503s, no 500s
