"""One log line per failure kind per interval, instead of one (with a traceback) per request.

An outage makes every request and every worker round fail the same way; logging each
failure buried the one useful line under 112,000 others in 20 s (issue 17). A kind is
logged the first time, then at most once per ``interval`` with the count it stood for.
"""

from __future__ import annotations

import logging
import time

INTERVAL = 10.0  # seconds: often enough to see an outage go on, rare enough to read


class Throttle:
    def __init__(self, logger: logging.Logger, interval: float = INTERVAL) -> None:
        self._log = logger
        self._interval = interval
        self._last: dict[str, float] = {}
        self._muted: dict[str, int] = {}

    def warning(self, kind: str, message: str, *args: object) -> None:
        """Log ``message`` for ``kind`` unless that kind was logged within the interval."""
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self._interval:
            self._muted[kind] = self._muted.get(kind, 0) + 1
            return
        self._last[kind] = now
        muted = self._muted.pop(kind, 0)
        suffix = f" ({muted} more like it since the last report)" if muted else ""
        self._log.warning(message + suffix, *args)

    def recovered(self, kind: str, message: str, *args: object) -> None:
        """Log the end of a failure kind once (nothing if it was not failing)."""
        if self._last.pop(kind, None) is not None:
            self._muted.pop(kind, None)
            self._log.warning(message, *args)
