"""Reconnect storm: N agent sockets drop while messages are sent, then all resume.

    .venv/bin/python bench/reconnect_storm.py --clients 1000 --messages 100 --down 10

Prints missed and duplicate events across all clients (must both be 0), the catch-up
p50/p99 from the moment the clients reconnect, and the server's CPU milliseconds per
reconnecting socket (utime + stime from /proc between the reconnect and the last
catch-up): the figure that does not depend on how loaded the machine is. ``--profile
out.txt`` also records the server with py-spy (``PY_SPY`` = path of the py-spy binary).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import servers
from ws_cpu import CpuSampler, load_average


@contextlib.contextmanager
def profiled(pid: int, out: str | None) -> Iterator[None]:
    spy = os.environ.get("PY_SPY") or shutil.which("py-spy")
    if not out or not spy:
        yield
        return
    fmt = "raw" if out.endswith(".txt") else "flamegraph"
    proc = subprocess.Popen(
        [spy, "record", "-p", str(pid), "-r", "200", "-f", fmt, "-o", out],
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--down", type=float, default=10.0)
    parser.add_argument("--profile", default=None, help="py-spy output file (.txt: raw)")
    a = parser.parse_args()
    before = load_average()
    with servers.switchboard() as sb:
        pid = sb.process.pid
        with CpuSampler({"server": pid}) as cpu, profiled(pid, a.profile):
            result = servers.node(
                "reconnect_storm.js",
                url=sb.ws,
                http=sb.http,
                token=sb.token,
                key=sb.inbox_key,
                inbound=servers.INBOUND,
                clients=a.clients,
                messages=a.messages,
                down=a.down,
            )
    spent = cpu.between(
        float(result["resume_at_ms"]) / 1000,  # type: ignore[arg-type]
        float(result["done_at_ms"]) / 1000,  # type: ignore[arg-type]
    )["server"]
    result["storm_server_cpu_s"] = round(spent, 3)
    result["server_cpu_ms_per_socket"] = round(1000 * spent / a.clients, 3)
    result["load_average"] = f"{before} -> {load_average()}"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
