"""Pure statistics for first-response reports (no I/O): median, p90, mean per group."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any


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
        "median": percentile(data, 0.5),
        "p90": percentile(data, 0.9),
        "mean": sum(data) / len(data) if data else None,
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


def group(segments: Sequence[SegmentRow], by: str, labels: dict[Any, str]) -> list[dict[str, Any]]:
    """Figures per group; unanswered segments count in ``count`` but not in the times."""
    key_of = GROUP_KEYS[by]
    buckets: dict[Any, list[SegmentRow]] = {}
    for seg in segments:
        buckets.setdefault(key_of(seg), []).append(seg)
    out = []
    for key, rows in sorted(buckets.items(), key=lambda kv: str(kv[0])):
        wall = summary(r.wall_seconds for r in rows)
        business = summary(r.business_seconds for r in rows)
        resolution = summary(r.resolution_seconds for r in rows)
        out.append(
            {
                "key": key,
                "label": labels.get(key, "—" if key is None else str(key)),
                "count": len(rows),
                "answered": sum(1 for r in rows if r.responded_at),
                **wall,
                **{f"business_{k}": v for k, v in business.items()},
                "resolved": sum(1 for r in rows if r.resolution_seconds is not None),
                **{f"resolution_{k}": v for k, v in resolution.items()},
            }
        )
    return out
