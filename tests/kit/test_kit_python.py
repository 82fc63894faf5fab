"""The test kit in python mode (`--rtvi-transport python`): the user's tests of test_kit.py, run
by pytester with the pyrtvi client in the test process (CPython, no browser) over the WebSocket,
through the kit's `pyrtvi serve`. One pytester run per bot:

- the stock runner bot (tests/runner_bot): `type`, `say` (twice), `press`, `send_file`,
  `request` and request data, a function call (typed and spoken), an interruption, several
  sessions, a failing test's recording (`user.wav`, `bot.wav`) and message; plus, in python mode
  only, the async twin and latency honesty: sessions whose bot answers 0 and 500 ms late
  (`answer_delay_ms` in the request data) give `voice_to_voice_ms` 500 ± 60 ms apart;
- the embedded bot (pipecat 1.14): `type`, `press`, `send_file`, `request`, a function call,
  `say`, `interrupt`, a failing test's recording and message.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from tests.kit.test_kit import (
    EMBEDDED_PIPECAT,
    EMBEDDED_TESTS,
    RUNNER_BOT,
    USER_TESTS,
    check_failure_recording,
    run_kit,
    runner_env,
)

__all__ = ["runner_env"]  # the autouse fixture, imported for this module's tests

pytestmark = pytest.mark.bot
pytest_plugins = ["pytester"]

#: Python mode only: the session's kind, the async twin, and latency honesty.
PYTHON_TESTS = """

import asyncio

import pytest
from pyrtvi_testing.python_session import AsyncPythonSession, PythonSession


def test_the_session_runs_in_this_process(rtvi, rtvi_bot):
    assert isinstance(rtvi, PythonSession) and rtvi.transport == "python"
    assert rtvi.ready["about"]["library_version"] == "1.14.0"
    assert rtvi.now() >= rtvi.events[-1]["t"]


def test_the_async_twin(rtvi_bot):
    async def talk():
        session = await AsyncPythonSession.open(rtvi_bot.server.url, {"user": 3})
        try:
            turn = await session.type("async hello")
            assert turn.bot_text == "You said: async hello."
            assert any(e["type"] == "botStoppedSpeaking" for e in await session.events())
            assert await session.request("body") == {"user": 3}
            assert await session.bot_wav()
        finally:
            await session.disconnect()

    asyncio.run(talk())


"""

#: Latency honesty in python mode, on a runner bot without its STT (`RUNNER_BOT_STT=none`, as
#: tests/browser/test_virtual_mic.py does): PocketSphinx's decoding time and pipecat's turn model
#: vary by 100+ ms from one utterance to the next, more than the ±60 ms allowed; without an STT
#: each session's first spoken turn ends on the fixed turn-stop timeout.
LATENCY_TEST = """
def test_a_known_answer_delay_shows_in_voice_to_voice(rtvi_connect):
    v2v = {}
    for delay in (0, 500):
        session = rtvi_connect(request_data={"answer_delay_ms": delay})
        v2v[delay] = session.say("Please tell me a joke.", timeout=60).voice_to_voice_ms
    print(f"python mode voice_to_voice_ms by answer delay={v2v}")
    assert abs(v2v[500] - v2v[0] - 500) <= 60, v2v
"""

V2V = re.compile(r"python mode voice_to_voice_ms by answer delay=(.*)")


def test_the_runner_bot_in_python_mode(pytester: pytest.Pytester) -> None:
    args = ("--rtvi-bot", RUNNER_BOT, "--rtvi-transport", "python", "-s")
    result, record = run_kit(pytester, USER_TESTS + PYTHON_TESTS, *args)
    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("failed")) == (8, 1), outcomes
    assert "chromium" not in result.stdout.str().lower()  # no browser was started
    folder = record / "test_user.py_test_fails_on_purpose"
    check_failure_recording(result, folder, "You said: remember me.")
    assert (
        record
        / "test_user.py_test_request_data_reaches_the_bot_and_sessions_run_together"
        / "session-2"
        / "user.wav"
    ).exists()


@pytest.mark.timing
def test_a_known_answer_delay_shows_in_python_mode(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNNER_BOT_STT", "none")
    args = ("--rtvi-bot", RUNNER_BOT, "--rtvi-transport", "python", "-s")
    result, _ = run_kit(pytester, LATENCY_TEST, *args)
    print(V2V.findall(result.stdout.str()))  # the D vs D+500 figures
    result.assert_outcomes(passed=1)


def test_the_embedded_bot_in_python_mode(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (ROOT / ".venvs" / f"bot-{EMBEDDED_PIPECAT}").exists():
        pytest.skip(f"no embedded bot environment for pipecat {EMBEDDED_PIPECAT}")
    monkeypatch.setenv("PYRTVI_BOT_PIPECAT", EMBEDDED_PIPECAT)
    result, record = run_kit(pytester, EMBEDDED_TESTS, "--rtvi-transport", "python")
    result.assert_outcomes(passed=3, failed=1)
    check_failure_recording(result, record / "test_user.py_test_fails_on_purpose", "I heard")
