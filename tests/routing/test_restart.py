"""A rule's webhook survives ``kill -9``: it is committed with the message that fired the
rule, and a restarted node delivers it (docs/automation.md "Webhooks")."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.realtime.nodes import start_node
from tests.support.api import INBOUND_TOKEN, eventually, post_inbound
from tests.support.receiver import Receiver


async def test_a_queued_webhook_is_delivered_after_a_kill_9_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'switchboard.db'}"
    quiet = {"SWITCHBOARD_RUN_WORKERS": "false", "SWITCHBOARD_ALLOW_PRIVATE_URLS": "true"}
    node = start_node(tmp_path, "node", url, "", **quiet)  # no workers: nothing is sent yet
    async with Receiver() as receiver:
        try:
            password = node.admin_password()
            admin = node.client()
            r = await admin.post(
                "/api/auth/login", json={"email": "admin@example.test", "password": password}
            )
            admin.headers["authorization"] = f"Bearer {r.json()['token']}"
            inbox = (
                await admin.post(
                    "/api/admin/inboxes",
                    json={"name": "S", "kind": "api", "config": {"inbound_token": INBOUND_TOKEN}},
                )
            ).json()
            r = await admin.post(
                "/api/admin/rules",
                json={
                    "name": "Hook",
                    "trigger": "conversation_created",
                    "actions": [{"type": "webhook", "url": receiver.url}],
                },
            )
            assert r.status_code == 201, r.text
            r = await post_inbound(admin, inbox, contact="c1", text="hello")
            assert r.status_code in (200, 201), r.text
            await node.close_clients()
        finally:
            node.kill(signal.SIGKILL)
        assert receiver.requests == []
        node = start_node(tmp_path, "node", url, "", SWITCHBOARD_ALLOW_PRIVATE_URLS="true")
        try:

            async def delivered() -> bool:
                return len(receiver.requests) == 1

            await eventually(delivered, timeout=30)
            assert b'"name":"Hook"' in receiver.requests[0].body
        finally:
            node.kill()
