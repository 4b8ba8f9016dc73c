"""Full-text search p50/p95 over many messages, against a plain LIKE scan in the same run.

Fills a fresh database (SQLite file, then a throw-away PostgreSQL) with N messages of
synthetic text through the real schema and migrations (so the FTS5 triggers / the
generated tsvector column do the indexing, as in production), then times the read side
that serves ``GET /api/search`` (``server.search.search_messages``, 20 hits, newest first)
and, as the baseline, ``lower(text) LIKE '%word%'`` with the same order and limit.

Query shapes: a rare word (10 messages), a medium one (1 %), a common one (10 %),
two words together, and a prefix as typed ("ordinar" → "ordinary…").

    .venv/bin/python bench/search.py                       # 1,000,000 messages
    .venv/bin/python bench/search.py --messages 100000 --engines sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server import search  # noqa: E402
from server.actors import Actor  # noqa: E402
from server.storage import schema as t  # noqa: E402
from server.storage.db import Database  # noqa: E402
from server.storage.migrations import migrate  # noqa: E402
from tests.support.services import PostgresServer  # noqa: E402

ADMIN = Actor(id=1, role="admin", name="bench")
MARKERS = {"zyxrare": 10, "mediumword": 0.01, "commonword": 0.10}
QUERIES = {
    "rare word": "zyxrare",
    "medium word": "mediumword",
    "common word": "commonword",
    "two words": "commonword mediumword",
    "prefix": "mediumwo",
}
PER_CONVERSATION = 10
BATCH = 5_000


def words(rng: random.Random, n: int) -> str:
    return " ".join(f"w{int(rng.paretovariate(1.1)) % 20000}" for _ in range(n))


def texts(total: int, rng: random.Random) -> list[str]:
    rare = set(rng.sample(range(total), MARKERS["zyxrare"]))
    out = []
    for i in range(total):
        parts = [words(rng, rng.randint(5, 30))]
        if i in rare:
            parts.append("zyxrare")
        if rng.random() < MARKERS["mediumword"]:
            parts.append("mediumword")
        if rng.random() < MARKERS["commonword"]:
            parts.append("commonword")
        out.append(" ".join(parts))
    return out


PG_FILL = """
INSERT INTO messages (conversation_id, inbox_id, direction, kind, sender_type, is_auto, text,
                      attachments, status, content_attributes, sent_at, version, created_at)
SELECT (g - 1) / {per} + 1, :inbox, 'in', 'message', 'contact', false,
       (SELECT string_agg('w' || (floor(20000 * power(random(), 8)))::int, ' ')
          FROM generate_series(1, 5 + (g % 26)))
       || CASE WHEN g % (CAST(:total AS int) / 10) = 7 THEN ' zyxrare' ELSE '' END
       || CASE WHEN random() < 0.01 THEN ' mediumword' ELSE '' END
       || CASE WHEN random() < 0.10 THEN ' commonword' ELSE '' END,
       '[]', 'received', '{{}}', now() - make_interval(secs => CAST(:total AS int) - g), 1, now()
