"""The test kit (`pyrtvi_testing`) as a user runs it: a 3-turn test repeated in one pytest run
against the stock runner bot, per transport; and the official JS client's voice to voice on the
same bot in the same run.

Run: `.venv/bin/python -m bench.kit [--runs 30] [--js-runs 10] [--transports webrtc,websocket]`.

Per transport, one `pytest` process runs a user's test file from a temporary directory with the
kit's options (`--rtvi-bot "<runner python> tests/runner_bot/bot.py" --rtvi-transport T`: the
kit starts the bot as it starts a user's, adding `-t/--host/--port`). Its test
`test_three_turns[i]` (the `rtvi` fixture; by default `say()` of one espeak-ng WAV, then
`type("hello there")` twice: see `DEFAULT_TURNS`) runs `--runs` times. Measured:

- **ready**: from the test's setup start (pytest's `pytest_runtest_setup`) to the test body,
  i.e. a fresh browser context, the kit's page booted, connected, bot-ready. The first test
  also starts the bot, `pyrtvi serve` and Chromium: reported apart ("cold");
- **kit overhead** per turn: the call's wall time minus the bot's own answer time, which is the
  turn's last `botStoppedSpeaking` (ms since the turn began): what the kit adds after the bot
  finished (its settle check, polling, page round trips);
- **voice_to_voice_ms** of the `say` turns; its spread at a fixed bot delay (p5-p95, standard
  deviation) is the error bar of the measurement (the bot's own jitter included: an upper bound);
- **flakes**: kit tests that failed (setup, call or teardown) out of `--runs`.

In the webrtc run, `test_official_js_client[j]` (interleaved with the kit's tests) opens the
official client's page (`@pipecat-ai/client-js` + small-webrtc-transport, bench/js) on the same
runner bot (its own origin, `startBotAndConnect({endpoint: <runner>/start})`), its microphone
replaced by the kit's virtual microphone and its received track watched the kit's way
(`bench.pipecat_js.PipecatVoicePage`), and says the same WAV as often as the kit's test: the ratio of the kit's median
voice to voice to the JS page's is printed.

`--transports python` is accepted for the kit's CPython mode (`--rtvi-transport python`) where
the kit has it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyrtvi_testing.speech import speech_wav_path

from bench.support import ROOT, RUNNER_BOT, RUNNER_PYTHON

TRANSPORTS = ("webrtc", "websocket", "python")
TYPED = "hello there"
#: The default keeps the first published table's turns (measured when the stock runner bot had no
#: STT and answered only a session's first spoken turn); it transcribes now (PocketSphinx), so
#: `--turns type,say,say` works too.
DEFAULT_TURNS = ["say", "type", "type"]
SENTENCE = "Hello bot, please answer me."

#: The user's conftest: when each test's setup starts, every report, kit and JS tests
#: interleaved (so both see the same bot, machine and load).
CONFTEST = """
import json
import os
import time

import pytest

OUT = os.environ["BENCH_KIT_OUT"]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.bench_setup_start = time.monotonic()


def pytest_runtest_logreport(report):
    line = {"event": "report", "nodeid": report.nodeid, "when": report.when,
            "outcome": report.outcome}
    if report.failed:
        line["message"] = str(report.longrepr)[-1500:]
    with open(OUT, "a") as out:
        out.write(json.dumps(line) + "\\n")


def run_of(item):
    run = item.callspec.params["run"]
    return run if isinstance(run, int) else -1  # an empty parametrization: no such tests


def pytest_collection_modifyitems(items):
    kit = [item for item in items if item.originalname == "test_three_turns"]
    others = [item for item in items if item.originalname != "test_three_turns"]
    others.sort(key=run_of)  # JS and delay tests alternate
    ordered, placed = [], 0
    for index, item in enumerate(kit):
        ordered.append(item)
        share = round((index + 1) * len(others) / len(kit))
        ordered += others[placed:share]
        placed = max(placed, share)
    items[:] = ordered + others[placed:]
"""

#: The user's test file: the kit's public API only.
TESTS = """
import json
import os
import time
from pathlib import Path

import pytest

