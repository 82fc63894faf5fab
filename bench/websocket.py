"""pyrtvi's WebSocketTransport vs the official JS WebSocket client on the same stock runner bot.

Run: `.venv/bin/python -m bench.websocket [--runs 5] [--requests 20] [--stt none]`.

One runner bot (tests/runner_bot on `-t websocket`: pipecat 1.14 on its own development runner,
offline stand-ins: Silero VAD, PocketSphinx STT, an echo "LLM", a 440 Hz tone TTS, 0.4 s per
sentence; `--stt none` starts it with `RUNNER_BOT_STT=none`: no transcripts, no answer to what
the mic says) and one
`pyrtvi serve --bot url --bot-url <runner>` in front of it. Three paths, one after another in
each run, the order rotating:

- **JS direct** (the reference): `@pipecat-ai/client-js` 1.13.1 +
  `@pipecat-ai/websocket-transport` 1.7.1 (`WavMediaManager`), `startBot({endpoint: runner +
  "/start", requestData: {transport: "websocket"}})` then `connect({wsUrl})` (the JS transport
  refuses the runner's full start reply), from a page on the runner's origin;
- **pyrtvi direct**: the harness page (Python booted before the clock starts) with
  `WebSocketTransport()` and `client.start_bot_and_connect(endpoint=runner + "/start",
  request_data={"transport": "websocket"})`: the same two steps, the same `/ws-client` socket;
  its client listens to the events the JS page's client listens to, no more (`PY_CLIENT`), and
  logs at WARNING, as the JS page's client (`LogLevel.WARN`);
- **JS relay**: the JS client's `startBotAndConnect` through `pyrtvi serve` (every frame
  relayed).

Measured on every path: the call → bot-ready, `--requests` client-request round trips (`body`,
the runner bot's server-response), and as many with a large request: `body` carrying
`BIG_CHARS` ASCII characters, as near the 1 MiB message limit of both clients (and of the relay)
as leaves room for the frame around it. On the two direct paths, in the same session:

- **heard after the interruption**: the fake mic plays tests/data/speech48k.wav (2 s silence, 5 s
  speech, 3 s silence, looped). Right after the bot's VAD reports the user stopped, the page
  sends a long text (the echo bot answers it with ~16 s of tone, paced in real time by the
  runner's WebSocket output); the next loop of the wav interrupts it. Every node either client
  connects to an audio destination (the JS player's `AudioDestinationNode`, pyrtvi's
  `MediaStreamAudioDestinationNode` feeding its `<audio>`) is tapped by one `AnalyserNode`
  (256 samples) installed by the same init script in both pages, sampled every 10 ms; counted:
  the milliseconds with RMS > 0.02 in the second after the client's own `userStartedSpeaking`
  event (the interruption signal as each client learns it). A run where the bot was not audible
  in the 300 ms before that signal is left out (counted as "not speaking");
- **main-thread CPU**: Chrome DevTools Protocol `Performance.getMetrics` `TaskDuration` and
  `ScriptDuration` deltas over the turn (from the bot's VAD reporting the user stopped, when the
  long text is sent, to the end of the interruption second: the same stretch of the wav loop
  and of the bot's answers on both pages), scaled to per minute; and, as the bench measured
  before, from after the round trips to the same end (a stretch whose length and content, one
  user turn and its answer more or less, depend on where in the wav loop the round trips end).

A fresh page (browser context) per session; one untimed warm-up per path. Loopback only: every
page request off 127.0.0.1/localhost fails the bench.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, sync_playwright
from pyrtvi_testing.harness import Harness
from pyrtvi_testing.processes import LiveServer, RunnerBot

from bench.pipecat_ws import PipecatWSPage
from bench.support import check_offhost, fresh_context, launch, runner_bot

WEBSOCKET = {"transport": "websocket"}
REFERENCE = "JS direct"
PATHS = ("pyrtvi direct", REFERENCE, "JS relay")
#: Answered by the echo bot with one 0.4 s tone per sentence: ~16 s, far more than the wait.
LONG_TEXT = " ".join(["The bot keeps on talking."] * 40)
#: The tone is 8000/32768 full scale (RMS ~0.17); silence is 0.
AUDIBLE_RMS = 0.02
AFTER_MS = 1000.0
#: The large request's payload: its frame (JSON and protobuf around it) stays under 1 MiB.
BIG_CHARS = (1 << 20) - 1024
BEFORE_MS = 300.0
EVENT_TIMEOUT_S = 30.0

#: Installed in both pages before their scripts: taps what reaches the speakers.
TAP = """
(() => {
  const taps = [];
  const bench = (window.benchAudio = { timeline: [], events: [] });
  const connect = AudioNode.prototype.connect;
  AudioNode.prototype.connect = function (target, ...rest) {
    if (target instanceof AudioDestinationNode ||
        target instanceof MediaStreamAudioDestinationNode) {
      const analyser = this.context.createAnalyser();
      analyser.fftSize = 256;
      connect.call(this, analyser);
      taps.push(analyser);
    }
    return connect.call(this, target, ...rest);
  };
  const samples = new Float32Array(256);
  setInterval(() => {
    let rms = 0;
    for (const analyser of taps) {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const v of samples) sum += v * v;
      rms = Math.max(rms, Math.sqrt(sum / samples.length));
    }
    bench.timeline.push([performance.now(), rms]);
  }, 10);
})();
"""

#: The JS client's VAD and speaking events, timed in the page like the harness's.
JS_EVENTS = """
() => {
  const { RTVIEvent } = window.PipecatWS;
  for (const [event, name] of [
    [RTVIEvent.UserStartedSpeaking, "userStartedSpeaking"],
    [RTVIEvent.UserStoppedSpeaking, "userStoppedSpeaking"],
    [RTVIEvent.BotStartedSpeaking, "botStartedSpeaking"],
  ]) {
    window.pipecat.client.on(event, () => window.benchAudio.events.push([name, performance.now()]));
  }
}
"""


@dataclass
class Session:
    """One connected page, whichever client: what the interruption run needs of it."""

    page: Page
    times: Callable[[str], list[float]]
    send_long_text: Callable[[], None]
    request: Callable[[], float]
    big_request: Callable[[], float]
    disconnect: Callable[[], None]
    connect_ms: float = 0.0

    def wait(self, name: str, count: int = 1) -> float:
        """The time (page clock) of the `count`-th event `name`."""
        deadline = time.monotonic() + EVENT_TIMEOUT_S
        while len(times := self.times(name)) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"no {name} #{count} in {EVENT_TIMEOUT_S:.0f} s")
            time.sleep(0.05)
        return times[count - 1]


@dataclass
class Interruption:
    heard_ms: float | None  # None: the bot was not audible when interrupted
    #: How long before the signal the bot was last audible (None: never), for left-out runs.
    quiet_for_ms: float | None
    #: Main-thread time per minute over the turn (from the user's turn end to the end of the
    #: interruption second: the same stretch of the call on both pages).
    task_ms_per_min: float
    script_ms_per_min: float
    #: The same from after the round trips (where in the wav loop that falls varies).
    task_from_trips: float
    script_from_trips: float


def main_thread(page: Page) -> Callable[[], dict[str, float]]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def read() -> dict[str, float]:
        metrics = cdp.send("Performance.getMetrics")["metrics"]
        return {m["name"]: float(m["value"]) for m in metrics}

    return read


def per_minute(before: dict[str, float], after: dict[str, float], name: str) -> float:
    """The main-thread ``name`` time between two readings, in ms per minute."""
    minutes = (after["Timestamp"] - before["Timestamp"]) / 60
    return (after[name] - before[name]) * 1000 / minutes


def interrupt(session: Session) -> Interruption:
    read = main_thread(session.page)
    from_trips = read()
    stopped = len(session.times("userStoppedSpeaking"))
    session.wait("userStoppedSpeaking", stopped + 1)
    before = read()
    session.send_long_text()
    session.wait("botStartedSpeaking")
    started = len(session.times("userStartedSpeaking"))
    signal = session.wait("userStartedSpeaking", started + 1)
    time.sleep(AFTER_MS / 1000 + 0.2)
    after = read()
    timeline: list[list[float]] = session.page.evaluate("window.benchAudio.timeline")
    speaking = any(signal - BEFORE_MS <= t <= signal and rms > AUDIBLE_RMS for t, rms in timeline)
    audible = [t for t, rms in timeline if t <= signal and rms > AUDIBLE_RMS]
    quiet_for = signal - audible[-1] if audible else None
    heard = 0.0
    for (t0, _), (t1, rms) in itertools.pairwise(timeline):
        if signal < t1 <= signal + AFTER_MS and rms > AUDIBLE_RMS:
            heard += t1 - max(t0, signal)
    return Interruption(
        heard if speaking else None,
        quiet_for,
        per_minute(before, after, "TaskDuration"),
        per_minute(before, after, "ScriptDuration"),
        per_minute(from_trips, after, "TaskDuration"),
        per_minute(from_trips, after, "ScriptDuration"),
    )


#: The pyrtvi page's client, listening to what the JS page's client listens to, no more: the
#: three timed events pushed to ``window.benchAudio.events`` (:data:`JS_EVENTS`) and the four
#: that ``bench/pipecat_ws.py``'s page records by name (``window.pipecat.events``; here
#: ``window.benchEvents``). The harness's ``make_client`` records every event as JSON, which
#: the JS page does not pay for.
PY_CLIENT = """
import time
from rtvi import LogLevel, RTVIClient, RTVIEvent
from rtvi.transports.websocket import WebSocketTransport
client = RTVIClient(WebSocketTransport(), params={"base_url": str(js.location.origin)})
client.set_log_level(LogLevel.WARN)
js.benchEvents = js.Array.new()
def timed(name):
    return lambda *_: js.benchAudio.events.push(js.Array.of(name, js.performance.now()))
