"""History import records (docs/import.md): validate one conversation, pure.

A record is one JSON object per conversation. ``parse_record`` checks it field by field
and returns an ``ImportConversation`` whose events are in time order, or raises
``InvalidRecord`` naming the first field that is wrong ("events[3].at: …").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

STATUSES = ("open", "pending", "snoozed", "resolved")
PRIORITIES = ("none", "low", "medium", "high", "urgent")
SENDERS = ("customer", "agent", "bot")
EVENT_TYPES = ("message", "note", "status", "assign", "csat")
MAX_EVENTS = 5_000  # one conversation; a longer one is split at the source
MAX_TEXT = 100_000
MAX_ID = 200
#: History is the past: a time beyond this skew is a mistake in the export.
MAX_FUTURE_SKEW = timedelta(minutes=5)


class InvalidRecord(ValueError):
    """A record that cannot be imported; the message names the field."""


@dataclass(frozen=True, slots=True)
class Person:
    external_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class ImportEvent:
    id: str  # stable within the conversation: re-importing it changes nothing
    type: str  # message | note | status | assign
    at: datetime
    sender: str | None = None  # customer | agent | bot (messages)
    agent: Person | None = None  # the agent who wrote, changed or was assigned
    text: str = ""
    auto: bool = False  # an automatic reply (out-of-office, greeting): never a response
    status: str | None = None
    snoozed_until: datetime | None = None
    rating: int | None = None  # csat: 1 to 5
    comment: str | None = None  # csat
    segment: int | None = None  # csat: the segment rated (0 = first); default: the latest


@dataclass(frozen=True, slots=True)
class ImportConversation:
    external_id: str
    contact: Person
    subject: str | None
    priority: str
    labels: tuple[str, ...]
    events: tuple[ImportEvent, ...] = field(default_factory=tuple)


def parse_record(record: Any, now: datetime) -> ImportConversation:
    if not isinstance(record, dict):
        raise InvalidRecord(f"record: expected an object, got {type(record).__name__}")
    events = _list(record.get("events"), "events")
    if not events:
        raise InvalidRecord("events: a conversation needs at least one event")
    if len(events) > MAX_EVENTS:
        raise InvalidRecord(f"events: at most {MAX_EVENTS} per conversation, got {len(events)}")
    parsed = [_event(e, f"events[{i}]", i, now) for i, e in enumerate(events)]
    ids = [e.id for e in parsed]
    if len(set(ids)) != len(ids):
        raise InvalidRecord("events: two events share an id")
    return ImportConversation(
        external_id=_id(record.get("external_id"), "external_id"),
        contact=_person(record.get("contact"), "contact"),
        subject=_text_or_none(record.get("subject"), "subject", 1000),
        priority=_choice(record.get("priority", "none"), "priority", PRIORITIES),
        labels=tuple(
            _label(x, f"labels[{i}]")
            for i, x in enumerate(_list(record.get("labels", []), "labels"))
        ),
        events=tuple(sorted(parsed, key=lambda e: e.at)),  # stable: ties keep file order
    )


def _event(raw: Any, path: str, index: int, now: datetime) -> ImportEvent:
    if not isinstance(raw, dict):
        raise InvalidRecord(f"{path}: expected an object")
    kind = _choice(raw.get("type"), f"{path}.type", EVENT_TYPES)
    at = _time(raw.get("at"), f"{path}.at", now)
    event_id = _id(raw.get("id", f"{index}"), f"{path}.id")
    agent = _person(raw["agent"], f"{path}.agent") if raw.get("agent") is not None else None
    if kind == "status":
        status = _choice(raw.get("status"), f"{path}.status", STATUSES)
        until = None
        if status == "snoozed" and raw.get("snoozed_until") is not None:
            until = _time(raw.get("snoozed_until"), f"{path}.snoozed_until", None)
        return ImportEvent(event_id, kind, at, agent=agent, status=status, snoozed_until=until)
    if kind == "assign":
        return ImportEvent(event_id, kind, at, agent=agent)
    if kind == "csat":
        return _csat(raw, path, event_id, at)
    sender = "agent" if kind == "note" else _choice(raw.get("from"), f"{path}.from", SENDERS)
    if sender == "agent" and agent is None:
        raise InvalidRecord(f"{path}.agent: an agent's {kind} needs the agent (external_id, email)")
    text = _text_or_none(raw.get("text", ""), f"{path}.text", MAX_TEXT) or ""
    auto = raw.get("auto", False)
    if not isinstance(auto, bool):
        raise InvalidRecord(f"{path}.auto: expected true or false")
    return ImportEvent(event_id, kind, at, sender=sender, agent=agent, text=text, auto=auto)


def _person(raw: Any, path: str) -> Person:
    if not isinstance(raw, dict):
        raise InvalidRecord(f"{path}: expected an object with external_id")
    return Person(
        external_id=_id(raw.get("external_id"), f"{path}.external_id"),
        name=_text_or_none(raw.get("name"), f"{path}.name", 300),
        email=_text_or_none(raw.get("email"), f"{path}.email", 320),
        phone=_text_or_none(raw.get("phone"), f"{path}.phone", 64),
    )


def _list(raw: Any, path: str) -> list[Any]:
    if not isinstance(raw, list):
        raise InvalidRecord(f"{path}: expected a list")
    return raw


def _id(raw: Any, path: str) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_ID or "\x00" in raw:
        raise InvalidRecord(f"{path}: expected a non-empty id of at most {MAX_ID} characters")
    return raw.strip()


def _text_or_none(raw: Any, path: str, limit: int) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidRecord(f"{path}: expected text")
    if len(raw) > limit:
        raise InvalidRecord(f"{path}: at most {limit} characters, got {len(raw)}")
    return raw.replace("\x00", "")


def _label(raw: Any, path: str) -> str:
    text = _text_or_none(raw, path, 100)
    if not text or not text.strip():
        raise InvalidRecord(f"{path}: expected a label name")
    return text.strip()


def _choice(raw: Any, path: str, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise InvalidRecord(f"{path}: expected one of {', '.join(allowed)}, got {raw!r}")
    return str(raw)


def _time(raw: Any, path: str, now: datetime | None) -> datetime:
    if not isinstance(raw, str):
        raise InvalidRecord(f"{path}: expected an ISO 8601 time with a zone")
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRecord(f"{path}: expected an ISO 8601 time with a zone, got {raw!r}") from None
    if at.tzinfo is None:
        raise InvalidRecord(f"{path}: {raw!r} has no zone (add Z or +01:00)")
    at = at.astimezone(UTC)
    if now is not None and at > now + MAX_FUTURE_SKEW:
        raise InvalidRecord(f"{path}: {raw} is in the future")
    return at


def _csat(raw: dict[str, Any], path: str, event_id: str, at: datetime) -> ImportEvent:
    """A customer's CSAT answer (docs/import.md): rating, optional comment, the segment."""
    from server.domain.csat import MAX_COMMENT, parse_rating

    rating = parse_rating(raw.get("rating"))
    if rating is None:
        raise InvalidRecord(f"{path}.rating: expected a whole number from 1 to 5")
    comment = _text_or_none(raw.get("comment"), f"{path}.comment", MAX_COMMENT)
    segment = raw.get("segment")
    if segment is not None and (
        isinstance(segment, bool) or not isinstance(segment, int) or segment < 0
    ):
        raise InvalidRecord(f"{path}.segment: expected a segment number from 0")
    return ImportEvent(
        event_id, "csat", at, rating=rating, comment=(comment or "").strip() or None,
        segment=segment,
    )  # fmt: skip
