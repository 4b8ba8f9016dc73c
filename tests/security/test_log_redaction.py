"""Hole 8: no credential reaches a log line. The agent socket takes no token in its URL,
and every logged URL (uvicorn's access log included) has its credentials masked.

The server runs as an admin runs it (``python -m server.cli serve`` with the access log
on); the test reads everything the process printed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect as connect_async
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server.redact import redact
from tests.conftest import Running
from tests.realtime.conftest import Team
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ["tok-AAAA1111", "verify-BBBB2222", "pass-CCCC3333"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    env = {
        **os.environ,
        "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
        "SWITCHBOARD_PORT": str(port),
        "SWITCHBOARD_HOST": "127.0.0.1",
        "SWITCHBOARD_ACCESS_LOG": "true",
        "SWITCHBOARD_LOG_LEVEL": "INFO",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(60)


def test_credentials_in_urls_never_reach_the_log(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    base, proc = served
    httpx.get(f"{base}/healthz?token={SECRETS[0]}")
    httpx.get(f"{base}/webhooks/nokey?hub.mode=subscribe&hub.verify_token={SECRETS[1]}")
    httpx.get(f"{base}/api/me?password={SECRETS[2]}")
    url = f"{base.replace('http', 'ws')}/ws?token={SECRETS[0]}"
    with pytest.raises(ConnectionClosed) as closed, connect(url) as ws:
        ws.send('{"type": "hello", "last_event_id": null}')
        ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert "GET /healthz?token=[redacted]" in output  # the access log is on and masked
    for secret in SECRETS:
        assert secret not in output


def test_redact_masks_credentials_but_not_public_keys() -> None:
    assert redact("GET /ws?token=abc123&x=1") == "GET /ws?token=[redacted]&x=1"
    assert redact("Authorization: Bearer abcdefghijkl") == "Authorization: Bearer [redacted]"
    assert redact("/api/widget/pk_123/config?key=pk_123") == "/api/widget/pk_123/config?key=pk_123"
    assert (
        redact("cannot reach postgresql://sb:pg-Secret1@db:5432/sb")
        == "cannot reach postgresql://sb:[redacted]@db:5432/sb"
    )
    assert redact("smtp://user@host:587 at 10:30") == "smtp://user@host:587 at 10:30"


async def test_a_valid_session_token_in_the_socket_url_is_refused(
    server: Running, team: Team
) -> None:
    async with connect_async(f"{server.ws_url}/ws?token={team.alice.token}") as ws:
        with pytest.raises(ConnectionClosed):
            await ws.send(json.dumps({"type": "hello", "last_event_id": None}))
            await ws.recv()
        assert ws.close_code == 4401
