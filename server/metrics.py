"""Prometheus metrics (served at /metrics).

Counters and histograms are updated where things happen; values that are state rather
than events (sockets open, outbox depth, watcher lag) are read at scrape time by a
collector bound to the running app, so they are never stale.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

EVENTS_PUBLISHED = Counter(
    "switchboard_events_published", "Events published to the bus after commit", ["type"]
)
MESSAGES_INGESTED = Counter(
    "switchboard_messages_ingested",
    "Inbound messages committed (redeliveries not counted)",
    ["channel"],
)
DELIVERIES = Counter(
    "switchboard_deliveries", "Outbound delivery attempts by outcome", ["channel", "outcome"]
)
DELIVERY_SECONDS = Histogram(
    "switchboard_delivery_seconds",
    "From an agent's reply to the provider accepting it",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
FIRST_RESPONSE_SECONDS = Histogram(
    "switchboard_first_response_seconds",
    "First-response time of answered segments (wall-clock), observed once, when the reply is"
    " sent (docs/frt.md, Metrics)",
    ["channel"],
    buckets=(30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400, 259200),
)


class StateCollector(Collector):
    """Sockets open, outbox depth and watcher health, read from the app at scrape time."""

    def __init__(self) -> None:
        self.app: Any = None
        self.outbox_depth: dict[str, int] = {}  # refreshed by the outbox worker

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.app is None:
            return
        hub = getattr(self.app.state, "hub", None)
        sockets = GaugeMetricFamily("switchboard_sockets_open", "Agent sockets on this node")
        sockets.add_metric([], len(getattr(hub, "connections", {}) or {}))
        yield sockets
        depth = GaugeMetricFamily(
            "switchboard_outbox_depth", "Outbox rows by state", labels=["state"]
        )
        for state, count in self.outbox_depth.items():
            depth.add_metric([state], count)
        yield depth
        yield from self._watchers()

    def _watchers(self) -> Iterator[GaugeMetricFamily]:
        ctx = getattr(self.app.state, "ctx", None)
        board = getattr(getattr(ctx, "channels", None), "health", None)
        lag = GaugeMetricFamily(
            "switchboard_watcher_lag_seconds",
            "Ingestion lag of channel watchers (IMAP, long polling)",
            labels=["inbox_id"],
        )
        up = GaugeMetricFamily(
            "switchboard_watcher_connected",
            "1 when the channel watcher is connected",
            labels=["inbox_id"],
        )
        for inbox_id, health in board.by_inbox.items() if board else []:
            up.add_metric([str(inbox_id)], 1.0 if health.connected else 0.0)
            if health.lag is not None:
                lag.add_metric([str(inbox_id)], float(health.lag))
        yield lag
        yield up


STATE = StateCollector()
REGISTRY.register(STATE)
