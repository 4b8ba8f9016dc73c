"""Report endpoints p50/p95 over many conversations: daily rollups against the naive path
(every row of the period fetched and computed in Python), in the same run.

Fills a fresh database (SQLite file, then a throw-away PostgreSQL) through the real
schema and migrations with N conversations over two years in 10 inboxes (Europe/Warsaw),
40 agents and 5 teams: segments (a fifth reopened), next-response waits, resolutions and
CSAT answers, inserted straight into their tables; then the rollups are backfilled by the
migration's own function (``server.reporting.rollup.rebuild``). A server runs in this
process; every case is asked over HTTP twice: from the rollups, and with the rollups
switched off (``rollup.EXACT_MAX`` above any period: the old compute-everything path).

    .venv/bin/python bench/reports.py                       # 1,000,000 conversations
    .venv/bin/python bench/reports.py --conversations 100000 --engines sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.crypto import hash_password  # noqa: E402
from server.reporting import rollup  # noqa: E402
from server.storage import schema as t  # noqa: E402
from server.storage.csat_schema import csat_surveys  # noqa: E402
from server.storage.db import Database  # noqa: E402
from server.storage.migrations import migrate  # noqa: E402
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings, start_server  # noqa: E402
from tests.support.services import PostgresServer  # noqa: E402

INBOXES, AGENTS, TEAMS, DAYS = 10, 40, 5, 730
ZONE = "Europe/Warsaw"
HOURS = {
    "timezone": ZONE,
    "weekly": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": [],
}
KINDS = ("api", "email", "webchat", "telegram", "whatsapp")
BATCH = 10_000
END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def cases() -> list[tuple[str, str, dict[str, Any]]]:
    def span(days: int) -> dict[str, str]:
        return {"from": (END - timedelta(days=days)).isoformat(), "to": END.isoformat()}

    out: list[tuple[str, str, dict[str, Any]]] = []
    for days, interval in ((7, "day"), (30, "day"), (90, "week"), (365, "day"), (365, "month")):
        out.append(
            (
                f"trends {days}d/{interval}",
                "/api/reports/trends",
                {**span(days), "interval": interval, "tz": ZONE},
            )
        )
    out.append(("trends 30d/day 1 inbox", "/api/reports/trends", {**span(30), "inbox_id": 1}))
    for days, by in ((30, "agent"), (30, "team"), (365, "inbox"), (365, "channel"), (365, "agent")):
        out.append((f"frt {days}d by {by}", "/api/reports/frt", {**span(days), "group_by": by}))
    out.append(("nrt 30d by agent", "/api/reports/nrt", {**span(30), "group_by": "agent"}))
    return out


def lognormal(rng: random.Random, median: float) -> float:
    return round(median * math.exp(rng.gauss(0, 1.2)))


def generate(n: int, first_id: int, rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    convs, cycles, waits, surveys = [], [], [], []
    for cid in range(first_id, first_id + n):
        inbox = cid % INBOXES + 1
        agent = rng.randrange(AGENTS) + 2  # user 1 is the admin
        team = agent % TEAMS + 1
        at = END - timedelta(seconds=rng.randrange(DAYS * 86400))
        convs.append(
            {
                "id": cid, "inbox_id": inbox, "contact_id": 1, "status": "resolved",
                "token": f"b{cid}", "labels": [], "channel_data": {}, "priority": "none",
                "created_at": at, "updated_at": at,
            }
        )  # fmt: skip
        for idx in range(2 if rng.random() < 0.2 else 1):
            start = at + timedelta(days=2 * idx)
            wall = lognormal(rng, 1200) if rng.random() < 0.9 else None
            resolution = (wall or 0) + lognormal(rng, 7200) if rng.random() < 0.7 else None
            cycles.append(
                {
                    "conversation_id": cid, "inbox_id": inbox, "idx": idx,
                    "channel": KINDS[inbox % len(KINDS)], "started_at": start,
                    "responded_at": start + timedelta(seconds=wall) if wall is not None else None,
                    "responder_id": agent if wall is not None else None, "team_id": team,
                    "wall_seconds": wall,
                    "business_seconds": round(wall * 0.6) if wall is not None else None,
                    "resolved_at": start + timedelta(seconds=resolution) if resolution else None,
                    "resolution_seconds": resolution, "target_seconds": 3600.0,
                }
            )  # fmt: skip
            if wall is not None and rng.random() < 0.3:
                w0 = start + timedelta(seconds=wall + 600)
                nrt = lognormal(rng, 900)
                waits.append(
                    {
                        "conversation_id": cid, "inbox_id": inbox, "idx": idx,
                        "segment_idx": idx, "channel": KINDS[inbox % len(KINDS)],
                        "started_at": w0, "responded_at": w0 + timedelta(seconds=nrt),
                        "responder_id": agent, "team_id": team, "wall_seconds": nrt,
                        "business_seconds": round(nrt * 0.6),
                    }
                )  # fmt: skip
            if resolution and rng.random() < 0.2:
                sent = start + timedelta(seconds=resolution)
                surveys.append(
                    {
                        "conversation_id": cid, "inbox_id": inbox, "cycle_idx": idx,
                        "token_hash": f"{cid}-{idx}", "agent_id": agent, "team_id": team,
                        "channel": KINDS[inbox % len(KINDS)], "labels": [], "language": "en",
                        "state": "sent", "sent_at": sent, "editable_until": sent,
                        "rating": rng.choice((1, 2, 3, 4, 4, 5, 5, 5, None)),
                    }
                )  # fmt: skip
    return {"conversations": convs, "cycles": cycles, "waits": waits, "surveys": surveys}


async def fill(db: Database, total: int) -> tuple[float, dict[str, int]]:
    rng = random.Random(13)
    started = time.perf_counter()
    counts = {"conversations": 0, "cycles": 0, "waits": 0, "surveys": 0}
    async with db.write() as conn:
        await conn.execute(sa.insert(t.contacts).values(id=1, name="Bench customer"))
        await conn.execute(
            sa.insert(t.inboxes),
            [
                {
                    "id": i, "name": f"Inbox {i}", "kind": KINDS[i % len(KINDS)], "config": {},
                    "public_key": f"bench{i}", "business_hours": HOURS,
                    "frt_targets": {"default": 3600},
                }
                for i in range(1, INBOXES + 1)
            ],
        )  # fmt: skip
        await conn.execute(
            sa.insert(t.users),
            [
                {
                    "id": i, "email": f"agent{i}@bench.test", "name": f"Agent {i}",
                    "role": "agent", "password_hash": None,
                }
                for i in range(2, AGENTS + 2)
            ]
            + [
                {
                    "id": 1, "email": ADMIN_EMAIL, "name": "Bench admin", "role": "admin",
                    "password_hash": hash_password(ADMIN_PASSWORD),
                }
            ],
        )  # fmt: skip
        await conn.execute(
            sa.insert(t.teams), [{"id": i, "name": f"Team {i}"} for i in range(1, TEAMS + 1)]
        )
    tables = {
        "conversations": t.conversations,
        "cycles": t.response_cycles,
        "waits": t.response_waits,
        "surveys": csat_surveys,
    }
    raw = await _raw_writer(db)
    try:
        for first in range(1, total + 1, BATCH):
            data = generate(min(BATCH, total - first + 1), first, rng)
            for name, rows in data.items():
                if rows:
                    await raw(tables[name], rows)
                    counts[name] += len(rows)
    finally:
        await raw(None, [])
    return time.perf_counter() - started, counts


async def _raw_writer(db: Database) -> Any:
    """Bulk rows straight into the tables: COPY on PostgreSQL, executemany on SQLite (the
    data set only; the rollups then come from the migration's own backfill)."""
    url = db.url
    if db.dialect_name == "postgresql":
        import asyncpg

        pg = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))

        async def copy(table: sa.Table | None, rows: list[dict[str, Any]]) -> None:
            if table is None:
                await pg.close()
                return
            rows = _complete(table, rows)
            columns = list(rows[0])
            records = [tuple(_pg(r[c]) for c in columns) for r in rows]
            await pg.copy_records_to_table(table.name, records=records, columns=columns)

        return copy
    import sqlite3

    lite = sqlite3.connect(url.split(":///", 1)[1])

    async def insert(table: sa.Table | None, rows: list[dict[str, Any]]) -> None:
        if table is None:
            lite.commit()
            lite.close()
            return
        rows = _complete(table, rows)
        columns = list(rows[0])
        marks = ", ".join("?" for _ in columns)
        lite.executemany(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})",
            [tuple(_lite(r[c]) for c in columns) for r in rows],
        )

    return insert


