"""The pytest plugin (entry point ``pytest11: rtvi``): options, fixtures, recordings.

Fixtures: ``rtvi_bot`` (session: the bot and the `pyrtvi serve` in front of it), ``rtvi`` (a
connected :class:`~pyrtvi_testing.session.Session` per test, or with ``--rtvi-transport python``
a :class:`~pyrtvi_testing.python_session.PythonSession`), ``rtvi_connect`` (a factory for more
sessions), ``rtvi_browser`` (session: Chromium; not started in python mode).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from .chromium import DEFAULT_CHROMIUM, LAUNCH_ARGS
from .processes import BotStartError, LiveServer, RunnerBot
from .python_session import PythonSession
from .session import Session
from .surface import KitSession  # a session of either kind: in Chromium, or in this process

TRANSPORTS = ("webrtc", "websocket", "python")
OPTIONS: dict[str, tuple[str, str | None]] = {
    "rtvi_bot": (
        "a stock runner bot's command (the kit adds -t/--host/--port unless it has {port})",
        None,
    ),
    "rtvi_url": ("a running start endpoint (runner /start, a hosted one, a pyrtvi serve)", None),
    "rtvi_transport": ("webrtc, websocket or python", "webrtc"),
    "rtvi_record": ("record every test's session in this directory (failures are always)", None),
    "rtvi_chromium": ("the Chromium binary", DEFAULT_CHROMIUM),
}
#: Where failures are recorded without --rtvi-record.
DEFAULT_RECORD_DIR = "rtvi-results"
SESSIONS = pytest.StashKey[list[KitSession]]()
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rtvi", "test a Pipecat bot through the pyrtvi client")
    for key, (text, default) in OPTIONS.items():
        flag = "--" + key.replace("_", "-")
        group.addoption(flag, dest=key, default=None, help=f"{text} (ini: {key})")
        parser.addini(key, text, default=default)
    group.addoption(
        "--rtvi-headed",
        dest="rtvi_headed",
        action="store_true",
        default=None,
        help="show the browser (ini: rtvi_headed)",
    )
    parser.addini("rtvi_headed", "show the browser", type="bool", default=False)


def option(config: pytest.Config, key: str) -> Any:
    """A kit option: the command line's, else the ini file's."""
    value = config.getoption(key)
    return config.getini(key) if value is None else value


@dataclass
class RtviBot:
    """The bot of the test session: a `pyrtvi serve` (``server``) the pages use, in front of
    a runner bot the kit started (``runner``), a start endpoint (``url``), or its embedded bot."""

    transport: str
    server: LiveServer
    runner: RunnerBot | None = None
    url: str | None = None
    log_dir: Path = field(default_factory=Path)

    def log_tail(self, lines: int = 40) -> str:
        """The bot's log, then (in front of a runner bot or a URL) the `pyrtvi serve` log."""
        if self.runner is None and self.url is None:
            return self.server.log_tail(lines)
        bot = self.runner.log_tail(lines) if self.runner else f"(a bot at {self.url})"
        return f"{bot}\n--- pyrtvi serve:\n{self.server.log_tail(lines // 2)}"

    def stop(self) -> None:
        self.server.stop()
        if self.runner is not None:
            self.runner.stop()


def start_bot(config: pytest.Config, log_dir: Path) -> RtviBot:
    transport = option(config, "rtvi_transport")
    if transport not in TRANSPORTS:
        raise pytest.UsageError(f"--rtvi-transport must be one of {TRANSPORTS}, not {transport!r}")
    command, url = option(config, "rtvi_bot"), option(config, "rtvi_url")
    bot_transport = "websocket" if transport == "python" else transport
    if command:
        runner, server_env = start_runner(command, bot_transport, log_dir)
        try:
            server = LiveServer(["--bot", "url", "--bot-url", runner.url], env=server_env)
            server.start(log_dir)
        except BotStartError:
            runner.stop()
            raise
        return RtviBot(transport, server, runner=runner, url=runner.url + "/start", log_dir=log_dir)
    if url:
        base = re.sub(r"/start/?$", "", url)
        server = LiveServer(["--bot", "url", "--bot-url", base]).start(log_dir)
        return RtviBot(transport, server, url=url, log_dir=log_dir)
    server = LiveServer(["--bot", "embedded"]).start(log_dir)
    deadline = time.monotonic() + server.start_timeout
    while httpx.get(server.url + "/health", timeout=10).json()["bot"]["state"] != "running":
        if time.monotonic() > deadline:
            server.stop()
            raise BotStartError(f"the embedded bot did not start:\n{server.log_tail()}")
        time.sleep(0.2)
    return RtviBot(transport, server, log_dir=log_dir)


def start_runner(command: str, transport: str, log_dir: Path) -> tuple[RunnerBot, dict[str, str]]:
    """The user's runner bot, started; and the environment of the `pyrtvi serve` before it.

    Over WebSocket a Pipecat runner gives its `/ws-client` sessions the body of its
    `--runner-body FILE` (it drops the `/start` body): the kit adds that flag (to a command
    without `{port}`) and has the relay write each session's request data there
    (`PYRTVI_RUNNER_BODY_FILE`). A runner without the flag (before pipecat 1.14) is started again
    without it: its sessions then get no body.
    """
    runner = RunnerBot.from_command(command, transport)
    if transport != "websocket" or any("{port}" in part for part in runner.command):
        return runner.start(log_dir), {}
    body_file = log_dir / "runner-body.json"
    body_file.write_text("null")
    runner.args = [*runner.args, "--runner-body", str(body_file)]
    try:
        return runner.start(log_dir), {"PYRTVI_RUNNER_BODY_FILE": str(body_file)}
    except BotStartError as error:
        if "--runner-body" not in str(error):
            raise
    runner = RunnerBot.from_command(command, transport)
    return runner.start(log_dir), {}


