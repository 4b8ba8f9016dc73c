"""kill -9 of a server process loses no acknowledged message, and a restart resumes the
outbox: real server processes, SIGKILL, restart on the same database."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import create_api_inbox, eventually, post_inbound
from tests.support.ports import free_port
from tests.support.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "crash-test-password"


class Node:
    """A `switchboard serve` process."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.env['SWITCHBOARD_PORT']}"

    async def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve"],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        async def ready() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(self.base + "/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, timeout=30)

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Iterator[Node]:
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
        "SWITCHBOARD_PORT": str(free_port()),
        "SWITCHBOARD_SECRET_KEY": "c" * 40,
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
        "SWITCHBOARD_OUTBOX_POLL_INTERVAL": "0.2",
        "SWITCHBOARD_ALLOW_PRIVATE_URLS": "true",
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "create-admin",
            "ops@example.test",
            "--password",
            PASSWORD,
        ],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    n = Node(env)
    yield n
    n.stop()


async def _admin(node: Node) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=node.base, timeout=30)
    await client.post("/api/auth/login", json={"email": "ops@example.test", "password": PASSWORD})
    return client


async def test_kill9_loses_no_acknowledged_message_and_outbox_resumes(node: Node) -> None:
    await node.start()
    async with Receiver() as receiver:
        receiver.script.extend([503] * 1000)  # the integration is down: replies stay queued
        admin = await _admin(node)
        inbox = await create_api_inbox(admin, webhook_url=receiver.url)
        intake = httpx.AsyncClient(base_url=node.base, timeout=30)
        acked = []
        for i in range(40):
            response = await post_inbound(intake, inbox, external_id=f"k{i}", contact=f"c{i % 5}")
            assert response.status_code == 201
            acked.append(response.json()["message_id"])
        cid = (await admin.get("/api/conversations")).json()["items"][0]["id"]
        reply = await admin.post(
            f"/api/conversations/{cid}/messages",
            json={"text": "we are on it", "client_id": "crash-reply-1"},
        )
        assert reply.status_code == 201
        await eventually(lambda: _has(receiver, 1))  # first attempt failed at the receiver
        await admin.aclose()
        await intake.aclose()
        node.kill9()

        receiver.script.clear()  # the integration is back
        await node.start()
        admin = await _admin(node)
        seen: set[int] = set()
        cursor = None
        while True:
            page = (
                await admin.get(
                    "/api/conversations",
                    params={
                        "status": "all",
                        "limit": "100",
                        **({"cursor": cursor} if cursor else {}),
                    },
                )
            ).json()
            for conv in page["items"]:
                items = (
                    await admin.get(
                        f"/api/conversations/{conv['id']}/messages", params={"limit": "200"}
                    )
                ).json()["items"]
                seen |= {m["id"] for m in items if m["direction"] == "in"}
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert set(acked) <= seen

        async def delivered() -> bool:
            items = (await admin.get(f"/api/conversations/{cid}/messages")).json()["items"]
            return any(m["client_id"] == "crash-reply-1" and m["status"] == "sent" for m in items)

        await eventually(delivered, timeout=60)
        await admin.aclose()
    ids = {r.headers["x-switchboard-delivery"] for r in receiver.requests}
    assert ids == {str(reply.json()["message"]["id"])}  # retried with the same delivery id


async def _has(receiver: Receiver, n: int) -> bool:
    await asyncio.sleep(0)
    return len(receiver.requests) >= n
