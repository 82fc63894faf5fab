"""`Session`: one connected pyrtvi client in a Chromium page, driven synchronously (as
pytest-playwright's sync API is).

The page is the kit's own (``page/`` in this package), served on the origin of the kit's
`pyrtvi serve` through a Playwright route, so a test needs no checkout and no file of its own.

**The virtual-microphone seam** (``say`` and ``interrupt``): text becomes a WAV through
``pyrtvi_testing.speech.speech_wav(text) -> bytes``; the page (``page/kit_main.py``, whose client
sends a ``VirtualMic`` track) plays a WAV through ``window.rtviMic.play(wavBase64)``, which
resolves to the page time (``performance.now()``) of the last audible sample played, and
``window.rtviMic.firstBotAudioAfter(t, timeoutMs)`` resolves to the page time of the first
audible sample received from the bot after ``t`` (or null). A page without them (another
version's) makes ``say`` and ``interrupt`` raise :class:`NotImplementedError`.
``window.rtviMic.recording("user" | "bot")`` resolves to what the microphone track carried, or
what the bot's track brought, since the connect (a WAV in base64; ``user_wav()``,
``bot_wav()``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from playwright.sync_api import BrowserContext, Error, Page, Route

from .chromium import BOOT_TIMEOUT_MS
from .surface import ClientCall, KitSession, Recording, not_connected
from .turns import (
    TURN_TIMEOUT_S,
    Speech,
    Turn,
    find_event,
    speech_label,
    speech_wav,
    spoken_turn,
)

__all__ = ["TURN_TIMEOUT_S", "Session", "SessionRecord", "Speech", "find_event", "speech_wav"]

PAGE_DIR = Path(__file__).resolve().parent / "page"
PREFIX = "/__rtvi_kit__/"

ContextT = TypeVar("ContextT")
PageT = TypeVar("PageT")

#: Page-side snippets, shared with the asynchronous twin (``async_session``).
RUN_JS = """async (code) => {
    const pending = window.kitRun(code);
    try { return await pending; } finally { pending.destroy?.(); }
}"""
READY_JS = "document.documentElement.dataset.kit === 'ready'"
EVENTS_JS = "window.kitEvents.slice()"
HAS_MIC_JS = (
    "typeof window.rtviMic?.play === 'function'"
    " && typeof window.rtviMic?.firstBotAudioAfter === 'function'"
)
PLAY_JS = "(wav) => window.rtviMic.play(wav)"
HEARD_JS = "([t, ms]) => window.rtviMic.firstBotAudioAfter(t, ms)"
DISCONNECT_CODE = "await client.disconnect() if client else None"
RECORDING_JS = (
    "(which) => typeof window.rtviMic?.recording === 'function'"
    " ? window.rtviMic.recording(which) : null"
)


def no_mic(kind: str) -> NotImplementedError:
    return NotImplementedError(
        f"{kind}() needs the page's virtual microphone (window.rtviMic), "
        "which this page does not have; use type() meanwhile"
    )


def connect_code(transport: str, request_data: Any, options: dict[str, Any]) -> str:
    return f"await connect({transport!r}, {request_data!r}, {options!r})"


def wav_of(recorded: str | None) -> bytes | None:
    """A recording's WAV bytes from the page's base64 (None: nothing recorded)."""
    return None if recorded is None else base64.b64decode(recorded)


class SessionRecord(Generic[ContextT, PageT]):
    """What a session keeps, sync or async: its page, console lines, turns, bot-ready data."""

    def __init__(self, context: ContextT, page: PageT, transport: str) -> None:
        self.context = context
        self.page = page
        self.transport = transport
        self.console: list[str] = []
        self.turns: list[Turn] = []
        self.ready: Any = None


class Session(SessionRecord[BrowserContext, Page], KitSession):
    """A connected session in a Chromium page: see :class:`~pyrtvi_testing.surface.KitSession`."""

    def __init__(self, context: BrowserContext, page: Page, transport: str) -> None:
        super().__init__(context, page, transport)
        page.on("console", lambda message: self.console.append(message.text))

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        context: BrowserContext,
        origin: str,
        transport: str = "webrtc",
        request_data: Any = None,
        log_tail: Callable[[], str] = str,
        **options: Any,
    ) -> Session:
        """A fresh page on ``origin`` (a `pyrtvi serve`), connected and bot-ready.

        A connect that fails (the start endpoint answers 4xx, the bot never gets ready) raises
        :class:`BotStartError` with the page's error and ``log_tail()`` (the bot's log).
        """
        page = context.new_page()
        session = cls(context, page, transport)
        runtime = page.request.get(origin + "/health").json()["runtime"]
        serve_kit_page(page, origin, f"/runtime/pyscript/{runtime['pyscript']}")
        page.goto(f"{origin}{PREFIX}kit.html")
        page.wait_for_function(READY_JS, timeout=BOOT_TIMEOUT_MS)
        try:
            session.ready = session.run(connect_code(transport, request_data, options))
        except Error as error:
            raise not_connected(error.message, "page console", session.console, log_tail) from None
        return session

    # -- the page ----------------------------------------------------------------------------

    def run(self, code: str) -> Any:
        """Evaluate Python in the page (the client is ``client``); the last expression's value."""
        return json.loads(self.page.evaluate(RUN_JS, code))

    def now(self) -> float:
        """The page's clock (``performance.now()``, ms): event times are on it."""
        return float(self.page.evaluate("performance.now()"))

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event so far: ``{"type", "data", "t"}`` (``t``: page ms)."""
        raw: list[str] = self.page.evaluate(EVENTS_JS)
        return [json.loads(item) for item in raw]

    @property
    def alive(self) -> bool:
        """Its page is open (its events can be read)."""
        return not self.page.is_closed()

    def disconnect(self) -> None:
        if not self.page.is_closed():
            self.run(DISCONNECT_CODE)

    def close(self) -> None:
        """Close its browser context (after :meth:`disconnect`)."""
        self.context.close()

    # -- what the API stands on (``surface.KitSession``) ---------------------------------------

    def _call(self, call: ClientCall) -> Any:
        return self.run(call.code())

    def _sleep(self, ms: float) -> None:
        self.page.wait_for_timeout(ms)

    def _recording(self, which: Recording) -> bytes | None:
        return None if self.page.is_closed() else wav_of(self.page.evaluate(RECORDING_JS, which))

    def _speak(self, speech: Speech, kind: str, timeout: float) -> Turn:
        wav = speech_wav(speech)
        if not self.page.evaluate(HAS_MIC_JS):
            raise no_mic(kind)
        start = self.now()
        said_end = float(self.page.evaluate(PLAY_JS, base64.b64encode(wav).decode("ascii")))
        heard = self.page.evaluate(HEARD_JS, [said_end, timeout * 1000])
        turn = self._turn(start, kind, speech_label(speech), timeout)
        return spoken_turn(turn, said_end, None if heard is None else float(heard))


def kit_page_body(url: str, pyscript_url: str) -> tuple[int, str, str]:
    """The kit's page file a request under ``PREFIX`` asks for: status, body, content type."""
    name = url.split(PREFIX, 1)[1].split("?")[0]
    path = (PAGE_DIR / name).resolve()
    if path.parent != PAGE_DIR or not path.is_file():
        return 404, "not found", "text/plain"
    body = path.read_text()
    if path.suffix == ".html":
        body = body.replace("{{PYSCRIPT_URL}}", pyscript_url).replace("{{PREFIX}}", PREFIX)
    kinds = {".html": "text/html", ".py": "text/x-python"}
    return 200, body, kinds.get(path.suffix, "text/plain")


def serve_kit_page(page: Page, origin: str, pyscript_url: str) -> None:
    """Serve the kit's page files under ``PREFIX`` on ``origin`` (a route of this page only)."""

    def serve(route: Route) -> None:
        status, body, kind = kit_page_body(route.request.url, pyscript_url)
        route.fulfill(status=status, body=body, content_type=kind)

    page.route(f"{origin}{PREFIX}**", serve)
