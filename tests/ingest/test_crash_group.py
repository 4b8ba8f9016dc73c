"""kill -9 of a `serve` process in the middle of group commits under concurrent load:
every message acknowledged with a 2xx is stored exactly once, and redelivering every
message afterwards (acknowledged or not) still leaves exactly one row per message."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from server.storage import schema as t
from server.storage.db import Database
from tests.integration.test_crash import PASSWORD, Node
from tests.support.api import create_api_inbox, eventually, post_inbound
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SENDERS = 48


class LoggedNode(Node):
    """A `serve` process whose output goes to a file (shown when a start fails), with a
    start-up allowance for a loaded machine."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        super().__init__(env)
        self.log = log

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve"],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        async def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"serve exited:\n{self.log.read_text()[-3000:]}")
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(self.base + "/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, timeout=120)


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Iterator[LoggedNode]:
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": database_url,
        "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
        "SWITCHBOARD_PORT": str(free_port()),
        "SWITCHBOARD_SECRET_KEY": "g" * 40,
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
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
    n = LoggedNode(env, tmp_path / "serve.log")
    yield n
    n.stop()


async def _stored(url: str, inbox_id: int) -> dict[str, list[int]]:
    """external id -> ids of the rows holding it."""
    db = Database(url)
    m = t.messages.c
    try:
        async with db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(m.id, m.external_id).where(
                        m.inbox_id == inbox_id, m.kind == "message"
                    )
                )
            ).all()
    finally:
        await db.dispose()
    found: dict[str, list[int]] = {}
    for row in rows:
        found.setdefault(row.external_id, []).append(row.id)
    return found


async def test_kill9_mid_group_loses_nothing_acknowledged(
    node: LoggedNode, database_url: str
) -> None:
    await node.start()
    admin = httpx.AsyncClient(base_url=node.base, timeout=30)
    await admin.post("/api/auth/login", json={"email": "ops@example.test", "password": PASSWORD})
    inbox = await create_api_inbox(admin)
    await admin.aclose()
    acked: dict[str, int] = {}  # external id -> message id answered with a 2xx
    sent: list[str] = []
    counter = itertools.count()
    stop = asyncio.Event()

    async def sender(n: int) -> None:
        async with httpx.AsyncClient(base_url=node.base, timeout=30) as client:
            while not stop.is_set():
                external_id = f"k{next(counter)}"
                sent.append(external_id)
                try:
                    response = await post_inbound(
                        client, inbox, external_id=external_id, contact=f"c{n % 12}"
                    )
                except httpx.HTTPError:
                    return  # the server died under this request: not acknowledged
                if response.status_code in (200, 201):
                    acked[external_id] = response.json()["message_id"]

    tasks = [asyncio.create_task(sender(n)) for n in range(SENDERS)]
    while len(acked) < 100:  # well into the run: groups are forming and committing
        await asyncio.sleep(0.02)
    node.kill9()  # requests of the group in flight are cut off mid-transaction
    stop.set()
    await asyncio.gather(*tasks)
    unacked = [e for e in sent if e not in acked]
    assert unacked, "the kill must land while requests are in flight"

    stored = await _stored(database_url, inbox["id"])
    for external_id, message_id in acked.items():
        assert stored.get(external_id) == [message_id], external_id  # exactly once, same row

    # the integration redelivers everything it did not get an answer for: still exactly
    # one row each
    await node.start()
    async with httpx.AsyncClient(base_url=node.base, timeout=30) as client:
        sem = asyncio.Semaphore(16)

        async def redeliver(external_id: str, n: int) -> None:
            async with sem:
                response = await post_inbound(
                    client, inbox, external_id=external_id, contact=f"c{n % 12}"
                )
                assert response.status_code in (200, 201), response.text
                if external_id in acked:
                    assert response.status_code == 200
                    assert response.json()["message_id"] == acked[external_id]

        sample = [e for e in sent if e in acked][:20]  # and some it did (keeps the test short)
        again = [(n, e) for n, e in enumerate(sent) if e not in acked or e in sample]
        await asyncio.gather(*(redeliver(e, n) for n, e in again))
    stored = await _stored(database_url, inbox["id"])
    assert sorted(stored) == sorted(set(sent))
    assert all(len(ids) == 1 for ids in stored.values())
