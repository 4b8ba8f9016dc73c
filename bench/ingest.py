"""Durable inbound messages per second against two baselines measured in the same run.

For each database (SQLite in WAL mode with the project's ``synchronous=NORMAL``; a
throw-away PostgreSQL cluster with fsync, synchronous_commit and full_page_writes ON,
unlike the test cluster) this starts a real ``switchboard serve`` process, creates an API
inbox, and measures with wrk (a C load generator; a Python client would be the bottleneck):

- ``/healthz`` of the same process at 1, 16 and 64 connections: HTTP with no database work;
- the RAW commit rate of the same database: a single-row INSERT + COMMIT loop through the
  same driver (sqlite3 / asyncpg) with the same durability settings, one connection;
- API-channel ingest over HTTP at 1, 16 and 64 concurrent senders (every 2xx means the
  message, its contact, conversation, clock and events are committed);
- the batch path: the API channel's batch endpoint (100 messages per POST, the same
  ingest code and group commit), 16 connections;

and prints the ratios ingest / healthz and batch / raw commit (docs/ingest.md).

    .venv/bin/python bench/ingest.py [--seconds 10] [--code DIR] [--only sqlite|postgresql]

``--code DIR`` runs the server from another checkout (the code before, for a baseline);
a checkout without the batch endpoint gets "—" there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.storage.db import _sqlite_pragmas  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.services import PostgresServer  # noqa: E402

PASSWORD = "bench-password-1"
TOKEN = "t" * 24
SENDERS = (1, 16, 64)
BATCH = 100
BATCH_SENDERS = 4


class DurablePostgres(PostgresServer):
    """The test cluster's PostgreSQL with durability back ON (fsync at every commit)."""

    def _command(self) -> list[str]:
        command = super()._command()
        for key in ("fsync", "synchronous_commit", "full_page_writes"):
            command[command.index(f"{key}=off")] = f"{key}=on"
        return command


