"""The tests' fixtures for several replicas (the processes themselves: `bench.cluster`)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bench.cluster import Cluster, have_cluster_tools, start_cluster
from tests.runner_bot import BOT as RUNNER_BOT
from tests.runner_bot import PYTHON as RUNNER_PYTHON
from tests.runner_bot import RunnerBot


def cluster_fixture(
    tmp_path_factory: pytest.TempPathFactory, bot_url: str, env: dict[str, str] | None = None
) -> Iterator[Cluster]:
    if not have_cluster_tools():
        pytest.skip("redis-server or nginx is missing: apt-get install redis-server nginx")
    cluster = start_cluster(tmp_path_factory.mktemp("cluster"), bot_url, env=env)
    try:
        yield cluster
    finally:
        cluster.stop()


def health(url: str) -> dict[str, object]:
    reply: dict[str, object] = httpx.get(url + "/health", timeout=10).json()
    return reply


def any_transport_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunnerBot]:
    """The stock runner bot with no `-t`: every transport it has (WebRTC and WebSocket at once),
    on `localhost` (its WebSocket URLs are then `ws://`)."""
    if not RUNNER_PYTHON.exists():
        pytest.skip(f"no runner bot environment ({RUNNER_PYTHON}): run `make setup-test`")
    command = [str(RUNNER_PYTHON), str(RUNNER_BOT), "--host", "{host}", "--port", "{port}"]
    bot = RunnerBot(transport="websocket", command=command)
    bot.start(tmp_path_factory.mktemp("runner-bot"))
    try:
        yield bot
    finally:
        bot.stop()