def named(name):
    return lambda *_: js.benchEvents.push(name)
for event in (
    RTVIEvent.USER_STARTED_SPEAKING,
    RTVIEvent.USER_STOPPED_SPEAKING,
    RTVIEvent.BOT_STARTED_SPEAKING,
):
    client.on(event, timed(str(event)))
for event, name in (
    (RTVIEvent.BOT_STARTED_SPEAKING, "BotStartedSpeaking"),
    (RTVIEvent.BOT_STOPPED_SPEAKING, "BotStoppedSpeaking"),
    (RTVIEvent.DISCONNECTED, "Disconnected"),
    (RTVIEvent.ERROR, "Error"),
):
    client.on(event, named(name))
"""


def page_times(page: Page) -> Callable[[str], list[float]]:
    """The times of one of the three events, as the page recorded them."""

    def times(name: str) -> list[float]:
        events: list[list[Any]] = page.evaluate("window.benchAudio.events")
        return [float(t) for kind, t in events if kind == name]

    return times


def pyrtvi_session(context: BrowserContext, server: LiveServer, bot: RunnerBot) -> Session:
    harness = Harness.open(context.new_page(), server)
    harness.run(PY_CLIENT)
    ms: float = harness.run(
        f"""
t0 = time.perf_counter()
ready = await client.start_bot_and_connect(endpoint={bot.url + "/start"!r}, request_data={WEBSOCKET!r})
elapsed = (time.perf_counter() - t0) * 1000
assert ready["about"]["library_version"] == "1.14.0", ready
elapsed
"""
    )

    def request() -> float:
        trip: float = harness.run(
            """