OUT = os.environ["BENCH_KIT_OUT"]
RUNS = int(os.environ["BENCH_KIT_RUNS"])
JS_RUNS = int(os.environ["BENCH_KIT_JS_RUNS"])
DELAY_RUNS = int(os.environ["BENCH_KIT_DELAY_RUNS"])
WAV = Path(os.environ["BENCH_KIT_WAV"])
TYPED = os.environ["BENCH_KIT_TYPED"]
TURNS = os.environ["BENCH_KIT_TURNS"].split(",")


def write(line):
    with open(OUT, "a") as out:
        out.write(json.dumps(line) + "\\n")


def timed(kind, call):
    started = time.monotonic()
    turn = call()
    wall = (time.monotonic() - started) * 1000
    stops = [event.ms for event in turn.events if event.type == "botStoppedSpeaking"]
    answered = max(stops) if stops else None
    return turn, {"kind": kind, "wall_ms": wall, "answered_ms": answered,
                  "v2v_ms": turn.voice_to_voice_ms, "bot_text": turn.bot_text}


@pytest.mark.parametrize("run", range(RUNS))
def test_three_turns(request, rtvi, run):
    record = {"event": "kit", "run": run,
              "ready_ms": (time.monotonic() - request.node.bench_setup_start) * 1000, "turns": []}
    try:
        for kind in TURNS:
            if kind == "type":
                turn, line = timed(kind, lambda: rtvi.type(TYPED))
                record["turns"].append(line)
                assert TYPED in turn.bot_text, turn.summary()
            else:
                turn, line = timed(kind, lambda: rtvi.say(WAV, timeout=60))
                record["turns"].append(line)
                types = [event.type for event in turn.events]
                assert "userStartedSpeaking" in types and "botStartedSpeaking" in types, types
                assert turn.bot_text and turn.voice_to_voice_ms is not None, turn.summary()
    finally:
        write(record)


@pytest.mark.parametrize("delay", [0, 500])
@pytest.mark.parametrize("run", range(DELAY_RUNS))
def test_known_delay(rtvi_bot, rtvi_connect, run, delay):
    if rtvi_bot.transport != "webrtc":
        pytest.skip("the runner bot gets request_data as its body over webrtc only")
    session = rtvi_connect(request_data={"answer_delay_ms": delay})
    turn = session.say(WAV, timeout=60)
    write({"event": "delay", "run": run, "delay": delay, "v2v_ms": turn.voice_to_voice_ms})
    assert turn.voice_to_voice_ms is not None, turn.summary()


@pytest.mark.parametrize("run", range(JS_RUNS))
def test_official_js_client(rtvi_bot, rtvi_browser, run):
    if rtvi_bot.transport != "webrtc" or rtvi_bot.runner is None:
        pytest.skip("the official client's page speaks SmallWebRTC to a runner bot")
    from pyrtvi_testing.chromium import guard_offhost

    from bench.pipecat_js import PipecatVoicePage

    origin = rtvi_bot.runner.url
    context = rtvi_browser.new_context()
    offhost = guard_offhost(context)
    try:
        page = PipecatVoicePage.open(context, origin)
        ready = page.start_bot_and_connect(origin + "/start", {"body": {}})
        said = [page.say(WAV.read_bytes()) for _ in range(TURNS.count("say"))]
        page.disconnect()
    finally:
        context.close()
    write({"event": "js", "run": run, "ready_ms": ready["ms"], "v2v_ms": said})
    assert not offhost, offhost
    assert all(v is not None for v in said), said
"""


@dataclass
class Result:
    """One transport's run, from its JSON lines."""

    transport: str
    runs: int
    wall_s: float
    kit: list[dict[str, Any]] = field(default_factory=list)
    js: list[dict[str, Any]] = field(default_factory=list)
    delay: list[dict[str, Any]] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # kit nodeid → first failure

    @property
    def flakes(self) -> int:
        return len(self.failed)

    def turns(self, kind: str) -> list[dict[str, Any]]:
        return [t for record in self.kit for t in record["turns"] if t["kind"] == kind]

    def v2v(self) -> list[float]:
        return [t["v2v_ms"] for t in self.turns("say") if t["v2v_ms"] is not None]

    def js_v2v(self) -> list[float]:
        return [v for record in self.js for v in record["v2v_ms"] if v is not None]

    def delay_error(self) -> str:
        """Voice to voice at bot delays 0 and 500 ms (medians): their difference minus 500."""
        by = {
            d: [x["v2v_ms"] for x in self.delay if x["delay"] == d and x["v2v_ms"] is not None]
            for d in (0, 500)
        }
        if not by[0] or not by[500]:
            return "-"
        low, high = statistics.median(by[0]), statistics.median(by[500])
        return f"{high - low - 500:+.0f} ({high:.0f} - {low:.0f} - 500, {len(by[0])} pairs)"

    def overhead(self, kind: str) -> list[float]:
        return [
            t["wall_ms"] - t["answered_ms"]
            for t in self.turns(kind)
            if t["answered_ms"] is not None
        ]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    at = (len(ordered) - 1) * q / 100
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def med_p95(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.0f} / {percentile(values, 95):.0f}"


