"""Fixtures for tests that need a real bot process (one per test module, per pipecat version)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pyrtvi_server.botproc import BotProcess, bot_python

from bench.fake_upstream import FakeUpstream
from tests.server.rtvi_peer import RTVIPeer, start_session

LEGACY_PIPECAT = "0.0.108"
MODERN_PIPECAT = "1.14.0"
BOT_START_TIMEOUT = 120.0


def _bot(version: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    python = bot_python(version)
    if not python.exists():
        pytest.skip(f"no bot environment for pipecat {version} ({python}): run `make setup-test`")
    log = tmp_path_factory.mktemp("bot") / f"bot-{version}.log"
    bot = BotProcess(python, pipecat_version=version, log_path=log)
    asyncio.run(bot.start(timeout=BOT_START_TIMEOUT))
    try:
        yield bot
    finally:
        asyncio.run(bot.stop())


@pytest.fixture(scope="module")
def legacy_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """A bot on pipecat 0.0.108 (RTVI 1.2 + 0.3 config/actions), shared by the module."""
    yield from _bot(LEGACY_PIPECAT, tmp_path_factory)


@pytest.fixture(scope="module")
def modern_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """A bot on pipecat 1.14.0 (RTVI 2.x), shared by the module."""
    yield from _bot(MODERN_PIPECAT, tmp_path_factory)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def connected_peer(
    bot: BotProcess, http: httpx.AsyncClient, start_body: dict[str, Any] | None = None
) -> RTVIPeer:
    """A new session on `bot` with an aiortc peer whose data channel is open."""
    peer = RTVIPeer()
    try:
        await peer.connect(await start_session(http, bot.base_url, start_body), http)
    except BaseException:
        await peer.close()
        raise
    return peer


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    """A recording fake bot service on a free port, shared by the module."""
    fake = FakeUpstream().start_server()
    yield fake
    fake.stop()
