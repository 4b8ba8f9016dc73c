"""Fan-out benchmark: deliveries/s and latency for N agent sockets, against baselines.

    cd bench && npm install          # ws + socket.io
    .venv/bin/python bench/ws_fanout.py --clients 500 --messages 500 --rates 50,100,150

Switchboard: each message is POSTed to the API channel and committed (SQLite) before the
201; agents receive message.created. Baselines in the same run: a bare websockets relay
(stores nothing: the limit) and a socket.io server (the peer). Load comes from Node.

For each offered rate every target gets the same load; the summary gives each target's
highest deliveries/s with p99 < 100 ms and nothing missing (the DESIGN.md criterion).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import servers
from ws_cpu import cpu_seconds, load_average

P99_LIMIT_MS = 100


def run(
    target: str, url: str, load: dict[str, object], pid: int, **extra: object
) -> dict[str, object]:
    """One run; adds the server's CPU seconds for the whole run (sockets opening, then the
    messages: for Switchboard their durable ingest too) per 1,000 deliveries: a figure a
    loaded machine does not distort the way it distorts latency."""
    before, load_before = cpu_seconds(pid), load_average()
    result = servers.node("ws_fanout.js", target=target, url=url, **load, **extra)
    spent = cpu_seconds(pid) - before
    deliveries = float(result.get("deliveries") or 0)  # type: ignore[arg-type]
    result["server_cpu_s"] = round(spent, 2)
    result["server_cpu_ms_per_1k_deliveries"] = (
        round(1e6 * spent / deliveries, 1) if deliveries else None
    )
    result["load_average"] = f"{load_before} -> {load_average()}"
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rate", type=float, default=None, help="one offered rate (msg/s)")
    parser.add_argument("--rates", default="50", help="comma-separated offered rates (msg/s)")
    a = parser.parse_args()
    rates = [a.rate] if a.rate is not None else [float(r) for r in a.rates.split(",")]
    results: list[dict[str, object]] = []
    for rate in rates:
        load = {"clients": a.clients, "messages": a.messages, "rate": rate}
        with servers.relay() as relay:
            results.append(run("relay", f"ws://127.0.0.1:{relay.port}", load, relay.process.pid))
        with servers.socketio() as sio:
            results.append(run("socketio", f"ws://127.0.0.1:{sio.port}", load, sio.process.pid))
        with servers.switchboard() as sb:
            results.append(
                run(
                    "switchboard",
                    sb.ws,
                    load,
                    sb.process.pid,
                    http=sb.http,
                    token=sb.token,
                    key=sb.inbox_key,
                    inbound=servers.INBOUND,
                )
            )
        for r in results[-3:]:
            print(json.dumps(r), flush=True)
    print(f"highest deliveries/s with p99 < {P99_LIMIT_MS} ms and none missing:")
    best: dict[str, float] = {}
    for target in ("relay", "socketio", "switchboard"):
        ok = [
            float(r["deliveries_per_s"])  # type: ignore[arg-type]
            for r in results
            if r["target"] == target and r["missing"] == 0 and float(r["p99_ms"]) < P99_LIMIT_MS  # type: ignore[arg-type]
        ]
        best[target] = max(ok, default=0.0)
        print(f"  {target}: {best[target]:,.0f}" + ("" if ok else " (no rate met it)"))
    for peer in ("relay", "socketio"):
        if best[peer]:
            print(f"switchboard / {peer}: x{best['switchboard'] / best[peer]:.2f}")
    print("server CPU ms per 1,000 deliveries (median over the rates):")
    for target in ("relay", "socketio", "switchboard"):
        costs = sorted(
            float(r["server_cpu_ms_per_1k_deliveries"])  # type: ignore[arg-type]
            for r in results
            if r["target"] == target and r["server_cpu_ms_per_1k_deliveries"] is not None
        )
        if costs:
            print(f"  {target}: {costs[len(costs) // 2]:.1f}")


if __name__ == "__main__":
    main()