def spread(values: list[float]) -> str:
    if len(values) < 2:
        return "-"
    low, high = percentile(values, 5), percentile(values, 95)
    return f"{high - low:.0f} (p5-p95 {low:.0f}-{high:.0f}), sd {statistics.stdev(values):.0f}"


def read_result(path: Path, transport: str, runs: int, wall_s: float) -> Result:
    """A transport's result from the JSON lines its pytest run wrote to ``path``."""
    result = Result(transport, runs, wall_s)
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    for line in lines:
        if line["event"] == "kit":
            result.kit.append(line)
        elif line["event"] == "js":
            result.js.append(line)
        elif line["event"] == "delay":
            result.delay.append(line)
        elif line["outcome"] == "failed" and "test_three_turns" in line["nodeid"]:
            result.failed.setdefault(line["nodeid"], line.get("message", ""))
    ran = {r["run"] for r in result.kit}
    for run in range(runs):  # a test that never got to its body (a setup error)
        if run not in ran and not any(f"[{run}]" in nodeid for nodeid in result.failed):
            result.failed[f"test_three_turns[{run}]"] = "no result (see pytest.log)"
    return result


def run_transport(transport: str, args: argparse.Namespace, wav: Path, work: Path) -> Result:
    folder = work / transport
    folder.mkdir()
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_bench_kit.py").write_text(TESTS)
    (folder / "pytest.ini").write_text("[pytest]\n")
    out = folder / "results.jsonl"
    env = {
        **os.environ,
        "BENCH_KIT_OUT": str(out),
        "BENCH_KIT_RUNS": str(args.runs),
        "BENCH_KIT_JS_RUNS": str(args.js_runs if transport == "webrtc" else 0),
        "BENCH_KIT_DELAY_RUNS": str(args.delay_runs if transport == "webrtc" else 0),
        "BENCH_KIT_WAV": str(wav),
        "BENCH_KIT_TYPED": TYPED,
        "BENCH_KIT_TURNS": ",".join(args.turns),
        # The JS test's page comes from bench/ (the user's tests import only the kit).
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:asyncio",
        "-q",
        "--rtvi-bot",
        f"{RUNNER_PYTHON} {RUNNER_BOT}",
        "--rtvi-transport",
        transport,
        str(folder),
    ]
    started = time.monotonic()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    (folder / "pytest.log").write_text(done.stdout + done.stderr)
    result = read_result(out, transport, args.runs, wall)
    print(
        f"{transport}: {args.runs - result.flakes}/{args.runs} passed in {wall:.0f} s"
        f" (pytest exit {done.returncode}; log {folder / 'pytest.log'})",
        flush=True,
    )
    for nodeid, message in list(result.failed.items())[:3]:
        print(f"  FAILED {nodeid}: {message.strip().splitlines()[-1] if message else ''}")
    return result


