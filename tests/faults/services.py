"""Faults done to real services: freezing PostgreSQL (SIGSTOP) and thawing it.

PostgreSQL's backends call setsid(): they are not in the postmaster's process group, so
``killpg`` reaches only the postmaster, and a "frozen" server would go on answering on
every open connection. Freezing signals the postmaster and each of its children.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def family(pid: int) -> list[int]:
    """``pid`` and its direct children (PostgreSQL's backends and helpers)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                children.append(int(entry.name))
    return [pid, *children]


def freeze(pid: int) -> None:
    for member in family(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGSTOP)


def thaw(pid: int) -> None:
    for member in family(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGCONT)
