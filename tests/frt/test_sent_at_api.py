"""A customer message dated in the future (beyond 5 min of clock skew) is refused with a
precise 422 (docs/frt.md, "Timestamps"): it would start a wait that has not begun."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

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
