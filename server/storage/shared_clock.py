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

import logging
import time
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from server.log_throttle import Throttle
from server.storage import schema
from server.storage.schema import UTCDateTime, utcnow

log = logging.getLogger(__name__)
_throttle = Throttle(log, interval=600.0)
#: a reading whose round trip took longer says too little about the instant it was taken
ANCHOR_MAX_ROUND_TRIP = 0.25  # s
#: a node whose wall clock is further off the database's says so in its log
SKEW_WARNING = 2.0  # s


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


async def anchor(conn: Any) -> float | None:
    """Read PostgreSQL's clock and anchor this process's ``utcnow()`` to it (see
    server/storage/schema.py): called with each heartbeat. Returns how far this node's
    wall clock is from the database's, in seconds (None: not anchored: SQLite, or a reading
    too slow to trust, and the last anchor stays)."""
    if conn.dialect.name != "postgresql":
        return None
    before = time.monotonic()
    query = sa.select(sa.type_coerce(sa.func.clock_timestamp(), UTCDateTime()))
    shared: datetime = (await conn.execute(query)).scalar_one()
    after = time.monotonic()
    if after - before > ANCHOR_MAX_ROUND_TRIP:
        return None
    middle = (before + after) / 2
    schema.set_clock_anchor((middle, shared))
    skew = (datetime.now(UTC) - shared).total_seconds() - (time.monotonic() - middle)
    if abs(skew) > SKEW_WARNING:
        _throttle.warning(
            "clock-skew",
            "this node's wall clock is %+.1f s off the database's; Switchboard keeps time "
            "by the database's clock (README.md, 'Operating it': clocks)",
            skew,
        )
    return skew
