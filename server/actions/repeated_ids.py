"""A reused inbound id with other content is another message (issue 14).

Email Message-IDs are chosen by the sender's software, and some reuse them: a mail client
that resends a draft with a new body, a list that rewrites a mail, a buggy mailer that
stamps every mail with one id. Dedupe by ``(inbox, external_id)`` alone would drop such a
mail silently. An adapter that can tell two deliveries apart puts a digest of what a reader
sees into ``content_attributes["content_hash"]``; a stored message with the same id but
another digest is not a redelivery: the new mail is stored under ``<id>#<digest>`` (so its
own redelivery still deduplicates) and carries ``repeated_external_id`` for the agent.
Threading by the id still finds the first mail, as a mail client would.
"""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from adapters.base import InboundMessage, IngestResult
from server.context import AppContext
from server.storage import schema as t

CONTENT_HASH = "content_hash"
REPEATED = "repeated_external_id"


async def reuses_id(ctx: AppContext, existing: IngestResult, msg: InboundMessage) -> bool:
    """True when ``existing`` has the id of ``msg`` but other content."""
    mine = msg.content_attributes.get(CONTENT_HASH)
    if not mine:
        return False
    m = t.messages.c
    async with ctx.db.read() as conn:
        stored = (
            await conn.execute(sa.select(m.content_attributes).where(m.id == existing.message_id))
        ).scalar_one_or_none()
    theirs = (stored or {}).get(CONTENT_HASH)
    return bool(theirs) and theirs != mine


def under_own_key(msg: InboundMessage) -> InboundMessage:
    digest = str(msg.content_attributes[CONTENT_HASH])[:16]
    return replace(
        msg,
        external_id=f"{msg.external_id}#{digest}",
        content_attributes={**msg.content_attributes, REPEATED: msg.external_id},
    )
