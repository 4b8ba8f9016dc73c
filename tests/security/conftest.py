"""Fixtures for the security regression tests (issue 11): the realtime team and its
sockets, reused from the realtime suite."""

from __future__ import annotations

from tests.realtime.conftest import _close_sockets, team

__all__ = ["_close_sockets", "team"]
