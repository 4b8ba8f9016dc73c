"""A node whose wall clock is an hour off still stamps messages by the shared clock.

A real node (``switchboard serve`` in a child process) runs under libfaketime with its
CLOCK_REALTIME an hour ahead, as after a wrong NTP step. On PostgreSQL every time it
stores is the database's clock carried forward by its monotonic clock (server/storage/
schema.py ``utcnow``, anchored at each heartbeat): the message it stores carries the right
time, so first-response times stay true, and its log says how far off its wall clock is.
On SQLite there is one node, and its clock is the only one: its stamps follow it.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from server.storage import schema as t
from tests.chaos.harness import JUMP, _faketime_env
from tests.realtime.nodes import migrate, start_node
from tests.support.api import INBOUND_TOKEN, post_inbound


async def test_a_node_an_hour_ahead_stamps_messages_by_the_shared_clock(
    tmp_path: Path, database_url: str
) -> None:
    postgres = database_url.startswith("postgresql")
    env = _faketime_env(tmp_path, "ahead")
    (tmp_path / "ahead.faketime").write_text(f"+{JUMP}\n")
    migrate(tmp_path, database_url, "")
    node = await asyncio.to_thread(start_node, tmp_path, "ahead", database_url, "", **env)
    engine = create_async_engine(_async_url(database_url))
    try:
        async with engine.connect() as conn:  # its first heartbeat: its clock is anchored
            for _ in range(200):
                if (await conn.execute(sa.select(sa.func.count()).select_from(t.nodes))).scalar():
                    break
                await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=node.base_url, timeout=30) as http:
            login = await http.post(
                "/api/auth/login",
                json={"email": "admin@example.test", "password": node.admin_password()},
            )
            assert login.status_code == 200, login.text
            created = await http.post(
                "/api/admin/inboxes",
                headers={"authorization": f"Bearer {login.json()['token']}"},
                json={
                    "name": "API",
                    "kind": "api",
                    "member_ids": [],
                    "config": {"inbound_token": INBOUND_TOKEN, "webhook_secret": "s" * 20},
                },
            )
            assert created.status_code == 201, created.text
            posted = await post_inbound(http, created.json(), text="what time is it?")
            assert posted.status_code in (200, 201), posted.text
        async with engine.connect() as conn:
            stamp = (await conn.execute(sa.select(t.messages.c.created_at))).scalar_one()
        off = (stamp - datetime.now(UTC)).total_seconds()
        if postgres:
            assert abs(off) < 60, f"stamped {off:+.0f} s off the database's clock"
            assert "wall clock is +3600" in node.log.read_text()
        else:  # one node: its clock is the clock
            assert abs(off - JUMP) < 60, off
    finally:
        await engine.dispose()
        node.kill(signal.SIGKILL)


def _async_url(url: str) -> str:
    if url.startswith("sqlite:///"):
        return url.replace("sqlite:///", "sqlite+aiosqlite:///", 1)
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)