FROM generate_series(CAST(:start AS int), CAST(:stop AS int)) AS g
"""


async def fill_postgres(db: Database, total: int) -> float:
    """The same shape of text, generated inside PostgreSQL: a million rows in a minute
    instead of a quarter of an hour through the driver (the index work is the same)."""
    started = time.perf_counter()
    inbox_id, contact_id = await _owners(db)
    async with db.write() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO conversations (id, inbox_id, contact_id, status, token, labels, "
                "channel_data, priority, version, created_at, updated_at) SELECT g, :inbox, "
                ":contact, 'open', 'tok-' || g, '[]', '{}', 'none', 1, now(), now() "
                "FROM generate_series(1, CAST(:n AS int)) AS g"
            ),
            {
                "inbox": inbox_id,
                "contact": contact_id,
                "n": (total + PER_CONVERSATION - 1) // PER_CONVERSATION,
            },
        )
    for start in range(1, total + 1, 10_000):
        async with db.write() as conn:
            # a bulk fill is no request: the server's 10 s statement timeout is lifted here
            await conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
            await conn.execute(
                sa.text(PG_FILL.format(per=PER_CONVERSATION)),
                {
                    "inbox": inbox_id,
                    "total": total,
                    "start": start,
                    "stop": min(total, start + 9_999),
                },
            )
    return time.perf_counter() - started


async def _owners(db: Database) -> tuple[int, int]:
    async with db.write() as conn:
        inbox = await conn.execute(
            sa.insert(t.inboxes).values(name="bench", kind="api", config={}, public_key="bench")
        )
        contact = await conn.execute(sa.insert(t.contacts).values(name="Bench customer"))
        return inbox.inserted_primary_key[0], contact.inserted_primary_key[0]


async def fill(db: Database, total: int) -> float:
    rng = random.Random(7)
    now = datetime.now(UTC)
    started = time.perf_counter()
    async with db.write() as conn:
        inbox = await conn.execute(
            sa.insert(t.inboxes).values(name="bench", kind="api", config={}, public_key="bench")
        )
        inbox_id = inbox.inserted_primary_key[0]
        contact = await conn.execute(sa.insert(t.contacts).values(name="Bench customer"))
        contact_id = contact.inserted_primary_key[0]
    all_texts = texts(total, rng)
    for start in range(0, total, BATCH):
        await _batch(db, all_texts[start : start + BATCH], start, inbox_id, contact_id, now)
    return time.perf_counter() - started


async def _batch(
    db: Database, batch: list[str], start: int, inbox_id: int, contact_id: int, now: datetime
) -> None:
    async with db.write() as conn:
        first_conv = start // PER_CONVERSATION
        convs = [
            {
                "id": first_conv + k + 1,
                "inbox_id": inbox_id,
                "contact_id": contact_id,
                "status": "open",
                "token": f"tok-{first_conv + k}",
                "labels": [],
                "channel_data": {},
                "priority": "none",
            }
            for k in range(len(batch) // PER_CONVERSATION)
        ]
        await conn.execute(sa.insert(t.conversations), convs)
        rows = [
            {
                "conversation_id": (start + i) // PER_CONVERSATION + 1,
                "inbox_id": inbox_id,
                "direction": "in",
                "kind": "message",
                "sender_type": "contact",
                "text": text,
                "attachments": [],
                "status": "received",
                "content_attributes": {},
                "sent_at": now - timedelta(seconds=len(batch) - i),
            }
            for i, text in enumerate(batch)
        ]
        await conn.execute(sa.insert(t.messages), rows)


async def timed(fn: Any, runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


async def measure(db: Database, runs: int) -> list[tuple[str, float, float, float, float, int]]:
    out = []
    for name, q in QUERIES.items():

        async def fts(q: str = q) -> int:
            async with db.read() as conn:
                found = await search.search_messages(conn, ADMIN, {"q": q}, 20)
            return len(found["items"])

        async def like(q: str = q) -> int:
            m = t.messages.c
            cond = [sa.func.lower(m.text).like(f"%{w}%") for w in q.split()]
            query = sa.select(m.id, m.text).where(*cond).order_by(m.id.desc()).limit(20)
            async with db.read() as conn:
                return len((await conn.execute(query)).all())

        hits = await fts()
        assert hits == await like(), f"{name}: FTS and LIKE disagree"
        f50, f95 = await timed(fts, runs)
        l50, l95 = await timed(like, max(3, runs // 10))
        out.append((name, f50, f95, l50, l95, hits))
    return out


async def run_engine(label: str, url: str, total: int, runs: int) -> None:
    db = Database(url)
    await migrate(db)
    seconds = await (fill_postgres if db.dialect_name == "postgresql" else fill)(db, total)
    async with db.write() as conn:  # what autovacuum (PostgreSQL) or `ANALYZE` would do
        await conn.exec_driver_sql("ANALYZE")
    print(f"\n{label}: {total:,} messages filled in {seconds:.0f} s ({total / seconds:,.0f}/s)")
    print(
        f"{'query':<14}{'FTS p50':>10}{'FTS p95':>10}{'LIKE p50':>10}{'LIKE p95':>10}"
        f"{'LIKE/FTS p95':>14}{'hits':>6}"
    )
    for name, f50, f95, l50, l95, hits in await measure(db, runs):
        print(
            f"{name:<14}{f50:>8.1f}ms{f95:>8.1f}ms{l50:>8.1f}ms{l95:>8.1f}ms"
            f"{l95 / f95:>13.1f}x{hits:>6}"
        )
    await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--engines", default="sqlite,postgres")
    args = parser.parse_args()
    engines = args.engines.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in engines:
            await run_engine(
                "SQLite (FTS5)", f"sqlite:///{tmp}/search.db", args.messages, args.runs
            )
        if "postgres" in engines:
            with PostgresServer() as pg:
                url = pg.create_database("search_bench")
                await run_engine("PostgreSQL (tsvector + GIN)", url, args.messages, args.runs)


if __name__ == "__main__":
    asyncio.run(main())
