"""Self-tests of the real-service helpers: every server is started and spoken to for real."""

from __future__ import annotations

import imaplib
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aioimaplib
import asyncpg  # type: ignore[import-untyped]
import pytest
import redis.asyncio as aioredis
from playwright.async_api import async_playwright

from tests.support import browser, services
from tests.support.browser import launch_chromium
from tests.support.ports import free_port
from tests.support.services import (
    DovecotServer,
    PostgresServer,
    RedisServer,
    ServiceStartError,
    ServiceUnavailable,
)

MAIL = (
    b"From: Customer <customer@example.test>\r\n"
    b"To: support@example.test\r\n"
    b"Subject: Where is my order?\r\n"
    b"Message-ID: <order-1@example.test>\r\n"
    b"\r\n"
    b"Hello, it has been a week.\r\n"
)


def assert_gone(pid: int | None, directory: Path) -> None:
    """The server, every process it forked, and its temp dir must all be gone."""
    assert pid is not None
    assert not services.group_alive(pid)
    assert not directory.exists()


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


async def test_postgres_select_and_create_database() -> None:
    with PostgresServer() as pg:
        assert pg.port != 5432
        conn = await asyncpg.connect(pg.url)
        try:
            assert await conn.fetchval("SELECT 1") == 1
        finally:
            await conn.close()

        url = pg.create_database("inbox_test")
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT current_database()") == "inbox_test"
            tables = await conn.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            )
            assert tables == 0
        finally:
            await conn.close()
        pg.drop_database("inbox_test")
        # A connection left open must not make teardown wait for it (fast shutdown).
        leaked = await asyncpg.connect(pg.url)
        pid, directory = pg.pid, pg.directory
    assert_gone(pid, directory)
    leaked.terminate()


async def test_redis_ping_set_get_flush_and_restart() -> None:
    with RedisServer() as server:
        assert server.port != 6379
        client = aioredis.from_url(server.url)
        try:
            assert await client.ping() is True
            await client.set("greeting", "hello")
            assert await client.get("greeting") == b"hello"
            server.flush()
            assert await client.get("greeting") is None
            await client.set("greeting", "again")
        finally:
            await client.aclose()

        port, old_pid = server.port, server.pid
        server.restart()
        assert server.port == port and server.pid != old_pid

        client = aioredis.from_url(server.url)
        try:
            assert await client.ping() is True
            assert await client.get("greeting") is None  # persistence is off
        finally:
            await client.aclose()
        pid, directory = server.pid, server.directory
    assert_gone(pid, directory)


async def _inbox_count(server: DovecotServer, user: str, password: str) -> int:
    client = aioimaplib.IMAP4(host=server.host, port=server.port, timeout=10)
    await client.wait_hello_from_server()
    try:
        assert (await client.login(user, password)).result == "OK"
        selected = await client.select("INBOX")
        assert selected.result == "OK"
        for line in selected.lines:
            if line.endswith(b" EXISTS"):
                return int(line.split()[0])
        raise AssertionError(f"no EXISTS in {selected.lines!r}")
    finally:
        await client.logout()


async def test_dovecot_login_append_select_and_outage() -> None:
    with DovecotServer() as server:
        # Added while running: Dovecot must re-read the users file on login.
        server.add_user("support@example.test", "s3cret")
        assert server.append("support@example.test", "s3cret", MAIL) == 1
        assert await _inbox_count(server, "support@example.test", "s3cret") == 1

        with pytest.raises(imaplib.IMAP4.error):
            server.append("support@example.test", "wrong", MAIL)

        port = server.port
        server.stop()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((server.host, port), timeout=2).close()

        server.start()
        assert server.port == port
        assert await _inbox_count(server, "support@example.test", "s3cret") == 1
        server.add_user("sales@example.test", "pw")
        assert server.append("sales@example.test", "pw", MAIL, mailbox="Archive") == 1
        pid, directory = server.pid, server.directory
    assert_gone(pid, directory)


async def test_chromium_opens_data_url() -> None:
    async with async_playwright() as playwright:
        chromium = await launch_chromium(playwright)
        try:
            page = await chromium.new_page()
            await page.goto("data:text/html,<title>Switchboard</title><p>hi</p>")
            assert await page.title() == "Switchboard"
        finally:
            await chromium.close()


@pytest.mark.parametrize(
    ("cls", "package"),
    [(PostgresServer, "postgresql"), (RedisServer, "redis-server"), (DovecotServer, "dovecot")],
)
def test_missing_binary_fails_with_install_hint(
    monkeypatch: pytest.MonkeyPatch, cls: type[services._ManagedServer], package: str
) -> None:
    monkeypatch.setattr(shutil, "which", lambda *_a, **_k: None)
    monkeypatch.setattr(services, "SYSTEM_BIN_DIRS", ())
    monkeypatch.setattr(services, "POSTGRES_BIN_GLOB", "/nonexistent/*/bin")
    with pytest.raises(
        ServiceUnavailable, match=re.escape("run scripts/install-test-deps.sh")
    ) as info:
        cls()
    assert package in str(info.value)


async def test_missing_chromium_fails_with_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "CHROMIUM_PATH", "/nonexistent/chromium")
    with pytest.raises(ServiceUnavailable, match=r"'chromium'.*install-test-deps"):
        await launch_chromium(None)  # type: ignore[arg-type]


@pytest.fixture
def occupied_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_start_failure_reports_log_tail(occupied_port: int) -> None:
    server = RedisServer(port=occupied_port)
    with pytest.raises(ServiceStartError, match=r"(?s)exited with code.*in use"), server:
        pass
    assert not server.running
    assert not server.directory.exists()


def test_stolen_port_is_replaced_on_first_start(
    monkeypatch: pytest.MonkeyPatch, occupied_port: int
) -> None:
    ports = iter([occupied_port])
    monkeypatch.setattr(services, "free_port", lambda: next(ports, None) or free_port())
    with RedisServer() as server:
        assert server.port != occupied_port
        assert server.running


KILLED_OWNER = """
import sys
from tests.support.services import RedisServer
server = RedisServer()
server.start()
print(server.pid, server.directory, flush=True)
sys.stdin.read()
"""


def test_servers_die_with_a_killed_test_process() -> None:
    """pytest SIGKILLed (CI timeout): its servers die too, the next run sweeps its dirs."""
    owner = subprocess.Popen(
        [sys.executable, "-c", KILLED_OWNER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parents[2],
        text=True,
    )
    assert owner.stdout is not None and owner.stdin is not None
    with owner.stdin, owner.stdout:
        pid_text, directory_text = owner.stdout.readline().split()
        owner.kill()
        owner.wait()
    deadline = time.monotonic() + 10
    while services.group_alive(int(pid_text)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not services.group_alive(int(pid_text))

    assert Path(directory_text).exists()
    with RedisServer():
        assert not Path(directory_text).exists()
