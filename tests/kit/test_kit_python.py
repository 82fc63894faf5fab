"""The test kit in python mode (`--rtvi-transport python`): the user's tests of test_kit.py, run
by pytester with the pyrtvi client in the test process (CPython, no browser) over the WebSocket,
through the kit's `pyrtvi serve`; against the stock runner bot (tests/runner_bot) and the
embedded bot. One pytester run per bot:

- the runner bot: `type`, `say`, `press`, `send_file`, `request`, several sessions, the async
  twin, a failing test's recording (with `user.wav`, `bot.wav`) and message;
- the same bot answering 500 ms later (`RUNNER_BOT_ANSWER_DELAY_MS`; a WebSocket session has no
  body to carry `answer_delay_ms`): `say` only; its `voice_to_voice_ms` is 500 ± 60 ms more;
- the embedded bot (RTVI 1.2: no dtmf, no send-file, said so): `type`, `request`, `say`.
"""

from __future__ import annotations

import io
import re
import wave
from array import array
from pathlib import Path

import pytest

from tests.kit.test_kit import RUNNER_BOT, USER_TESTS, run_kit, runner_env

__all__ = ["runner_env"]  # the autouse fixture, imported for this module's tests

pytestmark = pytest.mark.bot
pytest_plugins = ["pytester"]

#: Python mode only: the async twin, on an event loop of the test's own.
PYTHON_TESTS = """

import asyncio

from pyrtvi_testing.python_session import AsyncPythonSession, PythonSession


def test_the_session_runs_in_this_process(rtvi):
    assert isinstance(rtvi, PythonSession) and rtvi.transport == "python"
    assert rtvi.ready["about"]["library_version"] == "1.14.0"


def test_the_async_twin(rtvi_bot):
    async def talk():
        session = await AsyncPythonSession.open(rtvi_bot.server.url)
        try:
            turn = await session.type("async hello")
            assert turn.bot_text == "You said: async hello."
            assert any(e["type"] == "botStoppedSpeaking" for e in await session.events())
            assert await session.request("body") is None
        finally:
            await session.disconnect()

    asyncio.run(talk())
"""

EMBEDDED_TESTS = """
import pytest
from rtvi import UnsupportedFeatureError


def test_type_and_request(rtvi):
    turn = rtvi.type("hello")
    assert turn.bot_text and turn.spoken_text == turn.bot_text
    assert rtvi.request("echo", {"i": 1}) == {"i": 1}


def test_press_and_send_file_need_a_newer_bot(rtvi, tmp_path):
    with pytest.raises(UnsupportedFeatureError, match="the bot speaks 1.2.0"):
        rtvi.press("1")
    note = tmp_path / "note.txt"
    note.write_text("a note")
    with pytest.raises(UnsupportedFeatureError, match="the bot speaks 1.2.0"):
        rtvi.send_file(note)


def test_say(rtvi):
    turn = rtvi.say("What time is it?", timeout=60)
    assert "I heard you speak" in turn.bot_text
    assert turn.voice_to_voice_ms is not None and 0 < turn.voice_to_voice_ms < 10_000
    print(f"embedded say voice_to_voice_ms={turn.voice_to_voice_ms:.0f}")
"""

SAY = "test_say_speaks_into_the_virtual_mic"
V2V = re.compile(r"say voice_to_voice_ms=(\d+)")


def wav_samples(path: Path) -> array[int]:
    with wave.open(io.BytesIO(path.read_bytes())) as reader:
        assert (reader.getnchannels(), reader.getsampwidth()) == (1, 2)
        samples = array("h", reader.readframes(reader.getnframes()))
    return samples


def loudest(path: Path) -> int:
    return max(map(abs, wav_samples(path)), default=0)


def test_the_runner_bot_in_python_mode(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("--rtvi-bot", RUNNER_BOT, "--rtvi-transport", "python", "-s")
    result, record = run_kit(pytester, USER_TESTS + PYTHON_TESTS, *args)
    result.assert_outcomes(passed=6, failed=1)
    output = result.stdout.str()
    # No browser: the session ran here, and Chromium was never launched.
    assert "chromium" not in output.lower()
    # The failure's message shows the last turn and events...
    assert "rtvi: last turns and events" in output
    assert "bot_text: 'You said: remember me.'" in output and "botStoppedSpeaking" in output
    # ...and its recording has what the microphone sent and what the bot said.
    folder = record / "test_user.py_test_fails_on_purpose"
    assert sorted(p.name for p in folder.iterdir()) == [
        "bot.log",
        "bot.wav",
        "console.log",
        "events.jsonl",
        "turns.md",
        "user.wav",
    ]
    assert "You said: remember me." in (folder / "turns.md").read_text()
    assert '"botStoppedSpeaking"' in (folder / "events.jsonl").read_text()
    assert loudest(folder / "user.wav") == 0  # typed: the microphone sent silence only
    assert loudest(folder / "bot.wav") > 4000  # the runner bot's tone
    said = record / f"test_user.py_{SAY}"
    assert loudest(said / "user.wav") > 4000 and loudest(said / "bot.wav") > 4000
    assert (
        record
        / "test_user.py_test_request_data_reaches_the_bot_and_sessions_run_together"
        / "session-2"
        / "user.wav"
    ).exists()

    # The same bot answering 500 ms later: voice to voice grows by 500 ms.
    monkeypatch.setenv("RUNNER_BOT_ANSWER_DELAY_MS", "500")
    delayed, _ = run_kit(pytester, USER_TESTS, *args, "-k", SAY)
    delayed.assert_outcomes(passed=1, deselected=6)
    v2v = [int(V2V.findall(run.stdout.str())[0]) for run in (result, delayed)]
    print(f"python mode voice_to_voice_ms at answer delay 0 and 500: {v2v}")
    assert abs(v2v[1] - v2v[0] - 500) <= 60, v2v


def test_the_embedded_bot_in_python_mode(pytester: pytest.Pytester) -> None:
    result, _ = run_kit(pytester, EMBEDDED_TESTS, "--rtvi-transport", "python", "-s")
    result.assert_outcomes(passed=3)
    assert V2V.search(result.stdout.str())