t0 = time.perf_counter()
await client.send_client_request("body")
(time.perf_counter() - t0) * 1000
"""
        )
        return trip

    harness.run(f"BIG = 'x' * {BIG_CHARS}")

    def big_request() -> float:
        trip: float = harness.run(
            """
t0 = time.perf_counter()
await client.send_client_request("body", BIG)
(time.perf_counter() - t0) * 1000
"""
        )
        return trip

    return Session(
        harness.page,
        page_times(harness.page),
        lambda: harness.run(f"client.send_text({LONG_TEXT!r})"),
        request,
        big_request,
        lambda: harness.run("await client.disconnect()"),
        ms,
    )


def js_session(context: BrowserContext, origin: str, relay: bool, bot: RunnerBot) -> Session:
    client = PipecatWSPage.open(context, origin)
    if relay:
        result = client.start_bot_and_connect(origin + "/start", WEBSOCKET)
    else:
        result = client.start_bot_then_connect(bot.url + "/start", WEBSOCKET)
    if result["ready"]["about"]["library_version"] != "1.14.0":
        raise SystemExit(f"unexpected bot-ready: {result['ready']}")
    client.page.evaluate(JS_EVENTS)
    return Session(
        client.page,
        page_times(client.page),
        lambda: client.send_text(LONG_TEXT),
        lambda: float(client.request("body")["ms"]),
        lambda: float(client.request("body", "x" * BIG_CHARS)["ms"]),
        client.disconnect,
        float(result["ms"]),
    )


@dataclass
class Samples:
    connect: list[float] = field(default_factory=list)
    rtt: list[float] = field(default_factory=list)
    big_rtt: list[float] = field(default_factory=list)
    heard: list[float] = field(default_factory=list)
    #: Sessions left out (bot not audible at the signal): ms since it was last audible.
    not_speaking: list[float | None] = field(default_factory=list)
    task: list[float] = field(default_factory=list)
    script: list[float] = field(default_factory=list)
    task_from_trips: list[float] = field(default_factory=list)
    script_from_trips: list[float] = field(default_factory=list)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20, help="round trips per run")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds between sessions")
    parser.add_argument(
        "--stt",
        choices=("pocketsphinx", "none"),
        default="pocketsphinx",
        help="the runner bot's STT: as it is (PocketSphinx: transcripts, and an answer to each)"
        " or none (RUNNER_BOT_STT=none: the bot issue 27 was measured on)",
    )
    args = parser.parse_args(argv)
    logs = Path(tempfile.mkdtemp())
    bot = runner_bot("websocket", {"RUNNER_BOT_STT": "none"} if args.stt == "none" else None)
    bot.start(logs)
    server = LiveServer(["--bot", "url", "--bot-url", bot.url]).start(logs)
    samples = {name: Samples() for name in PATHS}
    guards: list[list[str]] = []  # one per page context, filled as requests happen
    try:
        with sync_playwright() as p:
            browser = launch(p)

            def once(name: str, record: Samples | None) -> None:
                context = fresh_context(browser, guards)
                context.add_init_script(TAP)
                try:
                    if name == "pyrtvi direct":
                        session = pyrtvi_session(context, server, bot)
                    elif name == REFERENCE:
                        session = js_session(context, bot.url, False, bot)
                    else:
                        session = js_session(context, server.url, True, bot)
                    trips = [session.request() for _ in range(args.requests)]
                    big_trips = [session.big_request() for _ in range(args.requests)]
                    if record is not None:
                        record.connect.append(session.connect_ms)
                        record.rtt.append(statistics.median(trips))
                        record.big_rtt.append(statistics.median(big_trips))
                        if name != "JS relay":
                            result = interrupt(session)
                            if result.heard_ms is None:
                                record.not_speaking.append(result.quiet_for_ms)
                            else:
                                record.heard.append(result.heard_ms)
                            record.task.append(result.task_ms_per_min)
                            record.script.append(result.script_ms_per_min)
                            record.task_from_trips.append(result.task_from_trips)
                            record.script_from_trips.append(result.script_from_trips)
                    session.disconnect()
                finally:
                    context.close()
                    time.sleep(args.settle)

            for name in PATHS:
                once(name, None)  # warm-up: the bot's first pipeline and VAD load
            for run in range(args.runs):
                order = PATHS[run % len(PATHS) :] + PATHS[: run % len(PATHS)]
                for name in order:
                    once(name, samples[name])
            browser.close()
    finally:
        server.stop()
        bot.stop()
    check_offhost(guards)
    report(samples, args.runs, args.requests, args.stt)


def report(samples: dict[str, Samples], runs: int, requests: int, stt: str) -> None:
    print(
        f"pyrtvi WebSocketTransport vs the JS WebSocket client, one runner bot (STT: {stt}),"
        f" {runs} runs"
    )
    rows: list[tuple[str, str, Callable[[Samples], list[float]]]] = [
        ("start → bot-ready (ms)", "%.0f", lambda s: s.connect),
        (f"request round trip (ms, median of {requests} per run)", "%.1f", lambda s: s.rtt),
        (
            f"1 MiB-bounded request round trip ({BIG_CHARS} B payload; ms, median of {requests})",
            "%.1f",
            lambda s: s.big_rtt,
        ),
        (
            f"bot audio heard in the {AFTER_MS:.0f} ms after the interruption (ms)",
            "%.0f",
            lambda s: s.heard,
        ),
        ("main-thread TaskDuration (ms per minute, over the turn)", "%.0f", lambda s: s.task),
        ("main-thread ScriptDuration (ms per minute, over the turn)", "%.0f", lambda s: s.script),
        (
            "main-thread TaskDuration (ms per minute, from after the round trips)",
            "%.0f",
            lambda s: s.task_from_trips,
        ),
        (
            "main-thread ScriptDuration (ms per minute, from after the round trips)",
            "%.0f",
            lambda s: s.script_from_trips,
        ),
    ]
    for title, fmt, pick in rows:
        print(f"  {title}")
        reference = pick(samples[REFERENCE])
        base = statistics.median(reference) if reference else 0.0
        for name, sample in samples.items():
            values = pick(sample)
            if not values:
                continue
            median = statistics.median(values)
            ratio = f"{median / base:.2f}" if base > 0 else "–"
            span = f"{fmt % min(values)}-{fmt % max(values)}"
            print(
                f"    {name:<15}{fmt % median:>8}   min-max {span:<13}"
                f"   ratio to {REFERENCE} {ratio}   (n={len(values)})"
            )
    for name, sample in samples.items():
        if sample.not_speaking:
            quiet = ", ".join("never" if q is None else f"{q:.0f} ms" for q in sample.not_speaking)
            print(
                f"  ({name}: {len(sample.not_speaking)} run(s) left out, the bot not audible at"
                f" the interruption; last audible before it: {quiet})"
            )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"(pipecat 1.14.0 runner bot; load average at the end: {load} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
