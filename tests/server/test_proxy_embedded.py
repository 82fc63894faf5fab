"""The embedded bot's lifecycle in `pyrtvi_server.bots` with a stand-in process (no pipecat).

The real process is exercised in test_proxy_bot.py; here the failure paths that are slow or
awkward to provoke for real: a bot that cannot start, dies repeatedly, and the restart backoff.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

import pytest
from pyrtvi_server import botproc, bots
from pyrtvi_server.bots import BotSetupError, EmbeddedBot, create_bot_service
from pyrtvi_server.config import Settings
from pyrtvi_server.upstream import ProxyError


class FakeProcess:
    """Stands in for `botproc.BotProcess`; `outcomes` decides how each start goes."""

    outcomes: ClassVar[list[str]] = []
    instances: ClassVar[list[FakeProcess]] = []

    def __init__(self, python: Path, pipecat_version: str | None = None) -> None:
        self.python = python
        self.url = f"http://127.0.0.1:{9000 + len(self.instances)}"
        self.alive = False
        self.stopped = False
        FakeProcess.instances.append(self)

    @property
    def running(self) -> bool:
        return self.alive

    @property
    def returncode(self) -> int | None:
        return None if self.alive else -9

    async def start(self, timeout: float) -> None:
        if FakeProcess.outcomes.pop(0) == "fail":
            raise RuntimeError("bot exited with code 1 during start")
        self.alive = True

    async def stop(self) -> None:
        self.alive = False
        self.stopped = True


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> EmbeddedBot:
    monkeypatch.setattr(botproc, "BotProcess", FakeProcess)
    FakeProcess.instances = []
    FakeProcess.outcomes = []
    settings = Settings(bot_mode="embedded", bot_python=Path(sys.executable))
    return EmbeddedBot(settings)


async def test_failed_start_is_503_then_restarted(embedded: EmbeddedBot) -> None:
    FakeProcess.outcomes = ["fail", "ok"]
    await embedded.startup()
    with pytest.raises(ProxyError) as failed:
        await embedded.upstream()  # waits for the start, which fails
    assert failed.value.status == 503
    assert "did not start" in str(failed.value.detail)
    assert "exited with code 1" in str(failed.value.detail)
    status = await embedded.status()
    assert status["state"] == "failed" and "did not start" in str(status["detail"])
    upstream = await embedded.upstream()  # the next request retries at once, and it works
    assert upstream.base_url == FakeProcess.instances[1].url
    assert (await embedded.status())["state"] == "running"
    await embedded.shutdown()


async def test_failing_bot_is_retried_with_backoff(embedded: EmbeddedBot) -> None:
    FakeProcess.outcomes = ["fail", "fail"]
    await embedded.startup()
    for _ in range(2):  # the start, then the immediate retry
        with pytest.raises(ProxyError, match="did not start"):
            await embedded.upstream()
    with pytest.raises(ProxyError) as backoff:
        await embedded.upstream()
    assert backoff.value.status == 503
    assert "retrying in" in str(backoff.value.detail)
    assert len(FakeProcess.instances) == 2, "no start attempt during the backoff"
    await embedded.shutdown()


async def test_dead_bot_restart_and_backoff(
    embedded: EmbeddedBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeProcess.outcomes = ["ok", "ok", "ok"]
    await embedded.startup()
    first = await embedded.upstream()
    assert first.base_url == FakeProcess.instances[0].url
    assert (await embedded.status())["state"] == "running"

    FakeProcess.instances[0].alive = False  # the bot dies
    status = await embedded.status()
    assert status["state"] == "exited" and "code -9" in str(status["detail"])
    second = await embedded.upstream()  # first restart: immediate
    assert second.base_url == FakeProcess.instances[1].url
    assert FakeProcess.instances[0].stopped
    assert (await embedded.status())["restarts"] == 1

    FakeProcess.instances[1].alive = False  # dies again at once: backoff
    with pytest.raises(ProxyError) as backoff:
        await embedded.upstream()
    assert backoff.value.status == 503 and "retrying in" in str(backoff.value.detail)
    assert len(FakeProcess.instances) == 2

    monkeypatch.setattr(bots, "RESTART_BACKOFF", 0.0)
    third = await embedded.upstream()
    assert third.base_url == FakeProcess.instances[2].url
    await embedded.shutdown()
    assert FakeProcess.instances[2].stopped


async def test_session_of_a_dead_bot_is_gone_at_once(embedded: EmbeddedBot) -> None:
    FakeProcess.outcomes = ["ok", "ok"]
    await embedded.startup()
    await embedded.upstream()
    embedded.session_started("s1")
    embedded.check_session("s1")  # alive: fine
    embedded.check_session("never-seen")  # not ours to judge: the bot answers

    FakeProcess.instances[0].alive = False  # the bot dies
    with pytest.raises(ProxyError) as gone:
        embedded.check_session("s1")
    assert gone.value.status == 410 and "exited" in str(gone.value.detail)
    assert len(FakeProcess.instances) == 1, "the check does not wait for a restart"

    await embedded.upstream()  # restarted for the next visitor
    embedded.session_started("s2")
    embedded.check_session("s2")
    with pytest.raises(ProxyError, match="session ended"):
        embedded.check_session("s1")  # still over: another process runs now
    await embedded.shutdown()


async def test_tracked_sessions_are_bounded(
    embedded: EmbeddedBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bots, "MAX_TRACKED_SESSIONS", 3)
    FakeProcess.outcomes = ["ok"]
    await embedded.startup()
    await embedded.upstream()
    for i in range(5):
        embedded.session_started(f"s{i}")
    FakeProcess.instances[0].alive = False
    embedded.check_session("s0")  # forgotten: passed on to the bot
    with pytest.raises(ProxyError):
        embedded.check_session("s4")
    await embedded.shutdown()


def test_missing_venv_is_a_setup_error(tmp_path: Path) -> None:
    settings = Settings(bot_mode="embedded", bot_pipecat_version="9.9.9")
    with pytest.raises(BotSetupError, match=r"bot-9\.9\.9.*make run"):
        create_bot_service(settings)
    with pytest.raises(BotSetupError, match="missing"):
        create_bot_service(Settings(bot_python=tmp_path / "nope" / "python"))


async def test_no_bot_mode() -> None:
    service = create_bot_service(Settings(bot_mode="none"))
    with pytest.raises(ProxyError) as refused:
        await service.upstream()
    assert refused.value.status == 503
    assert await service.status() == {"mode": "none", "state": "disabled"}
