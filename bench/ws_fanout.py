"""Fan-out benchmark: deliveries/s and latency for N agent sockets, against baselines.

    cd bench && npm install          # ws + socket.io
    .venv/bin/python bench/ws_fanout.py --clients 200 --messages 200 --rate 50

Switchboard: each message is POSTed to the API channel and committed (SQLite) before the
201; agents receive message.created. Baselines in the same run: a bare websockets relay
(stores nothing: the limit) and a socket.io server (the peer). Load comes from Node.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import servers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0)
    a = parser.parse_args()
    load = {"clients": a.clients, "messages": a.messages, "rate": a.rate}
    results = []
    with servers.relay() as relay:
        results.append(
            servers.node("ws_fanout.js", target="relay", url=f"ws://127.0.0.1:{relay.port}", **load)
        )
    with servers.socketio() as sio:
        results.append(
            servers.node(
                "ws_fanout.js", target="socketio", url=f"ws://127.0.0.1:{sio.port}", **load
            )
        )
    with servers.switchboard() as sb:
        results.append(
            servers.node(
                "ws_fanout.js",
                target="switchboard",
                url=sb.ws,
                http=sb.http,
                token=sb.token,
                key=sb.inbox_key,
                inbound=servers.INBOUND,
                **load,
            )
        )
    for r in results:
        print(json.dumps(r))
    base = {r["target"]: r for r in results}
    sb_rate = float(base["switchboard"]["deliveries_per_s"])  # type: ignore[arg-type]
    for peer in ("relay", "socketio"):
        ratio = sb_rate / float(base[peer]["deliveries_per_s"])  # type: ignore[arg-type]
        p99 = float(base["switchboard"]["p99_ms"]) / max(1.0, float(base[peer]["p99_ms"]))  # type: ignore[arg-type]
        print(f"switchboard / {peer}: deliveries/s x{ratio:.2f}, p99 x{p99:.2f}")


if __name__ == "__main__":
    main()
