"""The long chaos run: many faults of each kind under load, one report row per fault.

Real processes (tests/chaos/harness.py): two ``serve`` nodes on one PostgreSQL and one
Redis, a webhook receiver, Dovecot and an SMTP server for an email inbox, API-channel
senders, an agent replying, agent sockets on both nodes; ``disk_full`` runs on its own
one-node SQLite set-up on a small tmpfs (root: it mounts one). Every row must show 0 lost,
0 duplicate rows, 0 events missed or doubled without a resync, 0 replies undelivered,
0 replies under two delivery ids, no error but 503 (with Retry-After), and the email and
integrity checks of its fault (see bench/README.md).

    .venv/bin/python bench/chaos.py --cycles 100                 # >= 100 kills: ~1 h
    .venv/bin/python bench/chaos.py --faults node_kill --cycles 25 --json out.json
    .venv/bin/python bench/chaos.py --faults smtp_errors,disk_full,clock_jump --cycles 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.chaos import harness


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", default=",".join(harness.FAULTS))
    parser.add_argument("--cycles", type=int, default=100, help="faults of each kind")
    parser.add_argument("--sockets", type=int, default=8)
    parser.add_argument("--gap", type=float, default=2.0, help="seconds of load between faults")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--keep", type=Path, help="work (node logs) in this directory, kept")
    args = parser.parse_args()
    faults = tuple(f for f in args.faults.split(",") if f)
    unknown = set(faults) - set(harness.FAULTS)
    if unknown:
        parser.error(f"unknown fault(s) {sorted(unknown)}; known: {harness.FAULTS}")
    started = time.monotonic()
    if args.keep is not None:
        args.keep.mkdir(parents=True)
        rows = asyncio.run(harness.run(args.keep, faults, args.cycles, args.sockets, args.gap))
    else:
        with tempfile.TemporaryDirectory(prefix="sb-chaos-") as tmp:
            rows = asyncio.run(harness.run(Path(tmp), faults, args.cycles, args.sockets, args.gap))
    print(harness.table(rows))
    print(f"\n{time.monotonic() - started:.0f} s in all")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))
    broken = [r["fault"] for r in rows if harness.broken(r)]
    if broken:
        print(f"PROMISES BROKEN under: {', '.join(broken)}")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
