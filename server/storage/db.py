"""Database access: explicit read and write transactions.

SQLite (the embedded default) allows one writer at a time. Instead of letting concurrent
writers collide on "database is locked", writes in this process queue on an asyncio lock
and open with BEGIN IMMEDIATE; WAL mode lets readers proceed meanwhile. PostgreSQL needs
neither: its writers run concurrently.

An unreachable database is one error, ours: a driver or pool failure that means "the
database did not answer" (refused, lost connection, timed out, frozen, shutting down,
locked or full) leaves ``read()``/``write()`` as ``DatabaseUnavailable`` (503 with
Retry-After at the HTTP boundary) and is logged once per kind per interval, not with a
traceback per request. Timeouts bound every wait on PostgreSQL, so a frozen server
(SIGSTOP) fails requests instead of hanging them; ``check()`` answers readiness within
its deadline whatever the database does (README "Operations").
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

from server.exceptions import DatabaseUnavailable
from server.log_throttle import Throttle
from server.storage import search_index
from server.storage.sqlite_conn import SyncSqliteConnection

log = logging.getLogger(__name__)
_throttled = Throttle(log)
CHECKPOINT_EVERY = 1.0  # seconds between background WAL checkpoints (see sqlite_conn.py)
CONNECT_TIMEOUT = 3.0  # s: a loopback or LAN connect takes milliseconds
STATEMENT_TIMEOUT = 10.0  # s, server side: a runaway statement is cancelled
COMMAND_TIMEOUT = 12.0  # s, client side (a little longer): a frozen server fails, not hangs
POOL_TIMEOUT = 5.0  # s waiting for a pooled connection (all may be stuck on a frozen server)
# SQLSTATE classes that mean "not available now": 08 connection exception, 40 transaction
# rollback (a deadlock or serialization failure rolled the transaction back: the same
# request again succeeds; the chaos run saw one deadlock answered 500), 53 insufficient
# resources (too many connections, disk full), 57 operator intervention (shutdown,
# starting up, statement cancelled by the timeout).
_UNAVAILABLE_SQLSTATE = ("08", "40", "53", "57")
#: how a deadlock or serialization failure (SQLSTATE 40xxx) is reported: not an outage
CONFLICT = "transaction rolled back by a conflict, to be retried"
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "disk is full",
    "disk i/o error",
    "unable to open database",
    "readonly database",
)


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
            self.engine = _postgres_engine(self.url, pool_size)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._checkpointer: asyncio.Task[None] | None = None
        self._ping: asyncio.Task[None] | None = None
        self._failing = False

    def _sqlite_engine(self, pool_size: int) -> Engine:
        path = self.url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine("sqlite:///" + path, pool_size=pool_size, max_overflow=0)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine

    @asynccontextmanager
    async def write(self, *, unbounded: bool = False) -> AsyncIterator[AsyncConnection]:
        """A write transaction: commits on success, rolls back on any exception.

        ``unbounded``: no statement timeout (migrations rewrite whole tables), on a
        connection of its own that is closed afterwards.
        """
        if unbounded and self.engine is not None:
            engine = _postgres_engine(self.url, 1, bounded=False)
            try:
                async with self._mapped(), engine.begin() as conn:
                    yield conn
            finally:
                await engine.dispose()
            return
        async with self._mapped(), self._write() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only connection (a consistent snapshot)."""
        async with self._mapped(), self._read() as conn:
            yield conn

    @asynccontextmanager
    async def _mapped(self) -> AsyncIterator[None]:
        """Failures that mean "the database did not answer" become DatabaseUnavailable."""
        try:
            yield
        except Exception as exc:
            kind = unavailability(exc)
            if kind is None:
                raise
            self._failing = True
            what = "database conflict" if kind.startswith(CONFLICT) else "database unavailable"
            _throttled.warning(kind, "%s: %s (%s)", what, kind, _brief(exc))
            raise DatabaseUnavailable() from exc
        if self._failing:
            self._failing = False
            log.warning("database answers again")

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
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
    async def _read(self) -> AsyncIterator[AsyncConnection]:
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
        if self._ping is not None:
            self._ping.cancel()
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

    async def check(self, within: float) -> str:
        """Readiness: "ok" or why not, within ``within`` s whatever the database does.

        One ping at a time: a ping still waiting on a frozen server is shared by the
        next checks (never one more stuck connection per probe), and ends on its own
        when the timeouts fire.
        """
        if self._ping is None or self._ping.done():
            self._ping = asyncio.create_task(self.ping(), name="db-ping")
            self._ping.add_done_callback(_retrieve)
        done, _ = await asyncio.wait({self._ping}, timeout=within)
        if not done:
            return "timeout"
        exc = self._ping.exception()
        return "ok" if exc is None else f"error: {type(exc).__name__}"

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


def _postgres_engine(url: str, pool_size: int, *, bounded: bool = True) -> AsyncEngine:
    # pre-ping: a pooled connection that died with a restarted server is replaced
    # transparently instead of failing the next request
    limits: dict[str, Any] = {"timeout": CONNECT_TIMEOUT}
    if bounded:
        limits["command_timeout"] = COMMAND_TIMEOUT
        limits["server_settings"] = {"statement_timeout": str(int(STATEMENT_TIMEOUT * 1000))}
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_timeout=POOL_TIMEOUT,
        pool_pre_ping=True,
        connect_args=limits,
    )


def unavailability(exc: BaseException) -> str | None:
    """The failure kind if ``exc`` means the database did not answer; None otherwise."""
    if isinstance(exc, sa.exc.TimeoutError):
        return "no pooled connection free in time"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError):
        return "cannot connect"
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return "connection lost"
    inner = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    state = getattr(inner, "sqlstate", None)
    if isinstance(state, str) and state[:2] == "40":  # deadlock, serialization failure
        return f"{CONFLICT} (SQLSTATE {state})"
    if isinstance(state, str) and state[:2] in _UNAVAILABLE_SQLSTATE:
        return f"refused (SQLSTATE {state})"
    if isinstance(exc, sa.exc.OperationalError):
        text = str(exc.orig).lower()
        if any(marker in text for marker in _SQLITE_UNAVAILABLE):
            return text[:60]
    return None


def _brief(exc: BaseException) -> str:
    cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    return f"{type(cause).__name__}: {cause}"[:200]


def _retrieve(task: asyncio.Task[None]) -> None:
    """A ping nobody waited for any more still has its outcome read (no "never
    retrieved" warnings); readiness reported it already."""
    if not task.cancelled():
        task.exception()


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
