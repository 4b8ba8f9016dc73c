"""The agent socket's wire format: parse client frames, build server frames. Pure.

Every client frame is a JSON object with a ``type``; anything else becomes a FrameError
whose ``code`` goes back to the client in an ``error`` frame (the socket stays open).
PROTOCOL.md documents the frames; the names here are the strings on the wire.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PRESENCE_STATUSES = ("online", "away")
MAX_ID_LENGTH = 64  # stream ids are "<ms>-<seq>" or "<epoch>-<seq>": far below this


class FrameError(Exception):
    """A client frame we cannot accept; ``code`` is sent back in the error frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Hello:
    last_event_id: str | None


@dataclass(frozen=True)
class Typing:
    conversation_id: int
    private: bool
    active: bool


@dataclass(frozen=True)
class Viewing:
    conversation_id: int | None


@dataclass(frozen=True)
class Presence:
    status: str


@dataclass(frozen=True)
class Ping:
    pass


ClientFrame = Hello | Typing | Viewing | Presence | Ping


def parse(text: str) -> ClientFrame:
    """One text frame → a ClientFrame, or FrameError saying precisely what is wrong."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python goes
        raise FrameError("invalid_json", "expected a JSON object, got invalid JSON") from None
    if not isinstance(data, dict):
        raise FrameError("invalid_frame", f"expected a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise FrameError(
            "unknown_type",
            f"unknown frame type {kind!r}; expected one of {', '.join(sorted(_PARSERS))}",
        )
    return parser(data)


def _hello(data: dict[str, Any]) -> Hello:
    last = data.get("last_event_id")
    if last is not None and (not isinstance(last, str) or not last or len(last) > MAX_ID_LENGTH):
        raise FrameError("invalid_frame", "last_event_id: expected an event id string or null")
    return Hello(last)


def _typing(data: dict[str, Any]) -> Typing:
    return Typing(
        _conversation_id(data, nullable=False) or 0, _flag(data, "private"), _flag(data, "active")
    )


def _viewing(data: dict[str, Any]) -> Viewing:
    return Viewing(_conversation_id(data, nullable=True))


def _presence(data: dict[str, Any]) -> Presence:
    status = data.get("status")
    if status not in PRESENCE_STATUSES:
        raise FrameError(
            "invalid_frame", f"status: expected one of {PRESENCE_STATUSES}, got {status!r}"
        )
    return Presence(str(status))


def _ping(_data: dict[str, Any]) -> Ping:
    return Ping()


def _conversation_id(data: dict[str, Any], *, nullable: bool) -> int | None:
    value = data.get("conversation_id")
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise FrameError(
            "invalid_frame", f"conversation_id: expected a positive integer, got {value!r}"
        )
    return value


def _flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise FrameError("invalid_frame", f"{name}: expected true or false, got {value!r}")
    return value


_PARSERS: dict[str, Callable[[dict[str, Any]], ClientFrame]] = {
    "hello": _hello,
    "typing": _typing,
    "viewing": _viewing,
    "presence": _presence,
    "ping": _ping,
}


# Server frames ------------------------------------------------------------------------


def dump(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), default=str)


def ready(last_event_id: str, resumed: bool) -> str:
    return dump({"type": "ready", "last_event_id": last_event_id, "resumed": resumed})


def event(event_id: str, wire: dict[str, Any]) -> str:
    return dump({"type": "event", "id": event_id, "event": wire})


def batch(encoded: list[str]) -> str:
    """Several server frames in one: ``{"type":"batch","frames":[...]}``, each element
    exactly the frame that would otherwise have been sent alone. Built by joining frames
    that are already encoded (no re-encoding); one WebSocket write instead of many."""
    return '{"type":"batch","frames":[' + ",".join(encoded) + "]}"


def batches(encoded: list[str], max_bytes: int) -> list[str]:
    """Pack frames, in order, into as few frames as fit ``max_bytes`` each (a frame that is
    alone above the limit is sent alone, unbatched)."""
    out: list[str] = []
    group: list[str] = []
    size = 0
    for frame in encoded:
        if group and size + len(frame) + 1 > max_bytes:
            out.append(group[0] if len(group) == 1 else batch(group))
            group, size = [], 0
        group.append(frame)
        size += len(frame) + 1
    if group:
        out.append(group[0] if len(group) == 1 else batch(group))
    return out


def resync_required(reason: str, last_event_id: str) -> str:
    return dump({"type": "resync_required", "reason": reason, "last_event_id": last_event_id})


def error(code: str, message: str) -> str:
    return dump({"type": "error", "code": code, "message": message})


def pong() -> str:
    return dump({"type": "pong"})


def ephemeral(kind: str, payload: dict[str, Any]) -> str:
    """typing / viewing / presence: the payload's fields at the top level of the frame."""
    return dump({**payload, "type": kind})