@pytest.fixture(scope="session")
def rtvi_bot(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RtviBot]:
    """The bot for the whole test session (started once, stopped at the end)."""
    bot = start_bot(pytestconfig, tmp_path_factory.mktemp("rtvi-bot"))
    try:
        yield bot
    finally:
        bot.stop()


@pytest.fixture(scope="session")
def rtvi_browser(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> Iterator[Any]:
    """Chromium for the whole test session (pytest-playwright's Playwright when it is there)."""
    own = None
    if "playwright" in request.fixturenames or _has_fixture(request, "playwright"):
        playwright = request.getfixturevalue("playwright")
    else:
        from playwright.sync_api import sync_playwright

        own = sync_playwright().start()
        playwright = own
    browser = playwright.chromium.launch(
        executable_path=option(pytestconfig, "rtvi_chromium"),
        headless=not option(pytestconfig, "rtvi_headed"),
        args=LAUNCH_ARGS,
    )
    try:
        yield browser
    finally:
        browser.close()
        if own is not None:
            own.stop()


def _has_fixture(request: pytest.FixtureRequest, name: str) -> bool:
    return bool(request.session._fixturemanager.getfixturedefs(name, request.node))


@pytest.fixture
def rtvi_connect(
    request: pytest.FixtureRequest, rtvi_bot: RtviBot
) -> Iterator[Callable[..., KitSession]]:
    """``rtvi_connect(request_data=..., transport=..., **client_options)``: a new connected
    session in a fresh browser context (in this process with ``transport="python"``); call it
    as often as the test needs."""
    sessions = request.node.stash.setdefault(SESSIONS, [])

    def connect(
        request_data: Any = None, transport: str | None = None, **options: Any
    ) -> KitSession:
        kind = transport or rtvi_bot.transport
        if kind == "python":
            python = PythonSession.open(
                rtvi_bot.server.url, request_data, log_tail=rtvi_bot.log_tail, **options
            )
            sessions.append(python)
            return python
        context = request.getfixturevalue("rtvi_browser").new_context()
        # Chromium's Local Network Access blocks a page's WebSocket to a loopback server (even
        # its own origin's, ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS) without this grant.
        context.grant_permissions(["local-network-access"])
        try:
            session = Session.open(
                context,
                rtvi_bot.server.url,
                kind,
                request_data,
                log_tail=rtvi_bot.log_tail,
                **options,
            )
        except BaseException:
            context.close()
            raise
        sessions.append(session)
        return session

    yield connect
    reports = request.node.stash.get(REPORTS, {})
    failed = any(report.failed for report in reports.values())
    record_dir = option(request.config, "rtvi_record")
    if sessions and (failed or record_dir):
        folder = Path(record_dir or DEFAULT_RECORD_DIR) / _safe(request.node.nodeid)
        record(folder, sessions, rtvi_bot)
    for session in sessions:
        try:
            session.disconnect()
        finally:
            session.close()


@pytest.fixture
def rtvi(rtvi_connect: Callable[..., KitSession]) -> KitSession:
    """A session connected to the bot (bot-ready awaited), in a fresh browser context."""
    return rtvi_connect()


def _safe(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")


def record(folder: Path, sessions: list[KitSession], bot: RtviBot) -> None:
    """Write each session's recording: events.jsonl, console.log, bot.log, turns.md, and the
    audio, user.wav (what the microphone played) and bot.wav (what the session received)."""
    for index, session in enumerate(sessions, 1):
        target = folder if len(sessions) == 1 else folder / f"session-{index}"
        target.mkdir(parents=True, exist_ok=True)
        for name, wav in (("user.wav", session.user_wav), ("bot.wav", session.bot_wav)):
            audio = wav()
            if audio is not None:
                (target / name).write_bytes(audio)
        events = session.events if session.alive else []
        (target / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
        (target / "console.log").write_text("\n".join(session.console) + "\n")
        (target / "turns.md").write_text(turns_markdown(session))
        (target / "bot.log").write_text(bot.log_tail(200) + "\n")


def turns_markdown(session: KitSession) -> str:
    lines = [f"# Turns ({session.transport})", ""]
    lines += [turn.summary() for turn in session.turns] or ["(no turn)"]
    return "\n".join(lines) + "\n"


def failure_summary(sessions: list[KitSession], events: int = 15) -> str:
    """The last turns and events of a test's sessions, for its failure message."""
    parts: list[str] = []
    for session in sessions:
        parts += [turn.summary() for turn in session.turns[-3:]]
        if session.alive:
            last = session.events[-events:]
            parts.append("last events:")
            parts += [
                f"  {e['t']:10.0f} ms {e['type']} {json.dumps(e['data'])[:120]}" for e in last
            ]
    return "\n".join(parts)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    sessions = item.stash.get(SESSIONS, [])
    if report.failed and report.when == "call" and sessions:
        report.sections.append(("rtvi: last turns and events", failure_summary(sessions)))
    return report
