"""/metrics moves with what happens: ingest, first responses, deliveries, outbox state."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Running
from tests.support.api import create_api_inbox, eventually, post_inbound
from tests.support.receiver import Receiver


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


async def test_a_first_response_is_counted_once_when_its_send_succeeds(
    server: Running, admin: httpx.AsyncClient
) -> None:
    """docs/frt.md, "Metrics": a reply whose send fails is no response; the reply that is
    then sent is, and the histogram sees that segment exactly once."""
    frt = "switchboard_first_response_seconds"
    async with Receiver() as receiver:
        receiver.script.append(410)  # the integration refuses the first reply for good
        inbox = await create_api_inbox(admin, webhook_url=receiver.url)
        before = await _samples(server.client())
        cid = (await post_inbound(server.client(), inbox)).json()["conversation_id"]
        url = f"/api/conversations/{cid}/messages"
        first = (await admin.post(url, json={"text": "refused"})).json()["message"]
        assert (await _status(admin, cid, first["id"], "failed"))["error"]
        failed = await _samples(server.client())
        assert _get(failed, f"{frt}_count", channel="api") == _get(
            before, f"{frt}_count", channel="api"
        )
        second = (await admin.post(url, json={"text": "accepted"})).json()["message"]
        await _status(admin, cid, second["id"], "sent")
        more = await admin.post(url, json={"text": "and a follow-up"})  # no first response
        await _status(admin, cid, more.json()["message"]["id"], "sent")
        after = await _samples(server.client())
    conv = (await admin.get(f"/api/conversations/{cid}")).json()
    assert conv["first_response_message_id"] == second["id"]
    count = _get(after, f"{frt}_count", channel="api") - _get(before, f"{frt}_count", channel="api")
    total = _get(after, f"{frt}_sum", channel="api") - _get(before, f"{frt}_sum", channel="api")
    assert count == 1
    assert round(total, 6) == round(conv["frt_seconds"], 6)


async def _status(
    admin: httpx.AsyncClient, cid: int, message_id: int, status: str
) -> dict[str, object]:
    async def reached() -> dict[str, object] | None:
        items = (await admin.get(f"/api/conversations/{cid}/messages")).json()["items"]
        message = next((m for m in items if m["id"] == message_id), None)
        return message if message and message["status"] == status else None

    return await eventually(reached, timeout=20)  # type: ignore[no-any-return]


async def test_request_ids_are_echoed_or_made(server: Running) -> None:
    client = server.client()
    given = await client.get("/healthz", headers={"x-request-id": "trace-42"})
    assert given.headers["x-request-id"] == "trace-42"
    made = await client.get("/healthz", headers={"x-request-id": "bad id\twith junk"})
    assert made.headers["x-request-id"] != "bad id\twith junk"
    assert len(made.headers["x-request-id"]) == 16
