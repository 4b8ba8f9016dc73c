"""Pure statistics for response-time reports (no I/O): median, p90, mean per group.

Figures are seconds rounded to 0.1 s (``PRECISION``): interpolation and sums of floats
leave noise such as 249299.99999999997 that means nothing to a reader, and a tenth of a
second is finer than any response time anyone acts on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

PRECISION = 1  # decimal places of seconds in reported figures


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, PRECISION)


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..1) by linear interpolation between closest ranks."""
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    frac = pos - lo
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac)


def summary(values: Iterable[float | None]) -> dict[str, float | None]:
    data = sorted(v for v in values if v is not None)
    return {
        "median": rounded(percentile(data, 0.5)),
        "p90": rounded(percentile(data, 0.9)),
        "mean": rounded(math.fsum(data) / len(data)) if data else None,
    }


@dataclass(frozen=True)
class SegmentRow:
    conversation_id: int
    inbox_id: int
    channel: str
    responder_id: int | None
    team_id: int | None
    started_at: str
    responded_at: str | None
    wall_seconds: float | None
    business_seconds: float | None
    resolution_seconds: float | None = None


def _inbox(s: SegmentRow) -> Any:
    return s.inbox_id


def _channel(s: SegmentRow) -> Any:
    return s.channel


def _agent(s: SegmentRow) -> Any:
    return s.responder_id


def _team(s: SegmentRow) -> Any:
    return s.team_id


GROUP_KEYS: dict[str, Callable[[SegmentRow], Any]] = {
    "inbox": _inbox,
    "channel": _channel,
    "agent": _agent,
    "team": _team,
}


def group(
    segments: Sequence[SegmentRow], by: str, labels: dict[Any, str], *, resolution: bool = True
) -> list[dict[str, Any]]:
    """Figures per group; unanswered segments count in ``count`` but not in the times.
    ``resolution=False`` for NRT waits, which have no resolution of their own."""
    key_of = GROUP_KEYS[by]
    buckets: dict[Any, list[SegmentRow]] = {}
    for seg in segments:
        buckets.setdefault(key_of(seg), []).append(seg)
    out = []
    for key, rows in sorted(buckets.items(), key=lambda kv: str(kv[0])):
        wall = summary(r.wall_seconds for r in rows)
        business = summary(r.business_seconds for r in rows)
        figures = {
            "key": key,
            "label": labels.get(key, "—" if key is None else str(key)),
            "count": len(rows),
            "answered": sum(1 for r in rows if r.responded_at),
            **wall,
            **{f"business_{k}": v for k, v in business.items()},
        }
        if resolution:
            figures["resolved"] = sum(1 for r in rows if r.resolution_seconds is not None)
            times = summary(r.resolution_seconds for r in rows)
            figures.update({f"resolution_{k}": v for k, v in times.items()})
        out.append(figures)
    return out


def group_from_rollups(
    aggs: dict[Any, Any], labels: dict[Any, str], *, resolution: bool = True
) -> list[dict[str, Any]]:
    """``group`` from summed rollups (server/reporting/rollup.py): the same figures, with
    percentiles read from histograms (docs/reports.md states the bound)."""
    from server.reporting import rollup

    wall, business, rows = ("frt", "frtb", "seg") if resolution else ("nrt", "nrtb", "wait")
    out = []
    for key, agg in sorted(aggs.items(), key=lambda kv: str(kv[0])):
        figures: dict[str, Any] = {
            "key": key,
            "label": labels.get(key, "—" if key is None else str(key)),
            "count": rollup.count(agg, rows),
            "answered": rollup.count(agg, wall),
            **_summary_of(agg, wall, ""),
            **_summary_of(agg, business, "business_"),
        }
        if resolution:
            figures["resolved"] = rollup.count(agg, "res_s")
            figures.update(_summary_of(agg, "res_s", "resolution_"))
        out.append(figures)
    return out


def _summary_of(agg: Any, metric: str, prefix: str) -> dict[str, float | None]:
    from server.reporting import rollup

    median, p90 = rollup.percentiles(agg, metric, (0.5, 0.9))
    return {
        f"{prefix}median": rounded(median),
        f"{prefix}p90": rounded(p90),
        f"{prefix}mean": rounded(rollup.mean(agg, metric)),
    }
