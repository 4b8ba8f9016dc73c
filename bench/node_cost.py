"""What each node, Redis and PostgreSQL spend per delivered event, with 1, 2 and 4 nodes.

    .venv/bin/python bench/node_cost.py --nodes 1,2,4 --clients 400 --messages 600 --rate 20

On a 2-core machine a throughput ratio measures core contention, not the design; CPU
seconds do not depend on how many cores there are. So every configuration gets the SAME
offered load, well below saturation, and this prints what it cost:

* per node: CPU seconds (utime + stime from /proc/<pid>/stat) per 1,000 deliveries made
  by that node (its sockets' deliveries), and the total over all nodes per 1,000
  deliveries; ``net`` figures subtract the idle rate measured just before the load with
  the same sockets open (heartbeats, outbox polling), so they are the cost of the events;
* Redis: CPU (INFO cpu) and commands (INFO commandstats) per message;
* PostgreSQL: commits, rows inserted, blocks hit/read (pg_stat_database) and CPU of the
  postmaster and its backends (/proc) per message;
* the per-delivery cost ratio N nodes / 1 node (the target is <= 1.1: as cheap per
  delivery with more nodes, so throughput grows with the cores the nodes get).

Each configuration gets a fresh throw-away PostgreSQL and redis-server
(tests/support/services.py) and real ``python -m server.cli serve`` nodes
(tests/realtime/nodes.py) with production settings (outbox poll interval 1 s). Sockets
(one agent session) are spread evenly over the nodes, messages POSTed round-robin to them
(API channel, committed before the 201); every socket must get every message.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))
import redis  # noqa: E402
import servers  # noqa: E402
from ws_cpu import TICKS, cpu_seconds, descendants, load_average  # noqa: E402
from ws_nodes import cluster  # noqa: E402

PG_FIELDS = (
    "xact_commit",
    "xact_rollback",
    "tup_inserted",
    "tup_updated",
    "tup_returned",
    "tup_fetched",
    "blks_hit",
    "blks_read",
)


def pg_tree_cpu(pid: int) -> float:
    """The postmaster, its live children (backends, walwriter, ...) and the children it
    already reaped (cutime + cstime)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    total = (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICKS
    for child in descendants(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += cpu_seconds(child)
    return total


async def _pg_stats(url: str, database: str) -> dict[str, float]:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        row = await conn.fetchrow(
            f"SELECT {', '.join(PG_FIELDS)} FROM pg_stat_database WHERE datname = $1", database
        )
    finally:
        await conn.close()
    assert row is not None
    return {k: float(row[k]) for k in PG_FIELDS}


def redis_stats(client: redis.Redis) -> dict[str, float]:
    cpu = client.info("cpu")
    stats = client.info("commandstats")
    calls = {k.removeprefix("cmdstat_"): float(v["calls"]) for k, v in stats.items()}
    return {
        "cpu": float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]),
        "commands": sum(n for k, n in calls.items() if k not in ("info", "ping")),
        **{f"cmd_{k}": n for k, n in calls.items()},
    }


def snapshot(nodes: list[Any], pg: Any, rds: Any, client: redis.Redis) -> dict[str, Any]:
    pg_stats = asyncio.run(_pg_stats(pg.url, "bench"))  # first: its backend exits before
    return {
        "at": time.monotonic(),
        "nodes": [cpu_seconds(n.process.pid) for n in nodes],
        "pg_cpu": pg_tree_cpu(pg.pid),
        "redis_proc_cpu": cpu_seconds(rds.pid),
        "pg": pg_stats,
        "redis": redis_stats(client),
    }


def diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {
        "seconds": b["at"] - a["at"],
        "nodes": [y - x for x, y in zip(a["nodes"], b["nodes"], strict=True)],
        "pg_cpu": b["pg_cpu"] - a["pg_cpu"],
        "redis_proc_cpu": b["redis_proc_cpu"] - a["redis_proc_cpu"],
        "pg": {k: b["pg"][k] - a["pg"][k] for k in PG_FIELDS},
        "redis": {k: v - a["redis"].get(k, 0.0) for k, v in b["redis"].items()},
    }


