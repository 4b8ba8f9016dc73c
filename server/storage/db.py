"""Database access: one async engine, explicit read and write transactions.

SQLite (the embedded default) allows one writer at a time. Instead of letting concurrent
writers collide on "database is locked", writes in this process queue on an asyncio lock
and open with BEGIN IMMEDIATE; WAL mode lets readers proceed meanwhile. PostgreSQL needs
neither: its writers run concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool


def async_url(url: str) -> str:
    """Map a user-facing URL to the async driver SQLAlchemy needs."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    if url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    return url


class Database:
    """The engine plus the write discipline of its dialect."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.engine: AsyncEngine = self._create_engine(pool_size)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    def _create_engine(self, pool_size: int) -> AsyncEngine:
        if self.is_sqlite:
            path = self.url.split(":///", 1)[1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_async_engine(self.url, poolclass=NullPool)
            sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            sa.event.listen(engine.sync_engine, "begin", _sqlite_begin)
            return engine
        return create_async_engine(self.url, pool_size=pool_size, max_overflow=pool_size * 2)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: commits on success, rolls back on any exception."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.engine.connect() as conn:
            await conn.execution_options(sb_write=True)
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only connection (a consistent snapshot on PostgreSQL)."""
        async with self.engine.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, issue BEGIN, so BEGIN IMMEDIATE takes effect.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")  # other processes (CLI, backups) may hold it
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers take the lock up front: a deferred BEGIN that later writes can fail at once
    # with SQLITE_BUSY when another process (the CLI, a backup) wrote in between.
    write = conn.get_execution_options().get("sb_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
