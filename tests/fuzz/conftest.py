"""A real `switchboard serve` process per database for the fuzzers, seeded so that generated
requests reach past the "not found" answers: an agent, an admin, an API inbox with a
conversation, a chat widget with a visitor, a Telegram and a Messenger inbox.

The server runs in its own process (not in the test's event loop) because schemathesis
drives it with blocking HTTP calls.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from tests.support.ports import free_port
from tests.support.services import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
ADMIN = ("fuzz-admin@example.test", "fuzz-admin-password-1")
AGENT = ("fuzz-agent@example.test", "fuzz-agent-password-1")
INBOUND_TOKEN = "fuzz-inbound-token-0123456789"
TG_SECRET = "fuzz-tg-secret"


@dataclass
class FuzzTarget:
    """A running server and what the fuzzers authenticate with."""

    base: str
    proc: subprocess.Popen[bytes]
    tokens: dict[str, str] = field(default_factory=dict)  # admin | agent | visitor | inbound
    keys: dict[str, str] = field(default_factory=dict)  # api | webchat | telegram | messenger
    user_ids: dict[str, int] = field(default_factory=dict)
    session: requests.Session = field(default_factory=requests.Session)  # one keep-alive pool

    def alive(self) -> bool:
        return self.proc.poll() is None

    def login(self, role: str) -> None:
        email, password = ADMIN if role == "admin" else AGENT
        response = httpx.post(
            f"{self.base}/api/auth/login", json={"email": email, "password": password}, timeout=30
        )
        assert response.status_code == 200, f"{role} login: {response.status_code} {response.text}"
        self.tokens[role] = response.json()["token"]
        self.user_ids[role] = response.json()["user"]["id"]

    def token_works(self, role: str) -> bool:
        response = httpx.get(
            f"{self.base}/api/me", headers={"authorization": f"Bearer {self.tokens[role]}"}
        )
        return response.status_code == 200


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"switchboard serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("switchboard serve did not become ready")


def _post(target: FuzzTarget, path: str, body: Any, token: str = "") -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(f"{target.base}{path}", json=body, headers=headers, timeout=30)
    assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text}"
    return response.json()  # type: ignore[no-any-return]


def _seed(target: FuzzTarget) -> None:
    target.login("admin")
    admin = target.tokens["admin"]
    agent = _post(
        target,
        "/api/admin/agents",
        {"email": AGENT[0], "name": "Fuzz Agent", "role": "agent", "password": AGENT[1]},
        admin,
    )
    target.login("agent")
    inboxes = {
        "api": ("api", {"inbound_token": INBOUND_TOKEN, "webhook_secret": "fuzz-hook-secret"}),
        "webchat": ("webchat", {}),
        "telegram": ("telegram", {"bot_token": "123456:fuzz-token", "secret_token": TG_SECRET}),
        "messenger": (
            "messenger",
            {
                "page_id": "1042517589",
                "access_token": "fuzz-page-token",
                "app_secret": "fuzz-app-secret",
                "verify_token": "fuzz-verify",
            },
        ),
    }
    for name, (kind, config) in inboxes.items():
        body = {"name": f"Fuzz {name}", "kind": kind, "config": config, "member_ids": [agent["id"]]}
        target.keys[name] = _post(target, "/api/admin/inboxes", body, admin)["public_key"]
    inbound = {
        "external_id": str(uuid.uuid4()),
        "text": "Where is my order?",
        "contact": {"external_id": "fuzz-customer", "name": "Fuzz Customer"},
    }
    target.tokens["inbound"] = INBOUND_TOKEN
    _post(target, f"/api/channels/api/{target.keys['api']}/messages", inbound, INBOUND_TOKEN)
    widget = f"/api/widget/{target.keys['webchat']}"
    target.tokens["visitor"] = _post(target, f"{widget}/sessions", {})["token"]
    _post(
        target,
        f"{widget}/messages",
        {"client_id": "fuzz-client-1", "text": "hi"},
        target.tokens["visitor"],
    )


def _database(request: pytest.FixtureRequest, tmp: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp / 'fuzz.db'}"
        return
    pg: PostgresServer = request.getfixturevalue("postgres")
    name = f"fuzz_{uuid.uuid4().hex[:10]}"
    yield pg.create_database(name)
    pg.drop_database(name)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzz_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzTarget]:
    tmp = tmp_path_factory.mktemp("fuzz")
    databases = _database(request, tmp)
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": next(databases),
        "SWITCHBOARD_DATA_DIR": str(tmp / "data"),
        "SWITCHBOARD_PORT": str(free_port()),
        "SWITCHBOARD_SECRET_KEY": "f" * 40,
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "server.cli"]
    subprocess.run(
        [*command, "create-admin", ADMIN[0], "--password", ADMIN[1]],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen([*command, "serve"], env=env, cwd=ROOT, stdout=log, stderr=log)
    target = FuzzTarget(f"http://127.0.0.1:{env['SWITCHBOARD_PORT']}", proc)
    try:
        _wait_ready(target.base, proc)
        _seed(target)
        yield target
    finally:
        target.session.close()
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        next(databases, None)