def table(results: list[Result], args: argparse.Namespace) -> str:
    names = [r.transport for r in results]
    rows: list[tuple[str, list[str]]] = [
        (
            "test start → bot-ready, median / p95 (ms)",
            [med_p95([k["ready_ms"] for k in r.kit if k["run"] > 0]) for r in results],
        ),
        (
            "  first test, bot + Chromium start included (ms)",
            [next((f"{k['ready_ms']:.0f}" for k in r.kit if k["run"] == 0), "-") for r in results],
        ),
        (
            "kit overhead per typed turn, median / p95 (ms)",
            [med_p95(r.overhead("type")) for r in results],
        ),
        (
            "kit overhead per spoken turn, median / p95 (ms)",
            [med_p95(r.overhead("say")) for r in results],
        ),
        (
            "  bot's own answer time, typed / spoken, median (ms)",
            [
                "/".join(
                    f"{statistics.median(a):.0f}"
                    if (
                        a := [
                            t["answered_ms"] for t in r.turns(kind) if t["answered_ms"] is not None
                        ]
                    )
                    else "-"
                    for kind in ("type", "say")
                )
                for r in results
            ],
        ),
        (
            "voice_to_voice_ms (kit), median",
            [f"{statistics.median(v):.0f}" if (v := r.v2v()) else "-" for r in results],
        ),
        ("  error bar: spread at a fixed bot delay (ms)", [spread(r.v2v()) for r in results]),
        (
            "  error bar: v2v at bot delay D+500 minus at D, minus 500 (ms)",
            [r.delay_error() for r in results],
        ),
        ("flakes (failed tests / runs)", [f"{r.flakes} / {r.runs}" for r in results]),
        ("wall time of the pytest run (s)", [f"{r.wall_s:.0f}" for r in results]),
    ]
    width = max(len(label) for label, _ in rows)
    cells = [max(len(c) for c in col) for col in zip(*(cells for _, cells in rows), strict=True)]
    cells = [max(c, len(n)) for c, n in zip(cells, names, strict=True)]
    lines = [
        f"| {'':<{width}} | "
        + " | ".join(f"{n:<{w}}" for n, w in zip(names, cells, strict=True))
        + " |"
    ]
    lines.append("|" + "-" * (width + 2) + "|" + "|".join("-" * (w + 2) for w in cells) + "|")
    for label, values in rows:
        lines.append(
            f"| {label:<{width}} | "
            + " | ".join(f"{v:<{w}}" for v, w in zip(values, cells, strict=True))
            + " |"
        )
    return "\n".join(lines)


def js_lines(results: list[Result]) -> list[str]:
    webrtc = next((r for r in results if r.transport == "webrtc"), None)
    if webrtc is None or not webrtc.js_v2v():
        return ["(no official JS client run: it runs with the webrtc transport)"]
    js = webrtc.js_v2v()
    js_median = statistics.median(js)
    lines = [
        f"official JS client page (client-js + small-webrtc-transport), same runner bot, same WAV,"
        f" {len(webrtc.js)} sessions, {len(js)} spoken turns: voice_to_voice_ms median {js_median:.0f},"
        f" spread {spread(js)}"
    ]
    for result in results:
        if kit := result.v2v():
            ratio = statistics.median(kit) / js_median
            lines.append(
                f"  kit {result.transport} / JS page (webrtc): {statistics.median(kit):.0f} /"
                f" {js_median:.0f} = {ratio:.3f}"
            )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="3-turn tests per transport")
    parser.add_argument(
        "--js-runs", type=int, default=10, help="official JS client sessions (webrtc run)"
    )
    parser.add_argument(
        "--delay-runs",
        type=int,
        default=5,
        help="pairs of sessions at bot delays 0 and 500 ms (webrtc run)",
    )
    parser.add_argument(
        "--transports",
        default="webrtc,websocket",
        help=f"comma-separated, of {', '.join(TRANSPORTS)} (python: the kit's CPython mode)",
    )
    parser.add_argument(
        "--turns",
        type=lambda text: text.split(","),
        default=DEFAULT_TURNS,
        help="the test's turns, of say and type (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if set(args.turns) - {"say", "type"}:
        parser.error("--turns takes say and type")
    transports = [t.strip() for t in args.transports.split(",") if t.strip()]
    unknown = set(transports) - set(TRANSPORTS)
    if unknown:
        parser.error(f"unknown transports {sorted(unknown)}")
    if not RUNNER_PYTHON.exists():
        raise SystemExit(f"no runner bot environment ({RUNNER_PYTHON}): run `make setup-test`")
    wav = speech_wav_path(SENTENCE)
    work = Path(tempfile.mkdtemp(prefix="bench-kit-"))
    print(
        f"bench.kit: {args.runs} x {args.turns} per transport {transports}; work dir {work}",
        flush=True,
    )
    results = [run_transport(transport, args, wav, work) for transport in transports]
    print()
    print(table(results, args))
    print()
    print("\n".join(js_lines(results)))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"(stock runner bot, pipecat 1.14.0: PocketSphinx STT, echo 'LLM', 0.4 s tone per"
        f" sentence; load average at the end: {load} on {os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
