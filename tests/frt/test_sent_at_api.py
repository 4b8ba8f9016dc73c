"""A customer message dated in the future (beyond 5 min of clock skew) is refused with a
precise 422 (docs/frt.md, "Timestamps"): it would start a wait that has not begun."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from adapters.base import ContactInfo, InboundMessage
from server.actions import inbound
from tests.conftest import Running
from tests.support.api import create_api_inbox, post_inbound


async def test_a_sent_at_in_the_future_is_refused(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    now = datetime.now(UTC).replace(microsecond=0)
    ahead = now + timedelta(hours=2)
    refused = await post_inbound(server.client(), inbox, sent_at=ahead.isoformat())
    assert refused.status_code == 422, refused.text
    message = refused.json()["error"]["message"]
    assert message.startswith(f"sent_at: {ahead.isoformat()} is ")
    assert "in the future; at most 300 s of clock skew is accepted" in message
    skewed = now + timedelta(minutes=2)  # a customer clock a little ahead of ours is fine
    accepted = await post_inbound(server.client(), inbox, sent_at=skewed.isoformat())
    assert accepted.status_code == 201, accepted.text


async def test_a_channel_timestamp_in_the_future_counts_as_received_now(
    server: Running, admin: httpx.AsyncClient
) -> None:
    """Channels that bring their own timestamp (an email's Date header when the server has
    no arrival time) cannot refuse the message: it is dated when it arrived instead."""
    inbox = await create_api_inbox(admin)
    before = datetime.now(UTC)
    message = InboundMessage(
        external_id="dated-tomorrow",
        contact=ContactInfo("cust-tomorrow", "", "Tom", None, None),
        text="My clock is wrong",
        sent_at=before + timedelta(days=1),
    )
    result = await inbound.ingest(server.ctx, inbox["id"], message)
    items = (await admin.get(f"/api/conversations/{result.conversation_id}/messages")).json()
    sent_at = datetime.fromisoformat(items["items"][0]["sent_at"].replace("Z", "+00:00"))
    assert before <= sent_at <= datetime.now(UTC)
    conv = (await admin.get(f"/api/conversations/{result.conversation_id}")).json()
    assert conv["waiting_since"] == items["items"][0]["sent_at"]
