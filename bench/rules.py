"""What automation rules cost on the ingest path: messages/s with 0, 10 and 100 active rules.

One real ``switchboard serve`` process, one API inbox, one run: wrk POSTs customer messages
(bench/ingest.lua: unique external ids over 200 contacts) with no rules, with 10 and with
100 active ``customer_message`` rules on that inbox, in interleaved rounds (so drift in
the machine's load hits every count alike), reporting the median msg/s and the server
process's CPU time per message (from /proc: the steadier figure on a shared machine).
Each rule has two conditions that are evaluated on every message (the inbox, and a text
search that does not match), so the figure is the price of loading and matching rules,
which every message pays; a rule that fires adds its actions' writes, like the same
change made by an agent.

    .venv/bin/python bench/rules.py [--seconds 10] [--rounds 3] [--connections 16] [--postgres]
    (needs wrk: apt-get install wrk)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from statistics import median

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from ingest import PASSWORD, start, wait_ready, wrk  # noqa: E402

from tests.support.services import PostgresServer  # noqa: E402

LUA = str(ROOT / "bench" / "ingest.lua")


async def setup(client: httpx.AsyncClient) -> dict[str, object]:
    await client.post("/api/auth/login", json={"email": "root@bench.test", "password": PASSWORD})
    inbox = (
        await client.post(
            "/api/admin/inboxes",
            json={"name": "bench", "kind": "api", "config": {"inbound_token": "t" * 24}},
        )
    ).json()
    return dict(inbox)


async def set_rules(client: httpx.AsyncClient, inbox_id: int, count: int) -> None:
    """Make exactly ``count`` rules active (creating them the first time)."""
    rules = (await client.get("/api/admin/rules")).json()["rules"]
    for n in range(len(rules), count):
        r = await client.post(
            "/api/admin/rules",
            json={
                "name": f"rule {n}",
                "trigger": "customer_message",
                "conditions": [
                    {"field": "inbox_id", "op": "is", "value": inbox_id},
                    {"field": "message.text", "op": "contains", "value": f"keyword-{n}"},
                ],
                "actions": [{"type": "add_label", "label": f"k{n}"}],
            },
        )
        r.raise_for_status()
    rules = (await client.get("/api/admin/rules")).json()["rules"]
    for n, rule in enumerate(rules):
        active = n < count
        if rule["is_active"] != active:
            body = {k: rule[k] for k in ("name", "trigger", "params", "conditions", "actions")}
            r = await client.put(
                f"/api/admin/rules/{rule['id']}", json={**body, "is_active": active}
            )
            r.raise_for_status()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    label: str, database_url: str, seconds: int, connections: int, rounds: int
) -> None:
    with tempfile.TemporaryDirectory() as data:
        proc, base = start(database_url, data)
        try:
            await wait_ready(base)
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                inbox = await setup(client)
                url = f"{base}/api/channels/api/{inbox['public_key']}/messages"
                wrk(url, 2, connections, LUA)  # warm-up: contacts and conversations exist
                rates: dict[int, list[float]] = {0: [], 10: [], 100: []}
                cpu: dict[int, list[float]] = {0: [], 10: [], 100: []}
                for _round in range(rounds):  # interleaved: load drift hits every count alike
                    for count in rates:
                        await set_rules(client, int(str(inbox["id"])), count)
                        before = cpu_seconds(proc.pid)
                        rate = wrk(url, seconds, connections, LUA)
                        used = cpu_seconds(proc.pid) - before
                        rates[count].append(rate)
                        cpu[count].append(1000 * used / max(1.0, rate * seconds))
            base_rate, base_cpu = median(rates[0]), median(cpu[0])
            for count in rates:
                rate, ms = median(rates[count]), median(cpu[count])
                print(
                    f"{label:10s} {count:3d} rules  {rate:6.0f} msg/s (x{rate / base_rate:.2f})  "
                    f"server CPU {ms:5.2f} ms/msg (x{ms / base_cpu:.2f})  "
                    f"[median of {rounds}; {connections} connections, {seconds} s each]"
                )
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def matching_cost(count: int, repeat: int = 2000) -> float:
    """Microseconds to match ``count`` rules against one snapshot (the pure core alone)."""
    import time

    from server.domain.rules import evaluate, parse_rule

    rules = [
        parse_rule(
            {
                "name": f"rule {n}",
                "trigger": "customer_message",
                "conditions": [
                    {"field": "inbox_id", "op": "is", "value": 1},
                    {"field": "message.text", "op": "contains", "value": f"keyword-{n}"},
                ],
                "actions": [{"type": "add_label", "label": f"k{n}"}],
            },
            n,
        )
        for n in range(count)
    ]
    snapshot = {"inbox_id": 1, "message": {"text": "message 12345 from a customer"}}
    started = time.process_time()
    for _ in range(repeat):
        evaluate(rules, "customer_message", snapshot)
    return 1e6 * (time.process_time() - started) / repeat


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    for count in (10, 100):
        print(f"matching {count:3d} rules in the pure core: {matching_cost(count):6.1f} µs/msg")
    with tempfile.TemporaryDirectory() as tmp:
        await measure(
            "sqlite", f"sqlite:///{tmp}/bench.db", args.seconds, args.connections, args.rounds
        )
    if not args.postgres:
        return
    pg = PostgresServer()
    pg.start()
    try:
        url = pg.create_database("bench_rules")
        await measure("postgresql", url, args.seconds, args.connections, args.rounds)
    finally:
        pg.close()


if __name__ == "__main__":
    asyncio.run(main())
