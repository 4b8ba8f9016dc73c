"""Customer satisfaction surveys (docs/csat.md): asked after a resolve, answered by link.

``on_resolved`` runs in the resolving transaction: one survey per segment, its message
committed with the resolve and delivered through the durable outbox like any reply (an
automatic message: it never counts as a response, docs/frt.md). ``answer`` stores a
customer's rating; the same link changes it until the survey closes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from server import serialize
from server.actions._tx import Tx, transaction
from server.actions.replies import enqueue_delivery
from server.context import AppContext
from server.crypto import new_token, token_hash
from server.domain import csat
from server.events.types import EventType
from server.exceptions import IllegalState, InvalidInput, NotFound
from server.reporting import rollup
from server.storage import schema as t
from server.storage.csat_schema import csat_settings, csat_surveys
from server.storage.schema import utcnow


async def settings_for(conn: Any, inbox_id: int) -> dict[str, Any]:
    row = (
        await conn.execute(sa.select(csat_settings).where(csat_settings.c.inbox_id == inbox_id))
    ).first()
    if row is None:
        return {"inbox_id": inbox_id, "enabled": False, "language": "en", "question": None}
    return {
        "inbox_id": inbox_id,
        "enabled": row.enabled,
        "language": row.language,
        "question": row.question,
    }


async def save_settings(
    ctx: AppContext, inbox_id: int, enabled: bool, language: str, question: str | None
) -> dict[str, Any]:
    if language not in csat.LANGUAGES:
        raise InvalidInput(f"language: expected one of {', '.join(csat.LANGUAGES)}")
    async with transaction(ctx) as tx:
        found = await tx.conn.execute(sa.select(t.inboxes.c.id).where(t.inboxes.c.id == inbox_id))
        if found.first() is None:
            raise NotFound(f"inbox {inbox_id} does not exist")
        values = {"enabled": enabled, "language": language, "question": question or None}
        await tx.conn.execute(sa.delete(csat_settings).where(csat_settings.c.inbox_id == inbox_id))
        await tx.conn.execute(
            csat_settings.insert().values(inbox_id=inbox_id, updated_at=utcnow(), **values)
        )
    return {"inbox_id": inbox_id, **values}


async def on_resolved(tx: Tx, ctx: AppContext, conv: Any) -> None:
    """Ask the customer about the segment just resolved (once per segment)."""
    if conv.status != "resolved":
        return
    cycle = await _latest_cycle(tx, conv.id)
    if cycle is None or await _already_asked(tx, conv.id, cycle.idx):
        return
    settings = await settings_for(tx.conn, conv.inbox_id)
    now = utcnow()
    public_url = ctx.settings.public_url
    reason = csat.skip_reason(
        enabled=settings["enabled"],
        responded=cycle.responded_at is not None,
        public_url=public_url,
        window_closes=conv.reply_window_closes_at,
        now=now,
    )
    if reason == "disabled":
        return  # nothing to record: the inbox does not survey
    token = new_token(16)  # 128 bits
    survey_id = await _insert_survey(tx, conv, cycle.idx, token, settings["language"], reason)
    if reason is None:
        link = f"{public_url.rstrip('/')}/csat/{token}"
        text = csat.survey_message(settings["language"], settings["question"], link)
        message_id = await _send(tx, ctx, conv, text, survey_id)
        await tx.conn.execute(
            sa.update(csat_surveys)
            .where(csat_surveys.c.id == survey_id)
            .values(message_id=message_id)
        )


async def _latest_cycle(tx: Tx, conversation_id: int) -> Any:
    r = t.response_cycles.c
    return (
        await tx.conn.execute(
            sa.select(r.idx, r.responded_at)
            .where(r.conversation_id == conversation_id)
            .order_by(r.idx.desc())
            .limit(1)
        )
    ).first()


async def _already_asked(tx: Tx, conversation_id: int, idx: int) -> bool:
    s = csat_surveys.c
    found = await tx.conn.execute(
        sa.select(s.id).where(s.conversation_id == conversation_id, s.cycle_idx == idx)
    )
    return found.first() is not None


async def _insert_survey(
    tx: Tx, conv: Any, idx: int, token: str, language: str, reason: str | None
) -> int:
    i = t.inboxes.c
    inbox = (
        await tx.conn.execute(sa.select(i.kind, i.business_hours).where(i.id == conv.inbox_id))
    ).one()
    now = utcnow()
    agent = conv.assignee_id if conv.assignee_id is not None else conv.first_responder_id
    row = (
        await tx.conn.execute(
            csat_surveys.insert()
            .values(
                conversation_id=conv.id,
                inbox_id=conv.inbox_id,
                cycle_idx=idx,
                token_hash=token_hash(token),
                agent_id=agent,
                team_id=conv.team_id,
                channel=inbox.kind,
                labels=list(conv.labels or []),
                language=language,
                state="not_sent" if reason else "sent",
                reason=reason,
                sent_at=now,
                editable_until=now + csat.EDITABLE_FOR,
            )
            .returning(csat_surveys)
        )
    ).one()
    zone = rollup.zone_of(inbox.business_hours)
    await rollup.apply(tx, conv.inbox_id, zone, [], rollup.survey_entries(row._mapping))
    return int(row.id)


async def _send(tx: Tx, ctx: AppContext, conv: Any, text: str, survey_id: int) -> int:
    now = utcnow()
    row = (
        await tx.conn.execute(
            t.messages.insert()
            .values(
                conversation_id=conv.id,
                inbox_id=conv.inbox_id,
                direction="out",
                kind="message",
                sender_type="system",
                sender_id=None,
                is_auto=True,  # an automatic message: never a response (docs/frt.md)
                text=text,
                attachments=[],
                status="pending",
                content_attributes={"sender_name": "Switchboard", "csat_survey_id": survey_id},
                sent_at=now,
                created_at=now,
            )
            .returning(t.messages)
        )
    ).one()
    await enqueue_delivery(tx, row)  # the one outbox insert (server/actions/replies.py)
    await tx.emit(
        EventType.MESSAGE_CREATED,
        {"message": serialize.message(row)},
        inbox_id=conv.inbox_id,
        conversation_id=conv.id,
    )
    tx.after_commit.append(ctx.outbox_wakeup.set)
    return int(row.id)


async def survey_by_token(conn: Any, token: str) -> Any:
    row = (
        await conn.execute(
            sa.select(csat_surveys).where(csat_surveys.c.token_hash == token_hash(token))
        )
    ).first()
    if row is None:
        raise NotFound("no survey has this link")
    return row


async def answer(ctx: AppContext, token: str, rating: Any, comment: Any) -> Any:
    """Store (or change) the customer's answer; returns the survey row."""
    value = csat.parse_rating(rating)
    if value is None:
        raise InvalidInput("rating: expected a whole number from 1 to 5")
    if comment is not None and not isinstance(comment, str):
        raise InvalidInput("comment: expected text")
    note = (comment or "").replace("\x00", "").strip() or None
    if note is not None and len(note) > csat.MAX_COMMENT:
        raise InvalidInput(f"comment: at most {csat.MAX_COMMENT} characters")
    now = utcnow()
    async with transaction(ctx) as tx:
        survey = await survey_by_token(tx.conn, token)
        if now > survey.editable_until:
            raise IllegalState("this survey has closed")
        row = (
            await tx.conn.execute(
                sa.update(csat_surveys)
                .where(csat_surveys.c.id == survey.id)
                .values(rating=value, comment=note, answered_at=now)
                .returning(csat_surveys)
            )
        ).one()
        await record_answer(tx, survey, row)
        await tx.emit(
            EventType.CSAT_ANSWERED,
            {"survey": survey_json(row)},
            inbox_id=row.inbox_id,
            conversation_id=row.conversation_id,
        )
    return row


async def record_answer(tx: Tx, before: Any, after: Any) -> None:
    """The report rollups follow a survey's answer (docs/reports.md)."""
    i = t.inboxes.c
    hours = (
        await tx.conn.execute(sa.select(i.business_hours).where(i.id == after.inbox_id))
    ).scalar()
    await rollup.apply(
        tx,
        after.inbox_id,
        rollup.zone_of(hours),
        rollup.survey_entries(before._mapping),
        rollup.survey_entries(after._mapping),
    )


def survey_json(row: Any) -> dict[str, Any]:
    def iso(v: Any) -> str | None:
        return v.isoformat().replace("+00:00", "Z") if v else None

    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "cycle_index": row.cycle_idx,
        "state": row.state,
        "reason": row.reason,
        "rating": row.rating,
        "comment": row.comment,
        "sent_at": iso(row.sent_at),
        "answered_at": iso(row.answered_at),
        "editable_until": iso(row.editable_until),
    }
