"""Runs in the test page (PyScript): lets the tests execute Python in Pyodide and see events.

``window.pyrun(code)`` evaluates ``code`` (top-level ``await`` allowed) in one namespace shared by
all calls of a page and resolves to the JSON of the last expression. Clients made with
``make_client()`` record every event in ``window.rtviEvents`` (JSON strings, polled by the
tests) except the 10 Hz audio levels, which go to ``LEVELS``.
"""

import json
import logging
from typing import Any

import js  # type: ignore[import-not-found]
from pyodide.code import eval_code_async  # type: ignore[import-not-found]
from pyodide.ffi import create_proxy  # type: ignore[import-not-found]
from rtvi import RTVIClient, RTVIEvent
from rtvi.events import jsonable
from rtvi.transports import _browser
from rtvi.transports.small_webrtc import SmallWebRTCTransport


class ConsoleHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        js.console.log(self.format(record))


handler = ConsoleHandler()
handler.setFormatter(
    logging.Formatter("py %(relativeCreated)d %(levelname)s %(name)s: %(message)s")
)
logging.getLogger("rtvi").addHandler(handler)
logging.getLogger("rtvi").setLevel(logging.DEBUG)

js.rtviEvents = js.Array.new()
#: Audio levels per source ("local", "bot"): [(ms since page load, level), ...].
LEVELS: dict[str, list[tuple[float, float]]] = {"local": [], "bot": []}
LEVEL_EVENTS = {RTVIEvent.LOCAL_AUDIO_LEVEL: "local", RTVIEvent.REMOTE_AUDIO_LEVEL: "bot"}


def record(name: str, data: object = None) -> None:
    js.rtviEvents.push(json.dumps({"name": name, "data": data, "t": js.performance.now()}))


def _event_recorder(event: RTVIEvent) -> Any:
    if event in LEVEL_EVENTS:
        samples = LEVELS[LEVEL_EVENTS[event]]
        return lambda level, *_: samples.append((js.performance.now(), level))
    return lambda *args: record(str(event), [jsonable(a) for a in args])


CLIENTS: list[RTVIClient] = []


def make_client(transport: SmallWebRTCTransport | None = None, **kwargs: Any) -> RTVIClient:
    """A client on the SmallWebRTC transport, talking to this server's /connect."""
    kwargs.setdefault("params", {"base_url": str(js.location.origin)})
    client = RTVIClient(transport or SmallWebRTCTransport(), **kwargs)
    for event in RTVIEvent:
        client.on(event, _event_recorder(event))
    CLIENTS.append(client)
    return client


async def reset() -> None:
    """Back to a fresh page for the next test: clients disconnected, records cleared."""
    while CLIENTS:
        client = CLIENTS.pop()
        client.remove_all_listeners()
        await client.disconnect()
    for name in ("rtviEvents", "peerConnections", "dcSent", "userMediaCalls"):
        getattr(js, name).length = 0
    for samples in LEVELS.values():
        samples.clear()


def names() -> list[str]:
    return [json.loads(e)["name"] for e in js.rtviEvents]


NS: dict[str, object] = {
    "__name__": "harness",
    "js": js,
    "record": record,
    "names": names,
    "make_client": make_client,
    "jsonable": jsonable,
    "LEVELS": LEVELS,
    "SmallWebRTCTransport": SmallWebRTCTransport,
    "live_proxies": _browser.live_proxies,
    "reset": reset,
}


async def run(code: str) -> str:
    result = await eval_code_async(code, NS)
    return json.dumps(jsonable(result))


js.pyrun = create_proxy(run)
js.document.documentElement.dataset.harness = "ready"
