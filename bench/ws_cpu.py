"""CPU seconds of processes, from /proc: robust to a loaded machine where wall-clock
figures are not (a process's utime + stime counts only the time it actually ran).

``CpuSampler`` samples a set of pids in a thread, so the CPU spent between two moments
reported by a load generator (epoch milliseconds) can be read afterwards.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import threading
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (its threads included), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and of its live descendants."""
    total = 0.0
    for p in [pid, *descendants(pid)]:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += cpu_seconds(p)
    return total


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class CpuSampler:
    """Samples CPU seconds of named pids every ``interval`` seconds in a thread."""

    def __init__(self, pids: dict[str, int], interval: float = 0.02) -> None:
        self.pids = pids
        self.interval = interval
        self.times: list[float] = []  # epoch seconds
        self.samples: list[dict[str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CpuSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _sample(self) -> None:
        values = {}
        for name, pid in self.pids.items():
            try:
                values[name] = cpu_seconds(pid)
            except (FileNotFoundError, ProcessLookupError):
                values[name] = self.samples[-1][name] if self.samples else 0.0
        self.times.append(time.time())
        self.samples.append(values)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def at(self, epoch: float) -> dict[str, float]:
        """CPU seconds per pid at ``epoch`` (the nearest sample at or before it)."""
        i = max(0, bisect.bisect_right(self.times, epoch) - 1)
        return self.samples[i]

    def between(self, start: float, end: float) -> dict[str, float]:
        a, b = self.at(start), self.at(end)
        return {name: b[name] - a[name] for name in self.pids}
