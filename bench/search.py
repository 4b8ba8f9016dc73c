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
    seconds = await fill(db, total)
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
