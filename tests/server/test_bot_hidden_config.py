"""Config the server operator set (`PYRTVI_BOT_EXTRA` config) is not readable over the data
channel either: a real 0.0.108 bot launched with `PYRTVI_BOT_HIDDEN_CONFIG`, an aiortc peer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from pyrtvi_server.botproc import BotProcess, bot_python

from tests.server.conftest import BOT_START_TIMEOUT, LEGACY_PIPECAT, connected_peer
from tests.server.test_bot_legacy import START, action

SYSTEM = "the operator's secret prompt"
HIDDEN_START = {
    **START,
    "config": [
        {"service": "tts", "options": [{"name": "voice", "value": "en-gb"}]},
        {
            "service": "llm",
            "options": [{"name": "messages", "value": [{"role": "system", "content": SYSTEM}]}],
        },
    ],
}


@pytest.fixture(scope="module")
def hiding_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    python = bot_python(LEGACY_PIPECAT)
    if not python.exists():
        pytest.skip(f"no bot environment for pipecat {LEGACY_PIPECAT}: run `make setup-test`")
    log = tmp_path_factory.mktemp("bot") / "hiding-bot.log"
    env = {"PYRTVI_BOT_HIDDEN_CONFIG": json.dumps([["llm", "messages"]])}
    bot = BotProcess(python, pipecat_version=LEGACY_PIPECAT, log_path=log, env=env)
    asyncio.run(bot.start(timeout=BOT_START_TIMEOUT))
    try:
        yield bot
    finally:
        asyncio.run(bot.stop())


async def test_hidden_options_read_back_as_null_and_get_context_is_refused(
    hiding_bot: BotProcess,
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        peer = await connected_peer(hiding_bot, http, HIDDEN_START)
        try:
            ready = await peer.ready(version=None)  # a 0.x client: bot-ready carries config
            for reply in (ready, await peer.request("get-config")):
                config = {e["service"]: e["options"] for e in reply["data"]["config"]}
                assert config["tts"] == [{"name": "voice", "value": "en-gb"}]
                assert config["llm"] == [{"name": "messages", "value": None}]
                assert SYSTEM not in json.dumps(reply)
            refused = await peer.request("action", action("llm", "get_context"))
            assert refused["type"] == "error-response", refused
            assert "server-side configuration" in refused["data"]["error"]
            assert SYSTEM not in json.dumps(refused)
        finally:
            await peer.close()
