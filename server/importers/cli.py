"""``switchboard import FILE --inbox N [--format chatwoot]`` (docs/import.md)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from server.settings import Settings

BATCH = 200


def run_import(settings: Settings, path: Path, inbox_id: int, fmt: str) -> int:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"switchboard: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    records, bad = _records(lines, fmt)
    totals = asyncio.run(_write(settings, inbox_id, records))
    for line_no, error in bad + [(n, e) for n, e in totals.pop("errors")]:
        print(f"{path}:{line_no}: {error}", file=sys.stderr)
    failed = len(bad) + totals["failed"]
    print(
        f"imported {len(lines)} lines: {totals['created']} created, {totals['updated']} "
        f"updated, {totals['unchanged']} unchanged, {failed} failed"
    )
    return 1 if failed else 0


def _records(lines: list[str], fmt: str) -> tuple[list[tuple[int, Any]], list[tuple[int, str]]]:
    from server.importers.chatwoot import NotAChatwootConversation, convert

    records: list[tuple[int, Any]] = []
    bad: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            records.append((number, convert(raw) if fmt == "chatwoot" else raw))
        except (ValueError, RecursionError, NotAChatwootConversation) as exc:
            bad.append((number, f"not a {fmt} record: {exc}"))
    return records, bad


async def _write(
    settings: Settings, inbox_id: int, records: list[tuple[int, Any]]
) -> dict[str, Any]:
    from server.api.imports import run_batch
    from server.app import build_context

    ctx = await build_context(settings)
    totals: dict[str, Any] = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0, "errors": []}
    try:
        for start in range(0, len(records), BATCH):
            chunk = records[start : start + BATCH]
            result = await run_batch(ctx, inbox_id, [r for _, r in chunk])
            for key in ("created", "updated", "unchanged", "failed"):
                totals[key] += result[key]
            totals["errors"] += [
                (chunk[r["index"]][0], r["error"]) for r in result["results"] if "error" in r
            ]
    finally:
        await ctx.db.dispose()
    return totals
