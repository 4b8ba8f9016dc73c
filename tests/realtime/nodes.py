"""Real Switchboard nodes as child processes (``python -m server.cli serve``).

The production shape, natively: N processes sharing one PostgreSQL and one Redis.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s" * 40


@dataclass
class Node:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        client = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)
        self.clients.append(client)
        return client

    def admin_password(self) -> str | None:
        found = re.search(r"Created the first admin: \S+ / (\S+)", self.log.read_text())
        return found.group(1) if found else None

    async def close_clients(self) -> None:
        for client in self.clients:
            await client.aclose()
        self.clients.clear()

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """Signal the node's process group and wait for it (SIGKILL after 10 s)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def node_env(
    tmp: Path, name: str, port: int, database_url: str, redis_url: str, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(
        {
            "SWITCHBOARD_DATA_DIR": str(tmp / name),
            "SWITCHBOARD_DATABASE_URL": database_url,
            "SWITCHBOARD_REDIS_URL": redis_url,
            "SWITCHBOARD_SECRET_KEY": SECRET,
            "SWITCHBOARD_PORT": str(port),
            "SWITCHBOARD_NODE_ID": name,
            "SWITCHBOARD_CREATE_ADMIN_EMAIL": "admin@example.test",
            "SWITCHBOARD_OUTBOX_POLL_INTERVAL": "0.2",
            **extra,
        }
    )
    return env


def migrate(tmp: Path, database_url: str, redis_url: str) -> None:
    env = node_env(tmp, "migrate", 1, database_url, redis_url)
    subprocess.run(
        [sys.executable, "-m", "server.cli", "migrate"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def start_node(tmp: Path, name: str, database_url: str, redis_url: str, **extra: str) -> Node:
    """Start a node and poll /readyz until it answers (sync: usable in module fixtures)."""
    port = free_port()
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=node_env(tmp, name, port, database_url, redis_url, **extra),
        )
    node = Node(name, port, process, log)
    with httpx.Client(timeout=2) as probe:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(f"node {name} exited:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if probe.get(f"{node.base_url}/readyz").status_code == 200:
                    return node
            time.sleep(0.05)
    node.kill(signal.SIGKILL)
    raise RuntimeError(f"node {name} did not become ready:\n{log.read_text()[-3000:]}")
