"""An agent starts a WhatsApp conversation with an approved template (docs/outreach.md);
the customer's answer lands in it and starts the first-response clock."""

from __future__ import annotations

import time

import httpx

from tests.conftest import Running
from tests.social.helpers import conversations, create_inbox, meta_config, meta_post, payload
from tests.social.standins import FakeGraph
from tests.support.api import eventually

TEMPLATE = {"name": "order_update", "language": "pl"}


async def test_a_template_opens_the_conversation_and_the_answer_threads_in(
    server: Running, admin: httpx.AsyncClient, graph: FakeGraph
) -> None:
    inbox = await create_inbox(admin, "whatsapp", meta_config("whatsapp", graph.token))
    free_text = await admin.post(
        "/api/conversations",
        json={"inbox_id": inbox["id"], "phone": "+48 500 100 200", "text": "Hi"},
    )
    assert free_text.status_code == 422 and "template" in free_text.json()["error"]["message"]
    started = await admin.post(
        "/api/conversations",
        json={"inbox_id": inbox["id"], "phone": "+48 500 100 200", "template": TEMPLATE},
    )
    assert started.status_code == 201, started.text
    cid = started.json()["conversation"]["id"]

    async def sent() -> bool:
        return any(b.get("type") == "template" for b in graph.sends())

    await eventually(sent)
    body = [b for b in graph.sends() if b.get("type") == "template"][-1]
    assert body["to"] == "48500100200" and body["template"]["name"] == "order_update"

    answer = payload(
        "whatsapp_text",
        WA_ID="48500100200",
        WAMID="wamid.answer",
        TEXT="Dziękuję!",
        NAME="Zofia",
        TS=str(int(time.time()) + 1),
    )
    assert (await meta_post(server.client(), inbox, answer)).status_code == 200
    (conv,) = await conversations(admin, inbox)
    assert conv["id"] == cid  # one conversation: the answer continued it
    detail = (await admin.get(f"/api/conversations/{cid}")).json()
    assert detail["status"] == "open"
    (segment,) = detail["response_cycles"]
    assert segment["responded_at"] is None  # the template answered nothing
    assert detail["reply_window_closes_at"] is not None  # free text may follow now
