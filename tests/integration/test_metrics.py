"""/metrics moves with what happens: ingest, first responses, deliveries, outbox state."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Running
from tests.support.api import create_api_inbox, eventually, post_inbound


async def _samples(
    client: httpx.AsyncClient,
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = (await client.get("/metrics")).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _get(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_follow_ingest_response_and_delivery(
    server: Running, admin: httpx.AsyncClient
) -> None:
    before = await _samples(server.client())
    inbox = await create_api_inbox(admin)
    cid = (await post_inbound(server.client(), inbox)).json()["conversation_id"]
    await post_inbound(server.client(), inbox, external_id="dup")
    await post_inbound(server.client(), inbox, external_id="dup")  # a redelivery: not counted
    await admin.post(f"/api/conversations/{cid}/messages", json={"text": "hi"})

    async def delivered() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        now = await _samples(server.client())
        sent = _get(now, "switchboard_deliveries_total", channel="api", outcome="sent")
        return (
            now
            if sent > _get(before, "switchboard_deliveries_total", channel="api", outcome="sent")
            else None
        )

    after = await eventually(delivered)
    ingested = "switchboard_messages_ingested_total"
    assert _get(after, ingested, channel="api") - _get(before, ingested, channel="api") == 2
    frt = "switchboard_first_response_seconds_count"
    assert _get(after, frt, channel="api") - _get(before, frt, channel="api") == 1
    assert _get(after, "switchboard_delivery_seconds_count", channel="api") >= 1
    assert ("switchboard_outbox_depth", (("state", "queued"),)) in after
    assert ("switchboard_sockets_open", ()) in after


async def test_request_ids_are_echoed_or_made(server: Running) -> None:
    client = server.client()
    given = await client.get("/healthz", headers={"x-request-id": "trace-42"})
    assert given.headers["x-request-id"] == "trace-42"
    made = await client.get("/healthz", headers={"x-request-id": "bad id\twith junk"})
    assert made.headers["x-request-id"] != "bad id\twith junk"
    assert len(made.headers["x-request-id"]) == 16
