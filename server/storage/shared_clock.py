"""The clock every node's durable queues are scheduled and claimed by.

Outbox rows, continuity mails, account mails and rules' webhooks are claimed by one node
at a time, retried after a backoff and taken over when their holder dies. Each of those
decisions compares a stored time with "now". When "now" came from each node's own wall
clock, a node whose clock stepped an hour ahead (a wrong NTP step; the chaos suite's
clock_jump) wrote retries an hour late for everyone else, saw the other nodes' claims as
lapsed and sent their deliveries a second time, and ping-ponged a 4xx'd reply with a live
node until its ten attempts were spent in two seconds.

So on PostgreSQL the database's clock decides, for every node alike: ``shared_now`` reads
it (one round trip, for a value used in Python), ``shared_now_sql`` is PostgreSQL's
``now()`` as an expression to store or compare in the same statement (no round trip).
On SQLite there is one node, and its clock is the only one. (README.md, "Operating it": clocks)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from server.storage.schema import UTCDateTime, utcnow


def shared_now_sql(conn: Any) -> Any:
    """ "now" for a value or comparison inside a statement: ``now()`` on PostgreSQL (the
    transaction's start, the same for every statement of it), the node's clock on SQLite.
    Adding a ``timedelta`` works on both (an interval on PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        return sa.func.now(type_=sa.DateTime(timezone=True))  # + timedelta: an interval
    return utcnow()


async def shared_now(conn: Any) -> datetime:
    """The shared clock's "now" as a value (one ``SELECT now()`` on PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        value = await conn.execute(sa.select(sa.type_coerce(sa.func.now(), UTCDateTime())))
        now: datetime = value.scalar_one()
        return now
    return utcnow()


async def seconds_until(db: Any, when: datetime) -> float:
    """Seconds from the shared clock's now until ``when``: how long a queue's worker sleeps
    before its next row is due. (On a node's own clock, one stepped an hour ahead saw every
    row as overdue, while claims, on the shared clock, found none: it spun.)"""
    if db.is_sqlite:
        return (when - utcnow()).total_seconds()
    async with db.read() as conn:
        now = await shared_now(conn)
    return (when - now).total_seconds()
