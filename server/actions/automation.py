"""Where the writers call into routing and automation (docs/automation.md).

Each ``on_*`` function runs inside the transaction of the change it follows, so an
assignment, a rule's actions and a notification commit (or roll back) with their cause.
The writers (inbound.py, conversations.py, replies.py) make one marked call each.

``start``/``stop`` run with the app (server/app.py LIFECYCLE_HOOKS): they hand the hub's
presence store to the assignment code, serve queues when an agent comes online, and run
the automation timer (rules "waiting longer than X", and a queue safety net).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.applications import Starlette

from server.actions import assignment, notifications, rule_webhooks, rules
from server.actions._tx import Tx
from server.context import AppContext
from server.events.types import EventType
from server.exceptions import DatabaseUnavailable

log = logging.getLogger(__name__)
TICK = 1.0  # seconds between timer passes: "waiting longer than X" fires within a second
DRAIN_EVERY = 5  # ticks between queue safety-net passes (presence can also expire silently)


async def on_inbound(
    tx: Tx, ctx: AppContext, before: Any, after: Any, message: Any, *, created: bool
) -> Any:
    """After an inbound message was stored and its conversation updated."""
    reopened = not created and before.status == "resolved" and after.status == "open"
    if created or reopened:
        after = await assignment.auto_assign(tx, ctx, after)
    if created:
        await notifications.new_conversation(tx, after)
    if not created and after.assignee_id is not None and message.direction == "in":
        await notifications.notify(
            tx,
            int(after.assignee_id),
            "message",
            after,
            f"New message on conversation #{after.id}: {(message.text or '')[:140]}",
            message_id=message.id,
        )
    if created:
        after = await rules.run(tx, ctx, "conversation_created", after, message=message)
    trigger = "agent_message" if message.direction == "out" else "customer_message"
    if not message.is_auto:
        after = await rules.run(tx, ctx, trigger, after, message=message)
    return after


async def on_status(tx: Tx, ctx: AppContext, before: Any, after: Any) -> Any:
    """After a status change (resolve, reopen, snooze, ...); returns the newest row."""
    if after.status == "resolved" and before.assignee_id is not None:
        await assignment.drain(tx, ctx, await assignment.inboxes_of(tx, before.assignee_id))
    if after.status == "open" and before.status == "resolved":
        after = await assignment.auto_assign(tx, ctx, after)
    if after.status == "resolved":
        after = await rules.run(tx, ctx, "conversation_resolved", after)
    return await rules.run(tx, ctx, "conversation_updated", after)


async def on_assign(tx: Tx, ctx: AppContext, before: Any, after: Any, by: str | None) -> Any:
    """After an agent (re)assigned a conversation; returns the newest row."""
    if after.assignee_id is not None and after.assignee_id != before.assignee_id:
        await notifications.assigned(tx, after, int(after.assignee_id), by=by)
    if before.assignee_id is not None and before.assignee_id != after.assignee_id:
        await assignment.drain(tx, ctx, await assignment.inboxes_of(tx, before.assignee_id))
    return await rules.run(tx, ctx, "conversation_updated", after)


async def on_update(tx: Tx, ctx: AppContext, after: Any) -> Any:
    """After labels or priority changed; returns the newest row."""
    return await rules.run(tx, ctx, "conversation_updated", after)


async def on_reply(tx: Tx, ctx: AppContext, conversation: Any, message: Any) -> None:
    """After an agent's reply or private note was stored."""
    if message.kind == "note":
        await notifications.notify_mentions(tx, conversation, message)
        return
    await rules.run(tx, ctx, "agent_message", conversation, message=message)


# Lifecycle ---------------------------------------------------------------------------


async def start(app: Starlette) -> None:
    ctx: AppContext = app.state.ctx
    hub = getattr(app.state, "hub", None)
    if hub is not None:
        ctx.extras["presence"] = hub.presence
    else:
        from server.realtime.lifecycle import presence_store

        ctx.extras["presence"] = presence_store(ctx)
    tasks = [asyncio.create_task(_follow_bus(ctx), name="automation-bus")]
    if ctx.settings.run_workers:
        tasks.append(asyncio.create_task(_timer(ctx), name="automation-timer"))
    app.state.automation_tasks = tasks


async def stop(app: Starlette) -> None:
    for task in getattr(app.state, "automation_tasks", []):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


#: Bus events that fire rules and notify the assignee (emitted by server/actions/sla.py).
SLA_TRIGGERS = {"sla.near_breach": "sla_near_breach", "sla.breached": "sla_breached"}


async def _follow_bus(ctx: AppContext) -> None:
    """Every node follows the bus: an agent coming online serves the queues of their
    inboxes at once (the assignment lock makes nodes take turns; the second finds nothing
    left), and SLA alerts run their rules and notify the assignee once (keyed claims)."""
    sub = ctx.bus.subscribe()
    try:
        async for item in sub:
            try:
                await _on_bus_event(ctx, item.event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("automation could not handle event %s", item.event.type)
    finally:
        await sub.close()


async def _on_bus_event(ctx: AppContext, event: Any) -> None:
    if event.type == EventType.PRESENCE and event.payload.get("status") == "online":
        user_id = event.payload.get("user_id")
        if isinstance(user_id, int):
            await assignment.drain_for_user(ctx, user_id)
        return
    trigger = SLA_TRIGGERS.get(event.type)
    if trigger is None or event.conversation_id is None:
        return
    # one alert per clock (frt|nrt) and deadline: a new deadline alerts again
    key = f"{event.payload.get('metric') or 'frt'}:{event.payload.get('due_at') or ''}"
    await notifications.sla_alert(ctx, trigger, int(event.conversation_id), key)
    await rules.on_bus_event(ctx, trigger, int(event.conversation_id), key)


async def _timer(ctx: AppContext) -> None:
    tick = 0
    while True:
        try:
            await rules.run_timers(ctx)
            await rule_webhooks.deliver_due(ctx)
            if tick % DRAIN_EVERY == 0:
                await assignment.drain_all(ctx)
            tick += 1
        except asyncio.CancelledError:
            raise
        except DatabaseUnavailable:
            pass  # logged once per interval by server/storage/db.py
        except Exception:
            log.exception("automation timer pass failed")
        await asyncio.sleep(TICK)


LIFECYCLE = (start, stop)
