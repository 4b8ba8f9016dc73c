"""Password-reset answers for a known and an unknown address take the same time.

Starts a real server process (SQLite), then POSTs /api/auth/password-reset alternately for
the first admin's address and for unknown ones, from a new loopback source address every
18 requests (the endpoint allows 20 a minute per address), and prints the median and the
maximum answer time of each kind. The lookup and the mail run after the answer is sent
(docs/accounts.md, "Password reset"), so the two medians should be within noise.

    .venv/bin/python bench/reset_timing.py [--blocks 12]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.realtime.nodes import start_node

PER_ADDRESS = 18  # under the endpoint's 20 a minute per address


async def measure(base_url: str, blocks: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for block in range(blocks):
        transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{block + 2}")
        async with httpx.AsyncClient(base_url=base_url, transport=transport) as http:
            for n in range(PER_ADDRESS):
                kind = "known" if n % 2 else "unknown"
                email = "admin@example.test" if n % 2 else f"nobody{block}-{n}@example.test"
                start = time.perf_counter()
                answer = await http.post("/api/auth/password-reset", json={"email": email})
                times[kind].append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 202, answer.text
                await asyncio.sleep(0.05)  # let the previous request's background work end
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=12)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    node = start_node(tmp, "reset-bench", f"sqlite:///{tmp}/switchboard.db", "")
    try:
        times = asyncio.run(measure(node.base_url, args.blocks))
    finally:
        node.kill()
    for kind, values in times.items():
        print(
            f"{kind:8s} median {statistics.median(values):6.2f} ms"
            f"  max {max(values):7.2f} ms  n={len(values)}"
        )


if __name__ == "__main__":
    main()
