"""The notification centre: one row per agent and happening, live as ``notification.created``.

Written inside the transaction of the change it reports (an assignment, a message, a
mention, an SLA alert), so a notification exists exactly when its cause committed. The
event carries the conversation's ``inbox_id`` like every conversation event: only members
of that inbox receive it (they can see the conversation anyway), resume replays it like
any other event, and the web client keeps those whose ``user_id`` is its own
(docs/automation.md "Notifications").
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from server.actions._tx import Tx, transaction
from server.actors import Actor
from server.context import AppContext
from server.exceptions import InvalidInput
from server.storage import schema as t
from server.storage.schema import utcnow

CREATED = "notification.created"
READ = "notification.read"
#: Kinds an agent can switch off; all default to on in the app.
KINDS = ("assigned", "message", "mention", "sla_near_breach", "sla_breached", "new_conversation")
#: Kinds that are off until the agent turns them on (a busy inbox would drown the rest).
OPT_IN = frozenset({"new_conversation"})


def serialize(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "user_id": row.user_id,
        "kind": row.kind,
        "conversation_id": row.conversation_id,
        "inbox_id": row.inbox_id,
        "text": row.text,
        "payload": row.payload or {},
        "read_at": row.read_at.isoformat() if row.read_at else None,
        "created_at": row.created_at.isoformat(),
    }


async def _wanted(tx: Tx, user_id: int, kind: str) -> bool:
    p = t.notification_prefs.c
    prefs = (
        await tx.conn.execute(sa.select(p.prefs).where(p.user_id == user_id))
    ).scalar_one_or_none()
    return bool(((prefs or {}).get(kind) or {}).get("app", kind not in OPT_IN))


async def notify(
    tx: Tx,
    user_id: int,
    kind: str,
    conversation: Any,
    text: str,
    once_key: str | None = None,
    **payload: Any,
) -> None:
    """Record one notification for ``user_id`` (unless their preferences turn it off)."""
    if not await _wanted(tx, user_id, kind):
        return
    row = (
        await tx.conn.execute(
            t.notifications.insert()
            .values(
                user_id=user_id,
                kind=kind,
                conversation_id=conversation.id,
                inbox_id=conversation.inbox_id,
                text=text[:1000],
                payload=payload,
                once_key=once_key,
                created_at=utcnow(),
            )
            .returning(t.notifications)
        )
    ).one()
    await tx.emit(
        CREATED,
        {"notification": serialize(row), "user_id": user_id},
        inbox_id=conversation.inbox_id,
        conversation_id=conversation.id,
    )


async def assigned(tx: Tx, conversation: Any, user_id: int, *, by: str | None) -> None:
    who = f" by {by}" if by else ""
    await notify(
        tx,
        user_id,
        "assigned",
        conversation,
        f"Conversation #{conversation.id} was assigned to you{who}",
    )


async def new_conversation(tx: Tx, conversation: Any) -> list[int]:
    """Tell the inbox's members who opted in that a conversation started (not its
    assignee: they hear "assigned to you" instead)."""
    im, p = t.inbox_members.c, t.notification_prefs.c
    rows = await tx.conn.execute(
        sa.select(p.user_id, p.prefs)
        .join(t.inbox_members, im.user_id == p.user_id)
        .where(im.inbox_id == conversation.inbox_id)
    )
    wanted = sorted(
        int(r.user_id)
        for r in rows
        if ((r.prefs or {}).get("new_conversation") or {}).get("app")
        and r.user_id != conversation.assignee_id
    )
    for user_id in wanted:
        await notify(
            tx,
            user_id,
            "new_conversation",
            conversation,
            f"New conversation #{conversation.id} in your inbox",
        )
    return wanted


async def sla_alert(ctx: AppContext, kind: str, conversation_id: int, key: str) -> bool:
    """Tell the assignee (or, with none, the team's members) that the SLA of their
    conversation is near breach or breached; once per deadline, whichever node is first."""
    async with ctx.db.read() as conn:
        conv = (
            await conn.execute(
                sa.select(t.conversations).where(t.conversations.c.id == conversation_id)
            )
        ).first()
        if conv is None:
            return False
        users = await _owners(conn, conv)
    what = (
        "is about to breach its response target"
        if kind == "sla_near_breach"
        else ("breached its response target")
    )
    try:
        async with transaction(ctx) as tx:
            for user_id in users:
                await notify(
                    tx,
                    user_id,
                    kind,
                    conv,
                    f"Conversation #{conv.id} {what}",
                    once_key=f"{kind}:{conv.id}:{key}",
                )
    except IntegrityError:
        return False  # another node told them already
    return bool(users)


async def _owners(conn: Any, conv: Any) -> list[int]:
    if conv.assignee_id is not None:
        return [int(conv.assignee_id)]
    if conv.team_id is None:
        return []
    tm = t.team_members.c
    rows = await conn.execute(sa.select(tm.user_id).where(tm.team_id == conv.team_id))
    return sorted(int(r[0]) for r in rows)


async def list_for(
    ctx: AppContext, actor: Actor, *, unread_only: bool, limit: int, before: int | None
) -> dict[str, Any]:
    n = t.notifications.c
    query = sa.select(t.notifications).where(n.user_id == actor.id)
    if unread_only:
        query = query.where(n.read_at.is_(None))
    if before is not None:
        query = query.where(n.id < before)
    async with ctx.db.read() as conn:
        rows = (await conn.execute(query.order_by(n.id.desc()).limit(limit))).all()
        unread = await _unread(conn, actor.id)
    return {"notifications": [serialize(r) for r in rows], "unread": unread}


async def _unread(conn: Any, user_id: int) -> int:
    n = t.notifications.c
    return int(
        (
            await conn.execute(
                sa.select(sa.func.count()).where(n.user_id == user_id, n.read_at.is_(None))
            )
        ).scalar_one()
    )


async def unread_count(ctx: AppContext, actor: Actor) -> dict[str, int]:
    async with ctx.db.read() as conn:
        return {"unread": await _unread(conn, actor.id)}


async def mark_read(ctx: AppContext, actor: Actor, ids: list[int] | None) -> dict[str, int]:
    """Mark some (or, with ``ids`` None, all) of the actor's notifications read."""
    n = t.notifications.c
    now = utcnow()
    async with transaction(ctx) as tx:
        query = sa.update(t.notifications).where(n.user_id == actor.id, n.read_at.is_(None))
        if ids is not None:
            query = query.where(n.id.in_(ids))
        changed = (await tx.conn.execute(query.values(read_at=now))).rowcount
        unread = await _unread(tx.conn, actor.id)
        await tx.emit(READ, {"user_id": actor.id, "ids": ids, "unread": unread})
    return {"marked": int(changed or 0), "unread": unread}


async def get_prefs(ctx: AppContext, actor: Actor) -> dict[str, Any]:
    p = t.notification_prefs.c
    async with ctx.db.read() as conn:
        prefs = (
            await conn.execute(sa.select(p.prefs).where(p.user_id == actor.id))
        ).scalar_one_or_none()
    return {kind: {"app": kind not in OPT_IN, **((prefs or {}).get(kind) or {})} for kind in KINDS}


async def set_prefs(
    ctx: AppContext, actor: Actor, prefs: dict[str, dict[str, bool]]
) -> dict[str, Any]:
    for kind, channels in prefs.items():
        if kind not in KINDS:
            raise InvalidInput(f"prefs: unknown notification kind {kind!r}; expected {KINDS}")
        unknown = set(channels) - {"app", "desktop", "email"}
        if unknown:
            raise InvalidInput(f"prefs.{kind}: unknown channel(s) {sorted(unknown)}")
    async with transaction(ctx) as tx:
        p = t.notification_prefs.c
        await tx.conn.execute(sa.delete(t.notification_prefs).where(p.user_id == actor.id))
        await tx.conn.execute(t.notification_prefs.insert().values(user_id=actor.id, prefs=prefs))
    return await get_prefs(ctx, actor)


# Mentions -----------------------------------------------------------------------------

_MENTION = re.compile(r"(?<![\w@])@([\w][\w.-]{0,99})")


def mentioned_handles(text: str) -> set[str]:
    """``@ana`` and ``@billing-team`` handles in a note, lower-cased (a trailing dot is
    punctuation, not part of the handle)."""
    return {m.rstrip(".").lower() for m in _MENTION.findall(text or "")}


def handle_of(name: str) -> str:
    """The handle a name is mentioned by: lower-case, spaces as dashes ("Ana Lima" → ana-lima)."""
    return "-".join(name.lower().split())


async def notify_mentions(tx: Tx, conversation: Any, message: Any) -> list[int]:
    """Notify agents mentioned in a private note (by name, e-mail local part or team),
    if they can see the conversation's inbox; never the note's author."""
    handles = mentioned_handles(message.text or "")
    if not handles:
        return []
    u, im, tm = t.users.c, t.inbox_members.c, t.team_members.c
    members = {
        int(r[0])
        for r in await tx.conn.execute(
            sa.select(im.user_id).where(im.inbox_id == conversation.inbox_id)
        )
    }
    users = (
        await tx.conn.execute(sa.select(u.id, u.name, u.email, u.role).where(u.is_active.is_(True)))
    ).all()
    wanted = {
        int(r.id)
        for r in users
        if handle_of(r.name) in handles or r.email.split("@")[0].lower() in handles
    }
    for team in (await tx.conn.execute(sa.select(t.teams.c.id, t.teams.c.name))).all():
        if handle_of(team.name) in handles:
            wanted |= {
                int(r[0])
                for r in await tx.conn.execute(sa.select(tm.user_id).where(tm.team_id == team.id))
            }
    admins = {int(r.id) for r in users if r.role == "admin"}
    author = message.sender_id
    author_name = (message.content_attributes or {}).get("sender_name") or "Someone"
    notified = sorted(w for w in wanted if (w in members or w in admins) and w != author)
    for user_id in notified:
        await notify(
            tx,
            user_id,
            "mention",
            conversation,
            f"{author_name} mentioned you on conversation #{conversation.id}: "
            f"{(message.text or '')[:140]}",
            message_id=message.id,
        )
    return notified
