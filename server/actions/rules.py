"""Automation rules: run the rules an event fires, inside the triggering transaction.

Matching is pure (``server.domain.rules``); this module builds the snapshot, executes the
actions with the same writes agents' commands make, and leaves on the conversation one
activity line per run ("Rule 'VIP' set priority to urgent") and one ``rule_runs`` row with
the outcome of every action. A failing action is recorded (run status ``failed``) and the
rule's other actions still run. Changes a rule makes fire ``conversation_updated`` one
level deeper; past ``MAX_DEPTH`` levels the run is recorded as ``stopped`` instead of
executed, so rules that trigger each other cannot loop (docs/automation.md).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from server.actions._conv import add_activity, reload, update_conversation
from server.actions._tx import Tx, transaction
from server.actions.clock import hours_of
from server.actions.rule_actions import ActionFailed, Outcome, execute
from server.context import AppContext
from server.domain.calendar import is_open
from server.domain.rules import MAX_DEPTH, Rule, evaluate, parse_rule
from server.storage import schema as t
from server.storage.schema import utcnow

log = logging.getLogger(__name__)
_PARSED: dict[tuple[int, str], Rule] = {}  # (id, updated_at) → parsed rule; few per install


def _parsed(row: Any) -> Rule | None:
    key = (int(row.id), str(row.updated_at))
    rule = _PARSED.get(key)
    if rule is None:
        try:
            rule = parse_rule(
                {
                    "name": row.name,
                    "trigger": row.trigger,
                    "params": row.params,
                    "conditions": row.conditions,
                    "actions": row.actions,
                },
                int(row.id),
            )
        except ValueError:
            log.warning("rule %s no longer validates; skipped", row.id)
            return None
        if len(_PARSED) > 10_000:
            _PARSED.clear()
        _PARSED[key] = rule
    return rule


_r = t.automation_rules.c
_ACTIVE = (
    sa.select(_r.id, _r.name, _r.trigger, _r.params, _r.conditions, _r.actions, _r.updated_at)
    .where(_r.is_active.is_(True), _r.trigger == sa.bindparam("trigger"))
    .order_by(_r.id)
)


async def active_rules(conn: Any, trigger: str) -> list[Rule]:
    rows = (await conn.execute(_ACTIVE, {"trigger": trigger})).all()
    return [r for r in (_parsed(row) for row in rows) if r is not None]


async def snapshot(
    tx: Tx, conversation: Any, message: Any = None, now: datetime | None = None
) -> dict[str, Any]:
    """What conditions read: the conversation, its inbox and contact, the message."""
    now = now or utcnow()
    inbox = (
        await tx.conn.execute(
            sa.select(t.inboxes.c.kind, t.inboxes.c.business_hours).where(
                t.inboxes.c.id == conversation.inbox_id
            )
        )
    ).one()
    k = t.contacts.c
    contact = (
        await tx.conn.execute(
            sa.select(k.name, k.email, k.phone, k.attributes).where(k.id == conversation.contact_id)
        )
    ).first()
    attributes = dict(contact.attributes or {}) if contact else {}
    msg_attrs = dict(message.content_attributes or {}) if message is not None else {}
    waiting = conversation.waiting_since
    return {
        "inbox_id": conversation.inbox_id,
        "channel": inbox.kind,
        "status": conversation.status,
        "priority": conversation.priority,
        "team_id": conversation.team_id,
        "assignee_id": conversation.assignee_id,
        "labels": list(conversation.labels or []),
        "message": {"text": message.text if message is not None else None},
        "contact": {
            "name": contact.name if contact else None,
            "email": contact.email if contact else None,
            "phone": contact.phone if contact else None,
            "attributes": attributes,
        },
        "language": msg_attrs.get("language") or attributes.get("language"),
        "within_business_hours": is_open(hours_of(inbox), now),
        "waiting_seconds": (now - waiting).total_seconds() if waiting else None,
    }


async def run(
    tx: Tx,
    ctx: AppContext,
    trigger: str,
    conversation: Any,
    *,
    message: Any = None,
    depth: int = 0,
) -> Any:
    """Run every active rule ``trigger`` fires on ``conversation``; returns its new row."""
    key = ("active_rules", trigger)  # read once per transaction (and per group commit)
    rules = tx.memo.get(key)
    if rules is None:
        rules = tx.memo[key] = await active_rules(tx.conn, trigger)
    if not rules:
        return conversation
    fired = evaluate(rules, trigger, await snapshot(tx, conversation, message))
    for rule in fired:
        if depth >= MAX_DEPTH:
            await _record(tx, rule, conversation, trigger, "stopped", [_stopped()])
            continue
        conversation, status, results = await _run_one(tx, ctx, rule, conversation, depth)
        await _record(tx, rule, conversation, trigger, status, results)
    return conversation


def _stopped() -> dict[str, Any]:
    return {
        "type": "stopped",
        "ok": False,
        "error": f"rules triggered each other more than {MAX_DEPTH} levels deep; stopped here",
    }


async def _run_one(
    tx: Tx, ctx: AppContext, rule: Rule, conversation: Any, depth: int
) -> tuple[Any, str, list[dict[str, Any]]]:
    """Execute a rule's actions; returns the conversation's new row, status and results."""
    outcomes: list[Outcome] = []
    before = conversation
    for action in rule.actions:
        try:
            outcome, conversation = await execute(tx, ctx, rule, action, conversation)
        except ActionFailed as exc:
            outcome = Outcome(action.type, False, f"could not {exc.verb}: {exc.reason}")
        outcomes.append(outcome)
    conversation = await activity_line(tx, f"Rule '{rule.name}'", rule, conversation, outcomes)
    if _changed(before, conversation):
        if conversation.status == "resolved" and before.status != "resolved":
            conversation = await run(
                tx, ctx, "conversation_resolved", conversation, depth=depth + 1
            )
        conversation = await run(tx, ctx, "conversation_updated", conversation, depth=depth + 1)
    status = "ok" if all(o.ok for o in outcomes) else "failed"
    return conversation, status, [o.as_dict() for o in outcomes]


_WATCHED = ("status", "assignee_id", "team_id", "priority", "labels", "snoozed_until")


def _changed(before: Any, after: Any) -> bool:
    return any(getattr(before, f) != getattr(after, f) for f in _WATCHED)


async def activity_line(
    tx: Tx, prefix: str, rule: Rule, conversation: Any, outcomes: list[Outcome]
) -> Any:
    """One line per run: what the rule did and what it could not do. Returns the row."""
    parts = [o.line for o in outcomes if o.line]
    if not parts:
        return conversation
    statuses = [o.status for o in outcomes if o.ok and o.status]
    attrs: dict[str, Any] = {"rule_id": rule.id, "rule": rule.name}
    if statuses:
        attrs["status"] = statuses[-1]  # the clock reads status changes from activity lines
    now = utcnow()
    text = f"{prefix} " + _join([p for p in parts if p])
    await add_activity(tx, conversation, text[:2000], attrs, None, now)
    if not statuses:
        return conversation
    return await update_conversation(tx, conversation, {}, recompute_clock=True, now=now)


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


async def _record(
    tx: Tx,
    rule: Rule,
    conversation: Any,
    trigger: str,
    status: str,
    results: list[dict[str, Any]],
) -> None:
    await tx.conn.execute(
        t.rule_runs.insert().values(
            rule_id=rule.id,
            conversation_id=conversation.id,
            trigger=trigger,
            status=status,
            results=results,
            created_at=utcnow(),
        )
    )


# Timer and bus triggers (one run per key, whichever node gets there first) ------------


async def run_once(
    ctx: AppContext,
    trigger: str,
    conversation_id: int,
    rule: Rule,
    once_key: str,
    now: datetime | None = None,
) -> bool:
    """Run one rule on one conversation once per ``once_key`` across every node.

    The conversation row is locked first; a rule whose conditions do not hold leaves no
    trace (it may hold on a later pass). The claim row's unique key makes a second node,
    or a later pass, give up."""
    try:
        async with transaction(ctx) as tx:
            conversation = await reload(tx, conversation_id)
            snap = await snapshot(tx, conversation, now=now)
            if not evaluate([rule], trigger, snap):
                return False
            run_id = await _claim(tx, rule, conversation_id, trigger, once_key)
            _row, status, results = await _run_one(tx, ctx, rule, conversation, 1)
            await _finish(tx, run_id, status, results)
    except IntegrityError:
        return False  # another node (or an earlier pass) ran it
    return True


async def _claim(tx: Tx, rule: Rule, conversation_id: int, trigger: str, key: str) -> int:
    return int(
        (
            await tx.conn.execute(
                t.rule_runs.insert()
                .values(
                    rule_id=rule.id,
                    conversation_id=conversation_id,
                    trigger=trigger,
                    once_key=key,
                    status="running",
                    results=[],
                    created_at=utcnow(),
                )
                .returning(t.rule_runs.c.id)
            )
        ).scalar_one()
    )


async def _finish(tx: Tx, run_id: int, status: str, results: list[dict[str, Any]]) -> None:
    await tx.conn.execute(
        sa.update(t.rule_runs)
        .where(t.rule_runs.c.id == run_id)
        .values(status=status, results=results)
    )


async def run_timers(ctx: AppContext, now: datetime | None = None) -> int:
    """Fire "waiting longer than X" rules: once per rule and wait (keyed by its start)."""
    now = now or utcnow()
    c, r = t.conversations.c, t.rule_runs.c
    due: list[tuple[Rule, int, datetime]] = []
    async with ctx.db.read() as conn:
        for rule in await active_rules(conn, "waiting_longer"):
            cutoff = now - timedelta(minutes=int(rule.params["minutes"]))
            ran = sa.exists().where(
                r.rule_id == rule.id, r.conversation_id == c.id, r.created_at >= c.waiting_since
            )
            rows = await conn.execute(
                sa.select(c.id, c.waiting_since)
                .where(c.waiting_since <= cutoff, c.status == "open", ~ran)
                .order_by(c.waiting_since)
                .limit(200)  # the next pass, a second later, takes the rest
            )
            due += [(rule, int(row.id), row.waiting_since) for row in rows]
    fired = 0
    for rule, conversation_id, since in due:
        key = f"wait:{since.isoformat()}"
        fired += await run_once(ctx, "waiting_longer", conversation_id, rule, key, now)
    return fired


async def on_bus_event(ctx: AppContext, trigger: str, conversation_id: int, key: str) -> int:
    """An SLA alert seen on the bus (server/actions/sla.py): run its rules once."""
    async with ctx.db.read() as conn:
        rules = await active_rules(conn, trigger)
    fired = 0
    for rule in rules:
        fired += await run_once(ctx, trigger, conversation_id, rule, f"{trigger}:{key}")
    return fired
