"""Database access: explicit read and write transactions.

SQLite (the embedded default) allows one writer at a time. Instead of letting concurrent
writers collide on "database is locked", writes in this process queue on an asyncio lock
and open with BEGIN IMMEDIATE; WAL mode lets readers proceed meanwhile. PostgreSQL needs
neither: its writers run concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from server.storage import search_index
from server.storage.sqlite_conn import SyncSqliteConnection

log = logging.getLogger(__name__)
CHECKPOINT_EVERY = 1.0  # seconds between background WAL checkpoints (see sqlite_conn.py)


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
    """The engine plus the write discipline of its dialect.

    ``read()`` and ``write()`` yield an ``AsyncConnection`` on PostgreSQL and a
    ``SyncSqliteConnection`` (the same async methods) on SQLite.
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.engine: AsyncEngine | None = None
        self.sync_engine: Engine | None = None
        if self.is_sqlite:
            self.sync_engine = self._sqlite_engine(pool_size)
        else:
            self.engine = create_async_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size * 2
            )
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._checkpointer: asyncio.Task[None] | None = None

    def _sqlite_engine(self, pool_size: int) -> Engine:
        path = self.url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine("sqlite:///" + path, pool_size=pool_size, max_overflow=0)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: commits on success, rolls back on any exception."""
        if self.sync_engine is None:
            assert self.engine is not None
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock:  # type: ignore[union-attr]
            self._start_checkpointer()
            with self.sync_engine.connect() as sync:
                sync.execution_options(sb_write=True)
                with sync.begin():
                    yield cast(AsyncConnection, SyncSqliteConnection(sync))

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only connection (a consistent snapshot)."""
        if self.sync_engine is None:
            assert self.engine is not None
            async with self.engine.connect() as conn:
                yield conn
            return
        with self.sync_engine.connect() as sync:
            yield cast(AsyncConnection, SyncSqliteConnection(sync))

    @property
    def dialect_name(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    async def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
        if self.engine is not None:
            await self.engine.dispose()
        if self.sync_engine is not None:
            self.sync_engine.dispose()

    async def ping(self) -> None:
        async with self.read() as conn:
            await conn.execute(sa.text("SELECT 1"))

    def _start_checkpointer(self) -> None:
        if self._checkpointer is None:
            self._checkpointer = asyncio.create_task(self._checkpoint_loop())

    async def _checkpoint_loop(self) -> None:
        """Move WAL pages into the database off the event loop (it fsyncs)."""
        assert self.sync_engine is not None
        engine = self.sync_engine
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY)
            try:
                await asyncio.to_thread(_checkpoint, engine)
            except Exception:  # a busy checkpoint is retried on the next round
                log.debug("WAL checkpoint skipped", exc_info=True)


def _checkpoint(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, issue BEGIN, so BEGIN IMMEDIATE takes effect.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # persistent in the file; cheap when already set
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")  # only other processes (the CLI) can hold it
    cursor.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run off the loop instead
    cursor.close()
    search_index.register_sqlite_functions(dbapi_conn)  # the search index's triggers call it


def _sqlite_begin(conn: Any) -> None:
    # Writers take the lock up front: a deferred BEGIN that later writes can fail at once
    # with SQLITE_BUSY when another process (the CLI, a backup) wrote in between.
    write = conn.get_execution_options().get("sb_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
