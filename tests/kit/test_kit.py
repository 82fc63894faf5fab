"""The test kit (`pyrtvi_testing`) as a user runs it: test files in a temporary directory, run by
pytest in a subprocess (`pytester`) with the kit's options, against the stock runner bot
(tests/runner_bot) over WebRTC and WebSocket, and against the embedded bot.

Each run shares one bot and one Chromium among its tests, as a user's suite does; a run's tests
check `type` (a Turn with the bot's texts), `say` (speech into the page's virtual microphone,
heard by the bot's STT, its voice to voice measured; two in a session, both answered), `press`,
`send_file`, `request` and request data reaching the bot, a function call (`get_weather`, typed
and spoken), an interruption (`interrupt` while a long answer plays), and a failing test's
recording (user.wav and bot.wav with sound in them) and message.
"""

from __future__ import annotations

import io
import os
import sys
import wave
from array import array
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.runner_bot import BOT, PYTHON

pytestmark = [pytest.mark.browser, pytest.mark.bot]
pytest_plugins = ["pytester"]

RUNNER_BOT = f"{PYTHON} {BOT}"
EMBEDDED_PIPECAT = "1.14.0"

#: A user's test file for the runner bot: the happy paths, then one test that fails on purpose.
USER_TESTS = """
def test_type_gives_the_turn(rtvi):
    turn = rtvi.type("hello there")
    assert turn.bot_text == "You said: hello there."
    assert turn.spoken_text == "You said: hello there."
    assert turn.function_calls == [] and not turn.interrupted
    assert turn.voice_to_voice_ms is None
    types = [event.type for event in turn.events]
    assert types.index("botLlmStopped") < types.index("botStoppedSpeaking")
    assert all(event.ms >= 0 for event in turn.events)
    assert rtvi.turns == [turn]


def test_a_typed_function_call(rtvi):
    turn = rtvi.type("what's the weather in Paris")
    [call] = turn.function_calls
    assert (call.name, call.arguments) == ("get_weather", {"location": "Paris"})
    assert call.result == {"location": "Paris", "conditions": "sunny", "celsius": 21}
    assert call.tool_call_id and turn.bot_text == "In Paris it is sunny, 21 degrees."
    types = [event.type for event in turn.events]
    assert types.index("llmFunctionCallStarted") < types.index("llmFunctionCallStopped")


def test_press_send_file_and_request(rtvi, tmp_path):
    rtvi.press("12#")
    note = tmp_path / "note.txt"
    note.write_text("a note")
    sent = rtvi.send_file(note, content="read this")
    assert sent["name"] == "note.txt"
    # The bot answers after it took the dtmf and the file.
    assert rtvi.request("body") == {}
    assert rtvi.wait_for("serverResponse", where=lambda d: d["t"] == "body")


def test_request_data_reaches_the_bot_and_sessions_run_together(rtvi_connect):
    first = rtvi_connect(request_data={"user": 1})
    second = rtvi_connect(request_data={"user": 2})
    assert first.request("body") == {"user": 1}
    assert second.request("body") == {"user": 2}
    assert second.type("two").bot_text == "You said: two."


def test_say_twice_both_heard_and_answered(rtvi):
    turn = rtvi.say("hello there", timeout=60)
    assert turn.kind == "say" and turn.sent == "hello there"
    # What the bot's STT heard (PocketSphinx: "hello there" over WebRTC, at times "oh there"
    # over WebSocket's 16 kHz), and its echo.
    assert turn.user_text.endswith("there")
    assert turn.bot_text == f"You said: {turn.user_text}."
    assert turn.voice_to_voice_ms is not None and 0 < turn.voice_to_voice_ms < 10_000
    print(f"say voice_to_voice_ms={turn.voice_to_voice_ms:.0f}")
    # A spoken function call, in the same session (no city named: the bot asks for Paris).
    turn = rtvi.say("what's the weather", timeout=60)
    assert turn.user_text == "what's the weather"
    [call] = turn.function_calls
    assert (call.name, call.arguments) == ("get_weather", {"location": "Paris"})
    assert turn.bot_text == "In Paris it is sunny, 21 degrees."
    assert turn.voice_to_voice_ms is not None


def test_interrupt_a_long_answer(rtvi):
    rtvi.type("tell me a story", wait=False)  # a dozen sentences
    turn = rtvi.interrupt("hello there", timeout=60)
    assert turn.kind == "interrupt" and turn.interrupted
    assert turn.user_text and turn.bot_text == f"You said: {turn.user_text}."
    assert "sentence 12" not in turn.spoken_text  # the story was cut short
    types = [event.type for event in turn.events]
    assert types.index("botInterrupted") < types.index("botLlmStarted")


def test_fails_on_purpose(rtvi):
    rtvi.say("hello there", timeout=60)
    rtvi.type("remember me")
    assert False, "on purpose"
"""

