"""Shared fixtures: real PostgreSQL/Redis started once per session, a real Switchboard
server (uvicorn on a free loopback port) per test, and logged-in HTTP clients.

Storage tests take the ``database_url`` fixture, which runs each test on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from server.app import create_app
from server.context import AppContext
from server.realtime.ws_protocol import LeanWebSocketProtocol
from server.settings import Settings, load_settings
from tests.support.ports import free_port
from tests.support.services import PostgresServer, RedisServer

ADMIN_EMAIL = "admin@example.test"
ADMIN_PASSWORD = "admin-password-1"
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new database on the session's PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'switchboard.db'}"
        return
    pg: PostgresServer = request.getfixturevalue("postgres")
    name = f"t{next(_db_counter)}_{abs(hash(request.node.nodeid)) % 10**8}"
    yield pg.create_database(name)
    pg.drop_database(name)


def make_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "secret_key": "k" * 40,
        "create_admin_email": ADMIN_EMAIL,
        "port": free_port(),
        "outbox_poll_interval": 0.2,
        # receivers and stand-ins live on loopback; tests of the guard turn it back off
        "allow_private_urls": True,
    }
    base.update(overrides)
    return load_settings(environ={}, **base)


@dataclass
class Running:
    """A Switchboard server running in this process on a real socket."""

    settings: Settings
    app: Any
    server: uvicorn.Server
    task: asyncio.Task[None]
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.settings.port}"

    @property
    def ctx(self) -> AppContext:
        return self.app.state.ctx  # type: ignore[no-any-return]

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        client = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)
        self.clients.append(client)
        return client

    async def login(self, email: str, password: str) -> httpx.AsyncClient:
        client = self.client()
        response = await client.post("/api/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return client

    async def stop(self) -> None:
        for client in self.clients:
            await client.aclose()
        self.server.should_exit = True
        await asyncio.wait_for(self.task, timeout=15)


async def start_server(settings: Settings) -> Running:
    from server.crypto import hash_password  # noqa: F401  (import cost paid before timing)

    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=settings.port,
        log_level="warning",
        ws=LeanWebSocketProtocol,
        ws_max_size=settings.ws_max_frame_bytes,
        ws_per_message_deflate=settings.ws_compression,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(600):
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    if task.done() or not server.started:
        raise RuntimeError(f"server did not start: {task.exception() if task.done() else ''}")
    return Running(settings, app, server, task)


@pytest.fixture
async def server(tmp_path: Path, database_url: str) -> AsyncIterator[Running]:
    settings = make_settings(tmp_path, database_url)
    running = await start_server(settings)
    await _set_admin_password(running)
    try:
        yield running
    finally:
        await running.stop()


async def _set_admin_password(running: Running) -> None:
    import sqlalchemy as sa

    from server.crypto import hash_password
    from server.storage import schema as t

    async with running.ctx.db.write() as conn:
        await conn.execute(
            sa.update(t.users)
            .where(t.users.c.email == ADMIN_EMAIL)
            .values(password_hash=hash_password(ADMIN_PASSWORD))
        )


@pytest.fixture
async def admin(server: Running) -> httpx.AsyncClient:
    return await server.login(ADMIN_EMAIL, ADMIN_PASSWORD)
