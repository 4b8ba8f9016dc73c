"""Ingest cost per message as one conversation grows: 10, 100, 1,000 and 10,000 messages.

Starts a real server process (SQLite by default, a throw-away PostgreSQL with --postgres),
creates an API inbox, and POSTs customer messages into ONE conversation, one at a time over
a keep-alive connection. At each size it times the next --sample POSTs: the server
process's CPU time per POST (from /proc: robust to other load on a shared machine) and the
median wall time per POST; in between it grows the conversation with unmeasured POSTs (the
same path). Every --reply-every customer messages an agent replies, so first-response
segments and next-response waits are both in play. The clock is incremental (docs/frt.md,
"Incremental computation"), so the cost per message should not grow with the conversation.
--code DIR runs the server from another checkout (e.g. the code before, for a baseline).

    .venv/bin/python bench/frt_flat.py [--sizes 10,100,1000,10000] [--sample 100]
        [--postgres] [--code DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import PASSWORD, wait_ready  # noqa: E402
from tests.support.services import PostgresServer  # noqa: E402

TOKEN = "t" * 24
_TICK = os.sysconf("SC_CLK_TCK")


def start(database_url: str, data_dir: str, code: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The server as `switchboard serve` from the checkout `code` (as bench/ingest.py)."""
    from tests.support.ports import free_port

    port = free_port()
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_DATA_DIR": data_dir,
        "SWITCHBOARD_PORT": str(port),
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
        "SWITCHBOARD_SECRET_KEY": "k" * 40,
    }
    admin = ["create-admin", "root@bench.test", "--password", PASSWORD]
    subprocess.run([sys.executable, "-m", "server.cli", *admin], env=env, cwd=code, check=True)
    serve = [sys.executable, "-m", "server.cli", "serve"]
    proc = subprocess.Popen(serve, env=env, cwd=code, stdout=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


async def _setup(base: str) -> tuple[httpx.AsyncClient, str]:
    admin = httpx.AsyncClient(base_url=base, timeout=60)
    await admin.post("/api/auth/login", json={"email": "root@bench.test", "password": PASSWORD})
    inbox = (
        await admin.post(
            "/api/admin/inboxes",
            json={
                "name": "bench",
                "kind": "api",
                "config": {"inbound_token": TOKEN},
                "frt_targets": {"default": 3600},
            },
        )
    ).json()
    return admin, str(inbox["public_key"])


async def _post(client: httpx.AsyncClient, key: str) -> int:
    response = await client.post(
        f"/api/channels/api/{key}/messages",
        json={"external_id": str(uuid.uuid4()), "text": "again", "contact": {"external_id": "c"}},
        headers={"authorization": f"Bearer {TOKEN}"},
    )
    response.raise_for_status()
    return int(response.json()["conversation_id"])


async def run(
    label: str, database_url: str, sizes: list[int], sample: int, every: int, code: Path
) -> None:
    with tempfile.TemporaryDirectory() as data:
        proc, base = start(database_url, data, code)
        try:
            await wait_ready(base)
            admin, key = await _setup(base)
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                count, cid = 0, 0
                for size in sizes:
                    while count < size:
                        cid = await _post(client, key)
                        count += 1
                        if every and count % every == 0:
                            await admin.post(
                                f"/api/conversations/{cid}/messages", json={"text": "on it"}
                            )
                    costs = []
                    cpu = cpu_seconds(proc.pid)
                    for _ in range(sample):
                        began = time.perf_counter()
                        await _post(client, key)
                        costs.append((time.perf_counter() - began) * 1000)
                        count += 1
                    cpu = (cpu_seconds(proc.pid) - cpu) * 1000 / sample
                    print(
                        f"{label:10s} {size:6d} messages: server CPU {cpu:6.2f} ms per POST, "
                        f"wall median {statistics.median(costs):6.2f} ms ({sample} POSTs)",
                        flush=True,
                    )
            await admin.aclose()
        finally:
            proc.terminate()
            proc.wait(timeout=15)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--reply-every", type=int, default=25)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--code", type=Path, default=ROOT)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    shape = (sizes, args.sample, args.reply_every, args.code.resolve())
    if not args.postgres:
        with tempfile.TemporaryDirectory() as tmp:
            await run("sqlite", f"sqlite:///{tmp}/bench.db", *shape)
        return
    pg = PostgresServer()
    pg.start()
    try:
        url = pg.create_database("bench")
        await run("postgresql", url, *shape)
    finally:
        pg.close()


if __name__ == "__main__":
    asyncio.run(main())