def _complete(table: sa.Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The columns the rows leave out get their Python-side defaults, as an insert would."""
    extra: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.name in rows[0] or default is None or not hasattr(default, "arg"):
            continue
        arg = default.arg
        extra[column.name] = arg(None) if callable(arg) else arg
    return [{**extra, **row} for row in rows] if extra else rows


def _pg(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _lite(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return json.dumps(value) if isinstance(value, (list, dict)) else value


async def backfill(db: Database) -> float:
    """The migration's backfill (rollup_schema.create calls the same function)."""
    started = time.perf_counter()
    async with db.write(unbounded=True) as conn:
        await conn.run_sync(rollup.rebuild)
    return time.perf_counter() - started


async def timed(client: Any, path: str, params: dict[str, Any], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        response = await client.get(path, params=params)
        samples.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:  # e.g. the server's statement timeout: say so
            print(f"  {path} {response.status_code}: {response.text[:120]}", flush=True)
    samples.sort()
    return statistics.median(samples), samples[max(0, math.ceil(len(samples) * 0.95) - 1)]


async def run_engine(
    label: str, url: str, total: int, runs: int, tmp: Path, reuse: bool = False
) -> None:
    db = Database(url)
    if reuse:  # a kept SQLite file (--sqlite-file): filled and backfilled by an earlier run
        async with db.read() as conn:
            cycles = (await conn.execute(sa.select(sa.func.count(t.response_cycles.c.id)))).one()
        print(f"\n{label}: reusing {url} ({cycles[0]:,} segments)")
    else:
        await migrate(db)
        seconds, counts = await fill(db, total)
        async with db.write(unbounded=True) as conn:
            await conn.exec_driver_sql("ANALYZE")
        built = await backfill(db)
        async with db.write(unbounded=True) as conn:
            await conn.exec_driver_sql("ANALYZE")
            cells = (
                await conn.execute(
                    sa.select(sa.func.count()).select_from(t.metadata.tables["report_rollups"])
                )
            ).scalar_one()
        print(
            f"\n{label}: {counts['conversations']:,} conversations, {counts['cycles']:,} "
            f"segments, {counts['waits']:,} waits, {counts['surveys']:,} surveys filled in "
            f"{seconds:.0f} s; rollups backfilled in {built:.0f} s ({cells:,} rows)"
        )
    await db.dispose()
    settings = make_settings(tmp, url, run_workers=False)
    running = await start_server(settings)
    try:
        client = await running.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        client.timeout = httpx.Timeout(300)
        print(
            f"{'case':<26}{'rollup p50':>11}{'p95':>9}{'naive p50':>11}{'p95':>10}"
            f"{'naive/rollup p95':>18}  load"
        )
        saved = rollup.EXACT_MAX
        for name, path, params in cases():
            rollup.EXACT_MAX = -1
            r50, r95 = await timed(client, path, params, runs)
            rollup.EXACT_MAX = 10**12
            n50, n95 = await timed(client, path, params, max(2, runs // 10))
            rollup.EXACT_MAX = saved
            print(
                f"{name:<26}{r50:>9.0f}ms{r95:>7.0f}ms{n50:>9.0f}ms{n95:>8.0f}ms"
                f"{n95 / r95:>17.1f}x  {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        await running.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument(
        "--sqlite-file", help="keep the SQLite database here; if it exists, reuse it as filled"
    )
    args = parser.parse_args()
    engines = args.engines.split(",")
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in engines:
            file = Path(args.sqlite_file) if args.sqlite_file else Path(tmp) / "reports.db"
            await run_engine(
                "SQLite", f"sqlite:///{file}", args.conversations, args.runs,
                Path(tmp) / "sqlite", reuse=file.exists(),
            )  # fmt: skip
        if "postgres" in engines:
            with PostgresServer() as pg:
                url = pg.create_database("reports_bench")
                await run_engine("PostgreSQL", url, args.conversations, args.runs, Path(tmp) / "pg")


if __name__ == "__main__":
    asyncio.run(main())
