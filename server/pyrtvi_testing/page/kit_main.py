"""Runs in the kit's page (PyScript): one pyrtvi client, driven by the test process.

``window.kitRun(code)`` evaluates ``code`` (top-level ``await`` allowed) in one namespace and
resolves to the JSON of the last expression. Every client event but the 10 Hz audio levels is
recorded in ``window.kitEvents`` as ``{"type", "data", "t"}`` (``t``: ``performance.now()``).
"""

import dataclasses
import json
import logging
from typing import Any

import js  # type: ignore[import-not-found]
from pyodide.code import eval_code_async  # type: ignore[import-not-found]
from pyodide.ffi import create_proxy  # type: ignore[import-not-found]
from rtvi import RTVIClient, RTVIEvent, RTVIMessage
from rtvi.transports.small_webrtc import SmallWebRTCTransport


class ConsoleHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        js.console.log(self.format(record))


handler = ConsoleHandler()
handler.setFormatter(
    logging.Formatter("py %(relativeCreated)d %(levelname)s %(name)s: %(message)s")
)
logging.getLogger("rtvi").addHandler(handler)
logging.getLogger("rtvi").setLevel(logging.INFO)

js.kitEvents = js.Array.new()
SKIPPED = {RTVIEvent.LOCAL_AUDIO_LEVEL, RTVIEvent.REMOTE_AUDIO_LEVEL}


def jsonable(value: Any) -> Any:
    if isinstance(value, RTVIMessage):
        return value.to_dict()
    if isinstance(value, BaseException):
        return {"error": type(value).__name__, "message": str(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return repr(value)


def _recorder(event: RTVIEvent) -> Any:
    def record(*args: Any) -> None:
        data = jsonable(args[0]) if len(args) == 1 else [jsonable(a) for a in args]
        line = {"type": str(event), "data": data, "t": js.performance.now()}
        js.kitEvents.push(json.dumps(line))

    return record


def make_transport(kind: str) -> Any:
    """The page's transport. The virtual microphone (when the page has one) is its source."""
    audio = js.document.getElementById("bot-audio")
    if kind == "websocket":
        from rtvi.transports.websocket import WebSocketTransport

        return WebSocketTransport(audio_element=audio)
    return SmallWebRTCTransport(audio_element=audio)


client: RTVIClient | None = None


async def connect(kind: str, request_data: Any, options: dict[str, Any]) -> Any:
    """Connect through this page's server (`/connect`); resolves to the bot-ready data."""
    global client
    data = dict(request_data or {})
    if kind == "websocket":
        data["transport"] = "websocket"  # pyrtvi serve's `/connect` relays a WebSocket then
    params = {"base_url": str(js.location.origin), "request_data": data}
    options = {"enable_mic": False, **options}
    client = RTVIClient(make_transport(kind), params=params, **options)
    for event in RTVIEvent:
        if event not in SKIPPED:
            client.on(event, _recorder(event))
    return await client.connect()


NS: dict[str, object] = {"__name__": "kit", "js": js, "connect": connect, "jsonable": jsonable}


async def run(code: str) -> str:
    NS["client"] = client
    result = await eval_code_async(code, NS)
    return json.dumps(jsonable(result))


js.kitRun = create_proxy(run)
js.document.documentElement.dataset.kit = "ready"