def _phase(proc: subprocess.Popen[str], name: str) -> None:
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(
                f"ws_cost.js ended before {name}: {proc.stderr and proc.stderr.read()}"
            )
        if line.strip().startswith("{") and json.loads(line).get("phase") == name:
            return


def _go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


def run(count: int, clients: int, a: argparse.Namespace) -> dict[str, Any]:
    load_before = load_average()
    with cluster(count, with_services=True, SWITCHBOARD_OUTBOX_POLL_INTERVAL="1.0") as (
        nodes,
        token,
        key,
        pg,
        rds,
    ):
        client = redis.Redis.from_url(rds.url)
        cmd = ["node", str(BENCH / "ws_cost.js")]
        args = {
            "urls": ",".join(n.ws_url for n in nodes),
            "https": ",".join(n.base_url for n in nodes),
            "token": token,
            "key": key,
            "inbound": servers.INBOUND,
            "clients": clients,
            "messages": a.messages,
            "rate": a.rate,
        }
        for k, v in args.items():
            cmd += [f"--{k}", str(v)]
        proc = subprocess.Popen(
            cmd, cwd=BENCH, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            _phase(proc, "open")
            time.sleep(a.settle)
            s0 = snapshot(nodes, pg, rds, client)
            time.sleep(a.idle)
            s1 = snapshot(nodes, pg, rds, client)
            _go(proc)
            _phase(proc, "load_done")
            time.sleep(a.settle)  # PostgreSQL publishes a backend's counters within ~1 s
            s2 = snapshot(nodes, pg, rds, client)
            _go(proc)
            assert proc.stdout is not None
            result: dict[str, Any] = json.loads(proc.stdout.read().strip().splitlines()[-1])
        finally:
            proc.kill()
            proc.wait()
            client.close()
    idle, load = diff(s0, s1), diff(s1, s2)
    result["idle"], result["load"] = idle, load
    result["load_average"] = f"{load_before} -> {load_average()}"
    return result


def per(value: float, count: float, scale: float = 1.0) -> float:
    return scale * value / count if count else float("nan")


def net_of_idle(idle: dict[str, Any], load: dict[str, Any]) -> dict[str, Any]:
    """The load window's counters less what the idle rate would have given in that time."""
    k = load["seconds"] / idle["seconds"]
    return {
        "seconds": load["seconds"],
        "nodes": [y - k * x for x, y in zip(idle["nodes"], load["nodes"], strict=True)],
        "pg_cpu": load["pg_cpu"] - k * idle["pg_cpu"],
        "redis_proc_cpu": load["redis_proc_cpu"] - k * idle["redis_proc_cpu"],
        "pg": {f: load["pg"][f] - k * idle["pg"][f] for f in PG_FIELDS},
        "redis": {f: v - k * idle["redis"].get(f, 0.0) for f, v in load["redis"].items()},
    }


def report(count: int, r: dict[str, Any]) -> dict[str, Any]:
    idle, raw = r["idle"], r["load"]
    load = net_of_idle(idle, raw)
    deliveries = float(r["deliveries"])
    messages = float(r["messages"])
    per_node_deliveries = deliveries / count
    idle_rate = [c / idle["seconds"] for c in idle["nodes"]]
    net = load["nodes"]
    pg = load["pg"]
    rd = load["redis"]
    out = {
        "nodes": count,
        "deliveries": int(deliveries),
        "missing": r["missing"],
        "p50_ms": r["p50_ms"],
        "p99_ms": r["p99_ms"],
        "load_seconds": round(load["seconds"], 2),
        "clients": r["clients"],
        "node_cpu_ms_per_1k_deliveries": [
            round(per(c, per_node_deliveries, 1e6), 1) for c in raw["nodes"]
        ],
        "total_node_cpu_ms_per_1k_deliveries": round(per(sum(raw["nodes"]), deliveries, 1e6), 1),
        "node_cpu_s": [round(c, 3) for c in raw["nodes"]],
        "net_node_cpu_s": [round(c, 3) for c in net],
        "net_total_node_cpu_ms_per_1k_deliveries": round(per(sum(net), deliveries, 1e6), 1),
        "net_node_cpu_ms_per_message": round(per(sum(net), messages, 1e3), 3),
        "idle_node_cpu_ms_per_s": [round(1e3 * x, 1) for x in idle_rate],
        "redis_cpu_ms_per_message": round(per(rd["cpu"], messages, 1e3), 3),
        "raw_redis_cpu_ms_per_message": round(per(raw["redis"]["cpu"], messages, 1e3), 3),
        "raw_redis_commands_per_message": round(per(raw["redis"]["commands"], messages), 2),
        "raw_pg_cpu_ms_per_message": round(per(raw["pg_cpu"], messages, 1e3), 3),
        "redis_proc_cpu_ms_per_message": round(per(load["redis_proc_cpu"], messages, 1e3), 3),
        "redis_commands_per_message": round(per(rd["commands"], messages), 2),
        "redis_top_commands_per_message": {
            k.removeprefix("cmd_"): round(per(v, messages), 2)
            for k, v in sorted(rd.items(), key=lambda kv: -kv[1])
            if k.startswith("cmd_") and v > 0
        },
        "pg_cpu_ms_per_message": round(per(load["pg_cpu"], messages, 1e3), 3),
        "pg_per_message": {k: round(per(v, messages), 2) for k, v in pg.items()},
        "idle_redis_commands_per_s": round(per(idle["redis"]["commands"], idle["seconds"]), 1),
        "idle_pg_commits_per_s": round(per(idle["pg"]["xact_commit"], idle["seconds"]), 1),
        "load_average": r["load_average"],
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", default="1,2,4")
    parser.add_argument("--clients", type=int, default=400)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--rate", type=float, default=20, help="offered messages/s (all nodes)")
    parser.add_argument("--idle", type=float, default=5.0, help="idle window (s)")
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=1, help="repeat, alternating order")
    a = parser.parse_args()
    counts = [int(n) for n in a.nodes.split(",")]
    # Each configuration twice: with no sockets (what a message costs the nodes without
    # any delivery: ingest, and every node reading the event from the bus) and with the
    # sockets; the difference over the deliveries is the cost of a delivery.
    rows: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for round_ in range(a.rounds):
        for count in counts if round_ % 2 == 0 else list(reversed(counts)):
            for clients in (0, a.clients):
                row = report(count, run(count, clients, a))
                rows.setdefault((count, clients), []).append(row)
                print(json.dumps(row), flush=True)

    def median(values: list[float]) -> float:
        s = sorted(values)
        return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2

    def cpu(count: int, clients: int) -> float:
        """All nodes' CPU seconds in the load window, less what the same run spent at rest
        for that long (outbox polling, timers and, with sockets, their heartbeats)."""
        return median([sum(r["net_node_cpu_s"]) for r in rows[(count, clients)]])

    per_delivery: dict[int, float] = {}
    print(f"same offered load: {a.messages} messages at {a.rate:g}/s, {a.clients} sockets")
    for count in counts:
        bare = cpu(count, 0)
        full = cpu(count, a.clients)
        deliveries = a.messages * a.clients
        per_delivery[count] = (full - bare) / deliveries if deliveries else float("nan")
        total = median([r["total_node_cpu_ms_per_1k_deliveries"] for r in rows[(count, a.clients)]])
        print(
            f"{count} node(s): all nodes' CPU per 1,000 deliveries {total:.1f} ms "
            f"(raw: ingest, background and fan-out); per message without sockets "
            f"{1e3 * bare / a.messages:.2f} ms; per delivery {1e6 * per_delivery[count]:.2f} us"
        )
    first = counts[0]
    for count in counts[1:]:
        print(
            f"per-delivery cost {count} nodes / {first}: "
            f"x{per_delivery[count] / per_delivery[first]:.2f}"
        )


if __name__ == "__main__":
    main()
