"""The snapshot stream's policy (debounce, wait cap, no repeats, kept until ready) and the
client's stream methods, in CPython (a fake streamer stands in for the page)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from rtvi import RTVIClient, TransportState
from rtvi.transports.memory import FakeBot
from rtvi.ui_agent.methods import UIAgentMethods, stream_options
from rtvi.ui_agent.stream import SnapshotStream, StreamOptions


@dataclass
class FakeLoop:
    """``time`` and ``call_at``, advanced by hand."""

    now: float = 0.0
    timers: list[FakeTimer] = field(default_factory=list)

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> FakeTimer:
        timer = FakeTimer(when, callback)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for timer in sorted(self.timers, key=lambda t: t.when):
            if timer.when <= self.now and not timer.cancelled:
                timer.cancelled = True
                timer.callback()
        self.timers = [t for t in self.timers if not t.cancelled]


@dataclass
class FakeTimer:
    when: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class Page:
    """Snapshots of a page whose content the test sets."""

    def __init__(self) -> None:
        self.content = "a"
        self.captures = 0

    def capture(self) -> dict[str, Any]:
        self.captures += 1
        return {
            "root": {"ref": "e1", "role": "generic", "name": self.content},
            "captured_at": self.captures,
        }


@dataclass
class Session:
    """Sends while ``ready``, as the client's ``_emit_ui_snapshot`` does."""

    ready: bool = True
    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(self, snapshot: dict[str, Any]) -> bool:
        if self.ready:
            self.sent.append(snapshot)
        return self.ready


def make_stream(
    ready: bool = True, **options: Any
) -> tuple[SnapshotStream, FakeLoop, Page, Session]:
    loop, page, session = FakeLoop(), Page(), Session(ready)
    return (
        SnapshotStream(page.capture, session.send, StreamOptions(**options), loop),
        loop,
        page,
        session,
    )


def test_debounce_then_no_repeats() -> None:
    stream, loop, page, session = make_stream(debounce=0.3)
    sent = session.sent
    stream.start()
    stream.start()  # harmless
    loop.advance(0.29)
    assert sent == []
    loop.advance(0.02)
    assert len(sent) == 1 and page.captures == 1
    stream.changed()
    loop.advance(0.3)
    assert page.captures == 2 and len(sent) == 1  # the same page: not sent again
    page.content = "b"
    for _ in range(3):  # a burst of changes: one snapshot after it
        stream.changed()
        loop.advance(0.1)
    assert page.captures == 2
    loop.advance(0.2)
    assert page.captures == 3 and [s["root"]["name"] for s in sent] == ["a", "b"]
    assert (stream.taken, stream.sent) == (3, 2)


def test_changes_that_never_pause_still_get_a_snapshot_at_the_cap() -> None:
    stream, loop, page, session = make_stream(debounce=0.3, max_wait=1.0)
    sent = session.sent
    stream.start()
    for i in range(30):  # a change every 0.1 s for 3 s
        page.content = str(i)
        stream.changed()
        loop.advance(0.1)
    assert 2 <= page.captures <= 4 and len(sent) == page.captures
    assert (
        StreamOptions(debounce=0.3).wait_cap == 1.2 and StreamOptions(debounce=0.1).wait_cap == 1.0
    )


def test_kept_until_ready_then_stop_drops_everything() -> None:
    stream, loop, page, session = make_stream(ready=False, debounce=0.1)
    sent = session.sent
    stream.start()
    loop.advance(0.1)
    assert sent == [] and stream.pending is not None
    stream.flush()  # still not ready
    assert sent == []
    session.ready = True
    stream.flush()
    assert len(sent) == 1 and stream.pending is None
    stream.changed()
    stream.stop()
    loop.advance(1)
    assert page.captures == 1 and stream.pending is None
    stream.changed()  # stopped: ignored
    assert loop.timers == []


def test_a_failing_capture_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    loop, sent = FakeLoop(), []

    def broken() -> dict[str, Any]:
        raise RuntimeError("odd DOM")

    def send(snapshot: dict[str, Any]) -> bool:
        sent.append(snapshot)
        return True

    stream = SnapshotStream(broken, send, StreamOptions(), loop)
    stream.start()
    loop.advance(1)
    assert sent == [] and "UI snapshot failed" in caplog.text


def test_options() -> None:
    assert stream_options({"debounceMs": 150, "trackViewport": False}) == StreamOptions(
        debounce=0.15, track_viewport=False
    )
    assert stream_options(None, debounce=0.5, log_snapshots=True) == StreamOptions(0.5, True, True)
    with pytest.raises(TypeError, match="debounce_ms"):
        stream_options(None, debounce_ms=5)
    with pytest.raises(ValueError):
        StreamOptions(debounce=-1)
    with pytest.raises(ValueError):
        StreamOptions(debounce=1, max_wait=0.5)


class FakeStreamer:
    """The page's streamer as the client sees it."""

    made: ClassVar[list[FakeStreamer]] = []

    def __init__(
        self, emit: Callable[[dict[str, Any]], bool | None], options: StreamOptions, root: Any
    ) -> None:
        self.emit, self.options, self.root = emit, options, root
        self.running = False
        self.flushes = 0
        FakeStreamer.made.append(self)

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def flush(self) -> None:
        self.flushes += 1


@pytest.fixture
def fake_streamer(monkeypatch: pytest.MonkeyPatch) -> list[FakeStreamer]:
    FakeStreamer.made = []
    monkeypatch.setattr(UIAgentMethods, "stream_factory", staticmethod(FakeStreamer))
    return FakeStreamer.made


TREE = {"root": {"ref": "e1", "role": "generic"}, "captured_at": 1}


async def test_the_client_streams_snapshots_once_ready(
    make_client: Callable[..., RTVIClient], bot: FakeBot, fake_streamer: list[FakeStreamer]
) -> None:
    bot.protocol_version = "2.2.0"
    client = make_client()
    client.start_ui_snapshot_stream({"debounceMs": 100})
    streamer = fake_streamer[0]
    assert streamer.running and streamer.options.debounce == 0.1 and client.ui_snapshot_streaming
    assert streamer.emit(TREE) is False  # not ready: the streamer keeps it
    await client.connect()
    assert streamer.flushes == 1  # ready: the kept snapshot goes out
    assert streamer.emit(TREE) is True
    sent = await bot.wait_for("ui-snapshot")
    assert sent["data"] == {"tree": TREE}
    client.start_ui_snapshot_stream(debounce=0.2)  # replaces the stream
    assert not streamer.running and fake_streamer[1].running
    await client.disconnect()  # as client-js: disconnect stops the stream
    assert not fake_streamer[1].running and not client.ui_snapshot_streaming
    client.stop_ui_snapshot_stream()  # harmless


async def test_a_bot_without_the_ui_protocol_gets_no_snapshot(
    make_client: Callable[..., RTVIClient],
    bot: FakeBot,
    fake_streamer: list[FakeStreamer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = make_client()  # the fake bot speaks RTVI 1.0.0: no UI protocol (1.3)
    await client.connect()
    client.start_ui_snapshot_stream()
    assert fake_streamer[0].emit(TREE) is True  # dropped, not kept, never raised
    assert "UI snapshot not sent" in caplog.text
    await asyncio.sleep(0)
    assert all(m.get("type") != "ui-snapshot" for m in bot.received)
    assert client.state == TransportState.READY


def test_outside_the_browser_there_is_no_page_to_stream(
    make_client: Callable[..., RTVIClient],
) -> None:
    client = make_client()
    with pytest.raises(Exception, match="runs in the browser"):
        client.start_ui_snapshot_stream()
