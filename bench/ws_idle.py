"""Idle sockets per GiB of server memory: Switchboard vs the bare websockets relay.

    .venv/bin/python bench/ws_idle.py --clients 5000

Opens N authenticated, hello'd agent sockets (per-message deflate off, the default) and
measures the server's resident memory growth. Keep N under ``ulimit -n``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import servers

GIB_KIB = 1024 * 1024


def measure(proc: servers.Proc, n: int, **target: object) -> dict[str, object]:
    cmd = ["node", str(servers.BENCH / "ws_idle.js"), "--clients", str(n)]
    for key, value in target.items():
        cmd += [f"--{key}", str(value)]
    before = proc.rss_kib()
    holder = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()
        if not line:
            raise RuntimeError("the idle client generator failed")
        time.sleep(2)  # let the server settle after the last handshake
        after = proc.rss_kib()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    per_socket = (after - before) / n
    return {
        "target": target["target"],
        "sockets": n,
        "rss_before_mib": before // 1024,
        "rss_after_mib": after // 1024,
        "kib_per_socket": round(per_socket, 1),
        "sockets_per_gib": int(GIB_KIB / per_socket) if per_socket > 0 else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=5000)
    n = parser.parse_args().clients
    results = []
    with servers.relay() as relay:
        results.append(measure(relay, n, target="relay", url=f"ws://127.0.0.1:{relay.port}"))
    with servers.switchboard() as sb:
        results.append(measure(sb, n, target="switchboard", url=sb.ws, token=sb.token))
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
