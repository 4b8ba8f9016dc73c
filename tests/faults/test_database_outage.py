"""PostgreSQL stopped, then frozen (SIGSTOP), under a running server.

Stopped: every request answers 503 with Retry-After (integrations retry), never 500.
Frozen: nothing hangs — requests end in 503 once the timeouts fire, /readyz answers within
a second. Either way the log gets one line per failure kind, not a traceback per request.
Each test has its own PostgreSQL (the session's must stay up) and restores what it broke.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Running, make_settings, start_server
from tests.conftest import _set_admin_password as set_admin_password
from tests.faults.services import freeze, thaw
from tests.support.api import create_api_inbox, eventually, post_inbound
from tests.support.services import PostgresServer

READY_WITHIN = 2.0  # /readyz waits at most 1 s for the database; the rest is slack


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        if server.pid is not None:
            thaw(server.pid)  # whatever the test did, it can be stopped
        server.close()


@pytest.fixture
async def served(tmp_path: Path, own_postgres: PostgresServer) -> AsyncIterator[Running]:
    url = own_postgres.create_database("outage")
    server = await start_server(make_settings(tmp_path, url))
    try:
        await set_admin_password(server)
        yield server
    finally:
        if own_postgres.pid is not None:
            thaw(own_postgres.pid)
        own_postgres.start()
        await server.stop()


async def _setup(server: Running) -> tuple[httpx.AsyncClient, dict[str, object]]:
    admin = await server.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    inbox = await create_api_inbox(admin)
    return admin, inbox


async def _readyz(client: httpx.AsyncClient) -> tuple[int, float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await client.get("/readyz")
    return response.status_code, loop.time() - started


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"]["code"] == "database_unavailable"


async def test_a_stopped_database_answers_503_with_retry_after(
    served: Running, own_postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    admin, inbox = await _setup(served)
    intake = served.client()
    own_postgres.stop()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        for n in range(20):
            _assert_unavailable(await post_inbound(intake, inbox, external_id=f"s{n}"))
            _assert_unavailable(await admin.get("/api/conversations"))
        status, _took = await _readyz(intake)
        assert status == 503
    noisy = [r for r in caplog.records if r.exc_info]
    assert not noisy, f"tracebacks logged: {[r.getMessage() for r in noisy][:3]}"
    assert len(caplog.records) <= 5, [r.getMessage() for r in caplog.records]
    own_postgres.start()

    async def back() -> bool:
        response = await post_inbound(intake, inbox, external_id="after")
        return response.status_code == 201

    await eventually(back, timeout=30)
    assert (await _readyz(intake))[0] == 200


async def test_a_frozen_database_hangs_neither_requests_nor_readyz(
    served: Running, own_postgres: PostgresServer
) -> None:
    admin, inbox = await _setup(served)
    intake = served.client()
    assert own_postgres.pid is not None
    freeze(own_postgres.pid)
    try:
        for _ in range(3):
            status, took = await _readyz(intake)
            assert status == 503 and took < READY_WITHIN, (status, took)
        # Each ends with 503 once the statement, pool or connect timeout fires.
        responses = await asyncio.gather(
            *(post_inbound(intake, inbox, external_id=f"f{n}") for n in range(5)),
            admin.get("/api/conversations"),
        )
        for response in responses:
            _assert_unavailable(response)
        status, took = await _readyz(intake)
        assert status == 503 and took < READY_WITHIN, (status, took)
    finally:
        thaw(own_postgres.pid)

    async def back() -> bool:
        return (await post_inbound(intake, inbox, external_id="thawed")).status_code == 201

    await eventually(back, timeout=30)
    assert (await _readyz(intake))[0] == 200


async def test_background_work_logs_an_outage_once_not_a_traceback_per_round(
    served: Running,
    own_postgres: PostgresServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The email-continuity sweep (every 30 s) logged a full traceback per round while the
    database was down (the chaos run's node logs: 9 in one run)."""
    from server.widget import continuity

    rounds: list[object] = []
    sweep = continuity.sweep

    async def counted(ctx: object) -> object:
        try:
            return await sweep(ctx)  # type: ignore[arg-type]
        finally:
            rounds.append(ctx)

    monkeypatch.setattr(continuity, "sweep", counted)
    own_postgres.stop()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        sweeping = asyncio.create_task(continuity._sweep_loop(served.ctx))

        async def swept() -> bool:  # its first round ran into the outage
            return bool(rounds)

        try:
            await eventually(swept, timeout=15)
        finally:
            sweeping.cancel()
            await asyncio.gather(sweeping, return_exceptions=True)
    noisy = [r.getMessage() for r in caplog.records if r.exc_info]
    assert not noisy, f"tracebacks logged: {noisy[:3]}"
