"""SQLite without a thread hop per statement.

aiosqlite runs every driver call (cursor, execute, fetch, close, commit) on a worker
thread and wakes the event loop for each: measured here at ~120 hops and ~15 ms per
inbound message, worse under load as the hops wait for the GIL. SQLite statements on a
WAL database take microseconds, so this runs them on the event-loop thread with the
standard sqlite3 driver through a synchronous SQLAlchemy engine, behind the small async
surface our code uses (``execute``, ``scalar``, ``run_sync``, ``exec_driver_sql``,
``dialect``). What could block for long is kept off the loop: WAL checkpoints (which
fsync) run on a background thread (see ``Database``), and writers of this process
queue on an asyncio lock, so ``busy_timeout`` only ever waits on other processes (the
CLI), briefly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Dialect, Result

T = TypeVar("T")


class SyncSqliteConnection:
    """The async connection API subset, executed synchronously."""

    def __init__(self, conn: Connection) -> None:
        self.sync_connection = conn

    @property
    def dialect(self) -> Dialect:
        return self.sync_connection.dialect

    async def execute(self, statement: Any, parameters: Any = None, **kw: Any) -> Result[Any]:
        return self.sync_connection.execute(statement, parameters, **kw)

    async def scalar(self, statement: Any, parameters: Any = None, **kw: Any) -> Any:
        return self.sync_connection.scalar(statement, parameters, **kw)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Result[Any]:
        return self.sync_connection.exec_driver_sql(statement, parameters)

    async def run_sync(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        return fn(self.sync_connection, *args, **kw)

    async def execution_options(self, **opts: Any) -> SyncSqliteConnection:
        self.sync_connection.execution_options(**opts)
        return self
