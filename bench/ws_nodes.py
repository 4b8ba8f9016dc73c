"""Two nodes + Redis vs one: fan-out throughput of the production shape.

    .venv/bin/python bench/ws_nodes.py --clients 500 --messages 600 --rates 20,40,60,80

Each configuration gets a fresh throw-away PostgreSQL and redis-server (the test suite's
fixtures, tests/support/services.py) and real ``python -m server.cli serve`` nodes
(tests/realtime/nodes.py). Agent sockets are spread evenly over the nodes and messages
are POSTed round-robin to them (each committed to PostgreSQL before the 201); every
socket must receive every message.created, whichever node it is on. The one-node
baseline is the same shape (PostgreSQL + Redis bus), so the ratio isolates the second
node. Prints every run, each configuration's highest deliveries/s with p99 < 100 ms and
its saturated throughput (the highest rate), and the two/one ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))
import servers  # noqa: E402

from tests.realtime.nodes import Node, migrate, start_node  # noqa: E402
from tests.support.services import PostgresServer, RedisServer  # noqa: E402

P99_LIMIT_MS = 100


@contextlib.contextmanager
def cluster(count: int, with_services: bool = False, **env: str) -> Iterator[Any]:
    """``count`` nodes on one fresh PostgreSQL + Redis: (nodes, admin token, inbox key),
    and the PostgresServer and RedisServer too if ``with_services`` (bench/node_cost.py).
    ``env``: more settings for the nodes."""
    tmp = Path(tempfile.mkdtemp(prefix=f"sb-nodes{count}-"))
    with PostgresServer() as pg, RedisServer() as redis:
        db = pg.create_database("bench").replace("postgresql://", "postgresql+asyncpg://", 1)
        migrate(tmp, db, redis.url)
        nodes: list[Node] = []
        env = {"SWITCHBOARD_LOG_LEVEL": "WARNING", **env}
        try:
            for i in range(count):
                nodes.append(start_node(tmp, f"n{i}", db, redis.url, **env))
            password = next(p for p in (n.admin_password() for n in nodes) if p)
            http = nodes[0].base_url
            login = servers._request(
                f"{http}/api/auth/login", {"email": "admin@example.test", "password": password}
            )
            token = str(login["token"])
            inbox = servers._request(
                f"{http}/api/admin/inboxes",
                {
                    "name": "Bench",
                    "kind": "api",
                    "member_ids": [],
                    "config": {"inbound_token": servers.INBOUND},
                },
                token,
            )
            if with_services:
                yield nodes, token, str(inbox["public_key"]), pg, redis
            else:
                yield nodes, token, str(inbox["public_key"])
        finally:
            for node in nodes:
                node.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--rates", default="20,40,60,80")
    parser.add_argument("--nodes", default="1,2", help="configurations to measure")
    a = parser.parse_args()
    rates = [float(r) for r in a.rates.split(",")]
    results: dict[int, list[dict[str, object]]] = {}
    for count in (int(n) for n in a.nodes.split(",")):
        results[count] = []
        for rate in rates:
            with cluster(count) as (nodes, token, key):
                r = servers.node(
                    "ws_nodes.js",
                    urls=",".join(n.ws_url for n in nodes),
                    https=",".join(n.base_url for n in nodes),
                    token=token,
                    key=key,
                    inbound=servers.INBOUND,
                    clients=a.clients,
                    messages=a.messages,
                    rate=rate,
                )
            results[count].append(r)
            print(json.dumps(r), flush=True)
    summary: dict[int, tuple[float, float]] = {}
    for count, runs in results.items():
        ok = [
            float(r["deliveries_per_s"])  # type: ignore[arg-type]
            for r in runs
            if r["missing"] == 0 and float(r["p99_ms"]) < P99_LIMIT_MS  # type: ignore[arg-type]
        ]
        top = max(float(r["deliveries_per_s"]) for r in runs)  # type: ignore[arg-type]
        summary[count] = (max(ok, default=0.0), top)
        print(
            f"{count} node(s): highest deliveries/s with p99 < {P99_LIMIT_MS} ms "
            f"{summary[count][0]:,.0f}; at the highest offered rate {top:,.0f}"
        )
    if 1 in summary and 2 in summary and summary[1][0] and summary[1][1]:
        print(
            f"two / one: x{summary[2][0] / summary[1][0]:.2f} at p99 < {P99_LIMIT_MS} ms, "
            f"x{summary[2][1] / summary[1][1]:.2f} at the highest offered rate"
        )


if __name__ == "__main__":
    main()