#: The embedded bot (rule-based, no STT: a speech turn is "heard" by its VAD), in its pipecat
#: 1.14 flavour (RTVI 2.2: dtmf and send-file; the default 0.0.108 one has neither).
EMBEDDED_TESTS = """
def test_type_press_send_file_and_request(rtvi, tmp_path):
    turn = rtvi.type("hello")
    assert turn.bot_text.startswith("Hello!") and turn.spoken_text
    rtvi.press("1")
    note = tmp_path / "note.txt"
    note.write_text("a note")
    assert rtvi.send_file(note)["name"] == "note.txt"
    assert rtvi.request("echo", {"i": 1}) == {"i": 1}


def test_a_function_call(rtvi):
    turn = rtvi.type("what's the weather in Paris")
    [call] = turn.function_calls
    assert (call.name, call.arguments) == ("get_weather", {"location": "Paris"})
    assert call.result == {"location": "Paris", "conditions": "sunny", "celsius": 21}
    assert turn.bot_text == "In Paris it is sunny, 21 degrees."


def test_say_and_interrupt(rtvi):
    turn = rtvi.say("hello there", timeout=60)
    assert turn.bot_text.startswith("I heard you speak") and turn.voice_to_voice_ms
    rtvi.type("please say " + "this answer is long enough to be cut short. " * 6, wait=False)
    turn = rtvi.interrupt("hello there", timeout=60)
    assert turn.interrupted and turn.bot_text.endswith("type to me and I will answer.")
    assert turn.spoken_text.startswith("I heard you speak")  # the long answer was cut


def test_fails_on_purpose(rtvi):
    rtvi.say("hello there", timeout=60)
    assert False, "on purpose"
"""


def peak(wav: bytes) -> int:
    """The largest sample of a 16-bit mono WAV."""
    with wave.open(io.BytesIO(wav)) as reader:
        samples = array("h", reader.readframes(reader.getnframes()))
    return max(map(abs, samples), default=0)


def check_failure_recording(result: pytest.RunResult, folder: Path, answer: str) -> None:
    """The failing test's message shows its last turns and events; its folder holds the
    session's events, console, bot log, turns, and its audio both ways, with sound in it."""
    output = result.stdout.str()
    assert "rtvi: last turns and events" in output
    assert answer in output and "botStoppedSpeaking" in output
    assert sorted(p.name for p in folder.iterdir()) == [
        "bot.log",
        "bot.wav",
        "console.log",
        "events.jsonl",
        "turns.md",
        "user.wav",
    ]
    assert answer in (folder / "turns.md").read_text()
    assert '"botStoppedSpeaking"' in (folder / "events.jsonl").read_text()
    # The microphone spoke (espeak-ng peaks far above 1000); the bot answered with sound.
    assert peak((folder / "user.wav").read_bytes()) > 3000
    assert peak((folder / "bot.wav").read_bytes()) > 1000


def run_kit(pytester: pytest.Pytester, source: str, *args: str) -> tuple[pytest.RunResult, Path]:
    """Run `source` as a user's test file with the kit's options; the result and record dir."""
    pytester.makepyfile(test_user=source)
    record = pytester.path / "recordings"
    if not REGISTERED:
        args = ("-p", "pyrtvi_testing.plugin", *args)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-p",
        "no:asyncio",
        "--rtvi-record",
        str(record),
        *args,
        timeout=600,
    )
    return result, record


#: An editable install made before the kit existed has neither its entry point nor the package
#: on its path: then the runs load it by name, from the checkout.
REGISTERED = any(e.name == "rtvi" for e in entry_points(group="pytest11"))


@pytest.fixture(autouse=True)
def runner_env(monkeypatch: pytest.MonkeyPatch) -> None:
    if not REGISTERED:
        monkeypatch.setenv("PYTHONPATH", str(ROOT / "server"), prepend=os.pathsep)
    if not PYTHON.exists():
        pytest.skip(f"no runner bot environment ({PYTHON}): run `make setup-test`")


@pytest.mark.parametrize("transport", ["webrtc", "websocket"])
def test_the_runner_bot(pytester: pytest.Pytester, transport: str) -> None:
    result, record = run_kit(
        pytester, USER_TESTS, "--rtvi-bot", RUNNER_BOT, "--rtvi-transport", transport
    )
    result.assert_outcomes(passed=6, failed=1)
    folder = record / "test_user.py_test_fails_on_purpose"
    check_failure_recording(result, folder, "You said: remember me.")
    # Every test is recorded (--rtvi-record), one folder per session.
    assert (
        record
        / "test_user.py_test_request_data_reaches_the_bot_and_sessions_run_together"
        / "session-2"
        / "turns.md"
    ).exists()


def test_the_embedded_bot(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (ROOT / ".venvs" / f"bot-{EMBEDDED_PIPECAT}").exists():
        pytest.skip(f"no embedded bot environment for pipecat {EMBEDDED_PIPECAT}")
    monkeypatch.setenv("PYRTVI_BOT_PIPECAT", EMBEDDED_PIPECAT)
    result, record = run_kit(pytester, EMBEDDED_TESTS)
    result.assert_outcomes(passed=3, failed=1)
    folder = record / "test_user.py_test_fails_on_purpose"
    check_failure_recording(result, folder, "I heard you speak")


def test_a_bot_that_exits_at_start_fails_the_setup_with_its_log(pytester: pytest.Pytester) -> None:
    doomed = pytester.makepyfile(
        doomed="import sys\nprint('cannot load my model: no such file', flush=True)\nsys.exit(3)\n"
    )
    result, _ = run_kit(
        pytester,
        "def test_never_runs(rtvi):\n    pass\n",
        "--rtvi-bot",
        f"{sys.executable} {doomed}",
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*BotStartError: runner bot exited early (code 3)*"])
    assert "cannot load my model: no such file" in result.stdout.str()
