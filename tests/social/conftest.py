"""Social-channel fixtures: the stand-ins, and ``server`` pointed at them.

``server`` here overrides the shared one only to set the API base URLs to the stand-ins
and allow loopback fetches (the stand-ins live on loopback); everything else is the same
real server on the same databases.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import Running, _set_admin_password, make_settings, start_server
from tests.social.standins import FakeGraph, FakeTelegram


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph() as fake:
        yield fake


@pytest.fixture
async def telegram_api() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def social_settings(
    tmp_path: Path,
    database_url: str,
    graph: FakeGraph,
    telegram_api: FakeTelegram,
    **overrides: object,
) -> object:
    values: dict[str, object] = {
        "meta_graph_base": graph.url,
        "telegram_api_base": telegram_api.url,
        "allow_private_urls": True,
        "public_url": "https://support.example.test",
        **overrides,
    }
    return make_settings(tmp_path, database_url, **values)


@pytest.fixture
async def server(
    tmp_path: Path, database_url: str, graph: FakeGraph, telegram_api: FakeTelegram
) -> AsyncIterator[Running]:
    running = await start_server(
        social_settings(  # type: ignore[arg-type]
            tmp_path, database_url, graph, telegram_api
        )
    )
    await _set_admin_password(running)
    try:
        yield running
    finally:
        await running.stop()
