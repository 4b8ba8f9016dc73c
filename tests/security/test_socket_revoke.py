"""Hole 13: a revoked socket's clean-up runs (departure announced), with no error."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import Running
from tests.realtime.conftest import Team
from tests.realtime.wsclient import AgentSocket
from tests.support.api import post_inbound


async def test_revoked_socket_withdraws_its_badges(
    server: Running, team: Team, caplog: pytest.LogCaptureFixture
) -> None:
    conv = (await post_inbound(server.client(), team.a)).json()["conversation_id"]
    alice = await AgentSocket.open(server.ws_url, team.alice.token)
    bob = await AgentSocket.open(server.ws_url, team.bob.token)
    await alice.send({"type": "viewing", "conversation_id": conv})
    await bob.until(lambda f: f["type"] == "viewing" and f["active"])
    with caplog.at_level(logging.ERROR):
        assert (await team.alice.http.post("/api/auth/logout")).status_code == 200
        assert (await alice.closed())[0] == 4401
        gone = await bob.until(lambda f: f["type"] == "viewing")
        assert (gone["conversation_id"], gone["active"]) == (conv, False)
        offline = await bob.until(
            lambda f: f["type"] == "presence" and f["user_id"] == team.alice.user["id"]
        )
        assert offline["status"] == "offline"
    assert not [r for r in caplog.records if "AttributeError" in (r.exc_text or r.getMessage())]
