"""Inbound API-channel messages committed per second by one server process.

Starts a real server process (SQLite, then a throw-away PostgreSQL), creates an API inbox,
and POSTs messages with wrk (a separate process) from C connections. The baseline,
measured in the same run against the same process, is GET /healthz: HTTP with no database
work, so the ratio shows what durable ingest (dedupe, contact, conversation, FRT clock,
events — all in one transaction) costs on top of HTTP.

    .venv/bin/python bench/ingest.py [--seconds 10] [--connections 16]   (needs wrk: apt)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.ports import free_port  # noqa: E402
from tests.support.services import PostgresServer  # noqa: E402

PASSWORD = "bench-password-1"


def start(database_url: str, data_dir: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_DATA_DIR": data_dir,
        "SWITCHBOARD_PORT": str(port),
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
        "SWITCHBOARD_CREATE_ADMIN_EMAIL": "a@bench.test",
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "create-admin",
            "root@bench.test",
            "--password",
            PASSWORD,
        ],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, f"http://127.0.0.1:{port}"


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
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
                json={"name": "bench", "kind": "api", "config": {"inbound_token": "t" * 24}},
            )
        ).json()
    return str(inbox["public_key"])


def wrk(url: str, seconds: int, connections: int, script: str | None = None) -> float:
    """Requests/s from wrk (a C load generator: a Python client would be the bottleneck)."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
    if script:
        cmd[1:1] = ["-s", script]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"errors during the run:\n{out}")
    return float(
        next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec"))
    )


async def measure(label: str, database_url: str, seconds: int, connections: int) -> None:
    with tempfile.TemporaryDirectory() as data:
        proc, base = start(database_url, data)
        try:
            await wait_ready(base)
            key = await setup(base)
            baseline = wrk(base + "/healthz", seconds, connections)
            url = f"{base}/api/channels/api/{key}/messages"
            warm = wrk(url, 2, connections, str(ROOT / "bench" / "ingest.lua"))
            rate = wrk(url, seconds, connections, str(ROOT / "bench" / "ingest.lua"))
            print(
                f"{label:10s} ingest {rate:7.0f} msg/s (first 2 s, new contacts: {warm:5.0f})  "
                f"/healthz {baseline:6.0f} req/s  ratio {rate / baseline:.3f}  "
                f"({connections} connections, {seconds} s, 200 contacts)"
            )
        finally:
            proc.terminate()
            proc.wait(timeout=15)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await measure("sqlite", f"sqlite:///{tmp}/bench.db", args.seconds, args.connections)
    pg = PostgresServer()
    pg.start()
    try:
        url = pg.create_database("bench")
        await measure("postgresql", url, args.seconds, args.connections)
    finally:
        pg.close()


if __name__ == "__main__":
    asyncio.run(main())
