"""Chatwoot → Switchboard import records (docs/import.md), pure.

Input: one Chatwoot conversation as its REST API returns it
(``GET /api/v1/accounts/{a}/conversations/{id}``) with ``messages`` holding the full list
from ``GET …/conversations/{id}/messages`` (``payload``). Message types: 0 incoming,
1 outgoing, 2 activity, 3 template; ``private`` outgoing messages are notes; senders are
``contact``, ``user`` (an agent) or ``agent_bot``. Chatwoot records status changes only as
English activity lines ("Conversation was marked resolved by Ann"), which are read here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

INCOMING, OUTGOING, ACTIVITY, TEMPLATE = 0, 1, 2, 3
_STATUS_LINES = (
    (re.compile(r"\bmarked (as )?resolved\b|\bwas resolved\b", re.I), "resolved"),
    (re.compile(r"\breopened\b", re.I), "open"),
    (re.compile(r"\bmarked (as )?pending\b", re.I), "pending"),
    (re.compile(r"\bsnoozed\b", re.I), "snoozed"),
)
_AUTO_RESOLVED = re.compile(r"\bauto[- ]?resolved\b|\bdue to inactivity\b", re.I)
_ASSIGNED = re.compile(r"^Assigned to (?P<name>.+?) by ", re.I)
_UNASSIGNED = re.compile(r"\bunassigned\b|\bremoved .* assignee\b", re.I)


class NotAChatwootConversation(ValueError):
    """The object is not shaped like a Chatwoot conversation; the message says why."""


def convert(conversation: Any) -> dict[str, Any]:
    if not isinstance(conversation, dict) or "id" not in conversation:
        raise NotAChatwootConversation("expected a Chatwoot conversation object with an id")
    messages = conversation.get("messages")
    if not isinstance(messages, list):
        raise NotAChatwootConversation(f"conversation {conversation['id']}: no messages list")
    agents = _agents_by_name(messages)
    events = [e for m in messages if isinstance(m, dict) for e in _event(m, agents)]
    meta = conversation.get("meta") or {}
    return {
        "external_id": f"chatwoot-{conversation['id']}",
        "contact": _contact(meta.get("sender") or {}),
        "subject": (conversation.get("additional_attributes") or {}).get("mail_subject"),
        "priority": conversation.get("priority") or "none",
        "labels": [str(x) for x in conversation.get("labels") or []],
        "events": events,
    }


def _contact(sender: dict[str, Any]) -> dict[str, Any]:
    return {
        "external_id": f"chatwoot-contact-{sender.get('id', 'unknown')}",
        "name": sender.get("name"),
        "email": sender.get("email"),
        "phone": sender.get("phone_number"),
    }


def _agent(sender: dict[str, Any]) -> dict[str, Any]:
    return {
        "external_id": f"chatwoot-user-{sender.get('id', 'unknown')}",
        "name": sender.get("available_name") or sender.get("name"),
        "email": sender.get("email"),
    }


def _agents_by_name(messages: list[Any]) -> dict[str, dict[str, Any]]:
    """Activity lines name agents; their messages say who they are."""
    found: dict[str, dict[str, Any]] = {}
    for m in messages:
        sender = m.get("sender") if isinstance(m, dict) else None
        if isinstance(sender, dict) and sender.get("type") == "user":
            for name in (sender.get("name"), sender.get("available_name")):
                if name:
                    found[str(name)] = _agent(sender)
    return found


def _at(raw: Any) -> str:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return datetime.fromtimestamp(raw, UTC).isoformat()
    return str(raw)


def _event(m: dict[str, Any], agents: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    base = {"id": str(m.get("id")), "at": _at(m.get("created_at"))}
    kind, sender = m.get("message_type"), m.get("sender") or {}
    text = m.get("content") or ""
    if kind == ACTIVITY:
        return _activity(base, text, agents)
    if kind == INCOMING:
        return [{**base, "type": "message", "from": "customer", "text": text}]
    if kind not in (OUTGOING, TEMPLATE):
        return []
    if sender.get("type") == "user":
        event_type = "note" if m.get("private") else "message"
        return [
            {**base, "type": event_type, "from": "agent", "agent": _agent(sender), "text": text}
        ]
    if m.get("private"):
        return []  # a bot's private note: nothing a person wrote or a customer saw
    # agent bots, templates, and messages Chatwoot sent itself (greeting, CSAT, out of office)
    return [{**base, "type": "message", "from": "bot", "text": text, "auto": sender == {}}]


def _activity(
    base: dict[str, Any], text: str, agents: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    assigned = _ASSIGNED.search(text)
    if assigned:
        agent = agents.get(assigned.group("name")) or {
            "external_id": f"chatwoot-user-{assigned.group('name')}",
            "name": assigned.group("name"),
        }
        return [{**base, "type": "assign", "agent": agent}]
    if _UNASSIGNED.search(text):
        return [{**base, "type": "assign", "agent": None}]
    if _AUTO_RESOLVED.search(text):
        return [{**base, "type": "status", "status": "resolved"}]
    for pattern, status in _STATUS_LINES:
        if pattern.search(text):
            return [{**base, "type": "status", "status": status}]
    return []
