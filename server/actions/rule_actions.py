"""What a rule's (or a macro's) actions do, inside the caller's transaction.

Each action makes the same writes as the matching agent command (server/actions/
conversations.py, replies.py) and returns an ``Outcome`` whose ``text`` completes the
run's activity line ("... set priority to urgent"). A reference that no longer holds (a
deleted agent or team, a webhook host that now resolves to a private address) raises
``ActionFailed``: the run records it and goes on with the next action.

A rule's reply is an **automatic reply** (``is_auto``, no human sender): it is delivered
through the outbox like any reply, and it never stops the first-response clock
(server/actions/clock.py ``timeline_item``; the definition in docs/automation.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from server import serialize
from server.actions._conv import update_conversation
from server.actions._tx import Tx
from server.actions.replies import enqueue_delivery
from server.context import AppContext
from server.domain.rules import Action, Rule
from server.domain.status import Command, IllegalTransition, Status, transition
from server.events.types import EventType
from server.storage import schema as t
from server.storage.schema import utcnow
from server.storage.shared_clock import shared_now_sql


class ActionFailed(Exception):
    def __init__(self, verb: str, reason: str) -> None:
        super().__init__(f"{verb}: {reason}")
        self.verb = verb
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    type: str
    ok: bool
    error: str | None = None
    text: str | None = None  # for the activity line
    status: str | None = None  # a status the action set (the clock reads it)

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "ok": self.ok, "error": self.error, "text": self.text}

    @property
    def line(self) -> str | None:
        return self.text if self.ok else self.error


async def execute(
    tx: Tx, ctx: AppContext, rule: Rule, action: Action, conversation: Any
) -> tuple[Outcome, Any]:
    handler = _HANDLERS[action.type]
    return await handler(tx, ctx, rule, action.params, conversation)


async def _assign_agent(tx: Tx, ctx: AppContext, rule: Rule, p: Any, conv: Any) -> Any:
    user_id = int(p["agent_id"])
    u, im = t.users.c, t.inbox_members.c
    user = (
        await tx.conn.execute(sa.select(u.name, u.role, u.is_active).where(u.id == user_id))
    ).first()
    member = (
        await tx.conn.execute(
            sa.select(im.user_id).where(im.inbox_id == conv.inbox_id, im.user_id == user_id)
        )
    ).first()
    if user is None or not user.is_active or (member is None and user.role != "admin"):
        raise ActionFailed(
            "assign", f"agent {user_id} is deleted, deactivated or not in this inbox"
        )
    row = await update_conversation(tx, conv, {"assignee_id": user_id})
    if conv.assignee_id != user_id:
        from server.actions import notifications

        await notifications.assigned(tx, row, user_id, by=f"rule '{rule.name}'")
    return Outcome("assign_agent", True, text=f"assigned to {user.name}"), row


async def _assign_team(tx: Tx, ctx: AppContext, rule: Rule, p: Any, conv: Any) -> Any:
    team_id = int(p["team_id"])
    name = (
        await tx.conn.execute(sa.select(t.teams.c.name).where(t.teams.c.id == team_id))
    ).scalar_one_or_none()
    if name is None:
        raise ActionFailed("assign the team", f"team {team_id} no longer exists")
    row = await update_conversation(tx, conv, {"team_id": team_id})
    return Outcome("assign_team", True, text=f"assigned to team {name}"), row


async def _add_label(tx: Tx, ctx: AppContext, rule: Rule, p: Any, conv: Any) -> Any:
    label = str(p["label"])[:100]
    labels = list(conv.labels or [])
    if label in labels:
        return Outcome("add_label", True), conv
    row = await update_conversation(tx, conv, {"labels": [*labels, label]})
    return Outcome("add_label", True, text=f"added label {label}"), row


async def _remove_label(tx: Tx, ctx: AppContext, rule: Rule, p: Any, conv: Any) -> Any:
    label = str(p["label"])
    labels = list(conv.labels or [])
    if label not in labels:
        return Outcome("remove_label", True), conv
    row = await update_conversation(tx, conv, {"labels": [x for x in labels if x != label]})
    return Outcome("remove_label", True, text=f"removed label {label}"), row


async def _set_priority(tx: Tx, ctx: AppContext, rule: Rule, p: Any, conv: Any) -> Any:
    priority = str(p["priority"])
    if conv.priority == priority:
        return Outcome("set_priority", True), conv
    # priority selects the SLA target, so the deadline is recomputed (as for agents)
    row = await update_conversation(tx, conv, {"priority": priority}, recompute_clock=True)
    return Outcome("set_priority", True, text=f"set priority to {priority}"), row


async def _status(tx: Tx, conv: Any, command: Command, fields: dict[str, Any], verb: str) -> Any:
    try:
        new = transition(Status(conv.status), command)
    except IllegalTransition as exc:
        raise ActionFailed(verb, str(exc)) from None
    fields = {"status": new.value, **fields}
    row = await update_conversation(tx, conv, fields)
    return new, row


async def _snooze(tx: Tx, ctx: AppContext, rule: Rule, p: Any, conv: Any) -> Any:
    minutes = int(p["minutes"])
    until = utcnow() + timedelta(minutes=minutes)
    new, row = await _status(
        tx, conv, Command.SNOOZE, {"snoozed_until": until, "resolved_at": None}, "snooze"
    )
    text = f"snoozed for {minutes} minute{'s' if minutes != 1 else ''}"
    return Outcome("snooze", True, text=text, status=new.value), row


async def _resolve(tx: Tx, ctx: AppContext, rule: Rule, p: Any, conv: Any) -> Any:
    new, row = await _status(
        tx, conv, Command.RESOLVE, {"snoozed_until": None, "resolved_at": utcnow()}, "resolve"
    )
    if conv.assignee_id is not None:
        from server.actions import assignment

        await assignment.drain(tx, ctx, await assignment.inboxes_of(tx, conv.assignee_id))
    return Outcome("resolve", True, text="resolved the conversation", status=new.value), row


async def _message(tx: Tx, rule: Rule, conv: Any, text: str, *, note: bool) -> Any:
    now = utcnow()
    row = (
        await tx.conn.execute(
            t.messages.insert()
            .values(
                conversation_id=conv.id,
                inbox_id=conv.inbox_id,
                direction="out",
                kind="note" if note else "message",
                sender_type="system",
                sender_id=None,
                is_auto=True,  # an automatic reply: never a first response (clock.py)
                text=text,
                attachments=[],
                status="sent" if note else "pending",
                content_attributes={"sender_name": "Automation", "rule_id": rule.id},
                sent_at=now,
                created_at=now,
            )
            .returning(t.messages)
        )
    ).one()
    await tx.emit(
        EventType.MESSAGE_CREATED,
        {"message": serialize.message(row)},
        inbox_id=conv.inbox_id,
        conversation_id=conv.id,
    )
    return row


async def _send_reply(tx: Tx, ctx: AppContext, rule: Rule, p: Any, conv: Any) -> Any:
    row = await _message(tx, rule, conv, str(p["text"]), note=False)
    now = utcnow()
    await enqueue_delivery(tx, row)  # the one outbox insert (server/actions/replies.py)
    tx.after_commit.append(ctx.outbox_wakeup.set)
    updated = await update_conversation(
        tx, conv, {"last_message_at": now}, recompute_clock=True, now=now
    )
    return Outcome("send_reply", True, text="sent an automatic reply"), updated


async def _add_note(tx: Tx, ctx: AppContext, rule: Rule, p: Any, conv: Any) -> Any:
    await _message(tx, rule, conv, str(p["text"]), note=True)
    return Outcome("add_note", True, text="added a private note"), conv


def webhook_secret(ctx: AppContext, rule_id: int) -> str:
    """The key a rule's webhooks are signed with (shown to admins with the rule)."""
    key = ctx.settings.secret_key.encode()
    return hmac.new(key, f"rule-webhook:{rule_id}".encode(), hashlib.sha256).hexdigest()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def _webhook(tx: Tx, ctx: AppContext, rule: Rule, p: Any, conv: Any) -> Any:
    from adapters.base import PermanentError, TransientError
    from adapters.outbound_guard import refuse_private

    url = str(p["url"])
    try:
        await refuse_private(url, ctx.settings.allow_private_urls)
    except (PermanentError, TransientError) as exc:
        raise ActionFailed("send the webhook", str(exc)) from None
    body = json.dumps(
        {
            "event": "automation.rule",
            "rule": {"id": rule.id, "name": rule.name},
            "conversation": serialize.conversation(conv),
        },
        default=str,
        separators=(",", ":"),
    )
    now = shared_now_sql(tx.conn)  # the queue's clock (server/storage/shared_clock.py)
    await tx.conn.execute(
        t.rule_webhooks.insert().values(
            rule_id=rule.id,
            conversation_id=conv.id,
            url=url,
            body=body,
            state="queued",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    host = url.split("/")[2] if url.count("/") >= 2 else url
    return Outcome("webhook", True, text=f"queued a webhook to {host}"), conv


async def _email(tx: Tx, ctx: AppContext, rule: Rule, p: Any, conv: Any) -> Any:
    to = str(p["to"])
    try:
        from server.actions.accounts import queue_mail
    except ImportError:  # pragma: no cover - the account mail outbox ships with accounts
        raise ActionFailed("send the email", "no mail outbox in this version") from None
    subject = f"Rule '{rule.name}': conversation #{conv.id}"
    body = (
        f"The automation rule '{rule.name}' fired on conversation #{conv.id} "
        f"(status {conv.status}, priority {conv.priority}).\n"
    )
    if not await queue_mail(ctx, tx.conn, to, subject, body):
        raise ActionFailed(
            "send the email", "no outgoing mail server is set up (SWITCHBOARD_MAIL_URL)"
        )
    return Outcome("email", True, text=f"emailed {to}"), conv


_HANDLERS: dict[str, Callable[..., Awaitable[tuple[Outcome, Any]]]] = {
    "assign_agent": _assign_agent,
    "assign_team": _assign_team,
    "add_label": _add_label,
    "remove_label": _remove_label,
    "set_priority": _set_priority,
    "snooze": _snooze,
    "resolve": _resolve,
    "send_reply": _send_reply,
    "add_note": _add_note,
    "webhook": _webhook,
    "email": _email,
}