def start(database_url: str, data_dir: str, code: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_DATA_DIR": data_dir,
        "SWITCHBOARD_PORT": str(port),
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
        "SWITCHBOARD_CREATE_ADMIN_EMAIL": "a@bench.test",
    }
    admin = ["create-admin", "root@bench.test", "--password", PASSWORD]
    subprocess.run(
        [sys.executable, "-m", "server.cli", *admin],
        env=env,
        cwd=code,
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"],
        env=env,
        cwd=code,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, f"http://127.0.0.1:{port}"


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                if (await client.get(base + "/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not become ready")


async def setup(base: str) -> str:
    async with httpx.AsyncClient(base_url=base) as client:
        await client.post(
            "/api/auth/login", json={"email": "root@bench.test", "password": PASSWORD}
        )
        inbox = (
            await client.post(
                "/api/admin/inboxes",
                json={"name": "bench", "kind": "api", "config": {"inbound_token": TOKEN}},
            )
        ).json()
    return str(inbox["public_key"])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Figure:
    """One wrk run: requests/s and the server's CPU milliseconds per request."""

    def __init__(self, rate: float, cpu_ms: float) -> None:
        self.rate, self.cpu_ms = rate, cpu_ms


def run(pid: int, url: str, seconds: int, connections: int, **lua_env: str) -> Figure:
    """wrk for ``seconds``. /healthz: requests/s and CPU per request as wrk counts them.
    Ingest: messages COMMITTED per second of wall time, and the server's CPU per committed
    message, both taken until the server is idle again (what was still in flight when wrk
    stopped is finished and counted): on a loaded machine a request can outlast the run."""
    base = url.split("/api/", 1)[0]
    cpu, started = cpu_seconds(pid), time.perf_counter()
    stored = ingested(base) if lua_env else 0.0
    rate, requests = wrk(url, seconds, connections, **lua_env)
    if lua_env:
        idle(pid)
        requests = int(ingested(base) - stored)
        rate = requests / (time.perf_counter() - started)
    return Figure(rate, (cpu_seconds(pid) - cpu) * 1000 / max(requests, 1))


def warm_up(pid: int, url: str) -> None:
    """Until the 200 contacts and their conversations exist, whatever the machine's load."""
    with httpx.Client(timeout=120, headers={"authorization": f"Bearer {TOKEN}"}) as client:
        for n in range(200):
            body = {"external_id": f"w{n}", "text": "hello", "contact": {"external_id": f"c{n}"}}
            client.post(url, json=body).raise_for_status()
    idle(pid)


def ingested(base: str) -> float:
    """switchboard_messages_ingested_total of the server, summed over channels."""
    text = httpx.get(base.split("/healthz")[0] + "/metrics", timeout=60).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("switchboard_messages_ingested_total")
    )


def idle(pid: int) -> None:
    """Wait until the process used under 20 ms CPU in half a second."""
    last = cpu_seconds(pid)
    while True:
        time.sleep(0.5)
        now = cpu_seconds(pid)
        if now - last < 0.02:
            return
        last = now


def wrk(url: str, seconds: int, connections: int, **lua_env: str) -> tuple[float, int]:
    """(requests/s, requests) from wrk; lua_env set => POSTs through bench/ingest.lua."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", url]
    env = dict(os.environ)
    if lua_env:
        cmd[1:1] = ["-s", str(ROOT / "bench" / "ingest.lua")]
        env.update(SB_INBOUND_TOKEN=TOKEN, SB_RUN=f"{time.time_ns()}", **lua_env)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    if not lua_env and ("Non-2xx" in out or "Socket errors" in out):
        raise RuntimeError(f"errors during the run:\n{out}")
    if lua_env:  # refused messages (e.g. 503: no pooled connection free) are reported
        refused = [line for line in out.splitlines() if "Non-2xx" in line or "Socket" in line]
        if refused:
            print("    wrk:", "; ".join(line.strip() for line in refused), flush=True)
    rate = float(
        next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec"))
    )
    if rate <= 0 and not lua_env:
        raise RuntimeError(f"nothing answered during the run:\n{out}")
    requests = int(next(line.split()[0] for line in out.splitlines() if " requests in " in line))
    return rate, requests


def raw_sqlite(path: str, seconds: float) -> float:
    """Single-row INSERT + COMMIT through sqlite3 with the project's pragmas."""
    conn = sqlite3.connect(path)
    _sqlite_pragmas(conn, None)
    conn.execute("CREATE TABLE IF NOT EXISTS bench_raw (id INTEGER PRIMARY KEY, v TEXT)")
    n, end = 0, time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < end:
        for _ in range(100):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO bench_raw (v) VALUES (?)", (f"row {n}",))
            conn.execute("COMMIT")
            n += 1
    rate = n / (time.perf_counter() - start)
    conn.execute("DROP TABLE bench_raw")
    conn.close()
    return rate


async def raw_postgres(url: str, seconds: float) -> float:
    """Single-row INSERT, each its own transaction (autocommit), through asyncpg."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE bench_raw (id BIGSERIAL PRIMARY KEY, v TEXT)")
        insert = await conn.prepare("INSERT INTO bench_raw (v) VALUES ($1)")
        n, end = 0, time.perf_counter() + seconds
        start = time.perf_counter()
        while time.perf_counter() < end:
            await insert.fetch(f"row {n}")
            n += 1
        rate = n / (time.perf_counter() - start)
        await conn.execute("DROP TABLE bench_raw")
        return rate
    finally:
        await conn.close()


def batch_supported(base: str, key: str) -> bool:
    response = httpx.post(
        f"{base}/api/channels/api/{key}/messages/batch",
        json={"messages": [{"external_id": "probe", "contact": {"external_id": "p"}}]},
        headers={"authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    return response.status_code == 200


async def measure(label: str, database_url: str, seconds: int, code: Path) -> None:
    with tempfile.TemporaryDirectory() as data:
        proc, base = start(database_url, data, code)
        try:
            await wait_ready(base)
            key = await setup(base)
            if database_url.startswith("sqlite"):
                raw = raw_sqlite(database_url.split(":///", 1)[1], 3.0)
            else:
                raw = await raw_postgres(database_url, 3.0)
            url = f"{base}/api/channels/api/{key}/messages"
            warm_up(proc.pid, url)
            print(f"{label}: raw single-row INSERT+COMMIT {raw:,.0f}/s (1 connection)")
            for senders in SENDERS:
                healthz = run(proc.pid, base + "/healthz", seconds, senders)
                ingest = run(proc.pid, url, seconds, senders, SB_BATCH="1")
                print(
                    f"{label}: {senders:2d} senders  ingest {ingest.rate:7,.0f} msg/s "
                    f"({ingest.cpu_ms:.2f} ms CPU/msg)  /healthz {healthz.rate:7,.0f} req/s "
                    f"({healthz.cpu_ms:.2f} ms CPU/req)  ratio {ingest.rate / healthz.rate:.3f}",
                    flush=True,
                )
            if batch_supported(base, key):
                batch = run(proc.pid, url, seconds, BATCH_SENDERS, SB_BATCH=str(BATCH))
                rate = batch.rate
                print(
                    f"{label}: batch path ({BATCH} msg per POST, {BATCH_SENDERS} connections) "
                    f"{rate:7,.0f} msg/s ({batch.cpu_ms:.2f} ms CPU/msg)  "
                    f"raw commit {raw:,.0f}/s  ratio {rate / raw:.3f}",
                    flush=True,
                )
            else:
                print(f"{label}: batch path —  (this checkout has no batch endpoint)")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    code = args.code.resolve()
    print(f"code: {code}  ({args.seconds} s per figure, load average {os.getloadavg()[0]:.1f})")
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            await measure("sqlite (WAL, synchronous=NORMAL)", url, args.seconds, code)
    if args.only != "sqlite":
        pg = DurablePostgres()
        pg.start()
        try:
            url = pg.create_database("bench")
            await measure("postgresql (fsync on)", url, args.seconds, code)
        finally:
            pg.close()


if __name__ == "__main__":
    asyncio.run(main())
