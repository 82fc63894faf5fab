"""The console's logic that needs no browser: what an error means to a person, form values,
event timings and one-line summaries. Pure Python, so it runs (and is tested) in CPython too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from rtvi.errors import DeviceError, error_text

# --- errors → banners ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """What the error banner shows. ``kind`` is stable (tests and CSS use it)."""

    #: bot-down | server-down | timeout | permission | device | transport | no-websocket |
    #: bot-error | bot-left | error | import (a session file not shown) | info (not a problem)
    kind: str
    title: str
    text: str


_PERMISSION_NAMES = ("NotAllowedError", "SecurityError", "PermissionDeniedError")
_DEVICE_NAMES = ("NotFoundError", "NotReadableError", "OverconstrainedError", "AbortError")


def js_error_name(exc: BaseException) -> str:
    """The JS error name behind a Pyodide ``JsException`` (or in a wrapped cause), else ''."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        js_error = getattr(current, "js_error", None)
        name = getattr(js_error, "name", None) if js_error is not None else None
        if name:
            return str(name)
        text = str(current)
        for known in (*_PERMISSION_NAMES, *_DEVICE_NAMES):
            if known in text:
                return known
        current = current.__cause__ or current.__context__
    return ""


def _message(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(text)


#: A :class:`~rtvi.errors.DeviceError`'s reason (client-js ``DeviceErrorReason``) → the title.
_DEVICE_TITLES = {
    "already-in-use": "The {device} is in use by another application",
    "not-found": "No {device} found",
    "invalid-constraints": "The {device} cannot do what was asked",
    "not-supported": "This browser cannot open a {device} here",
    "unknown": "{Device} unavailable",
}


def device_problem(exc: DeviceError) -> Problem:
    """The banner of a device that could not be opened, by its client-js reason."""
    device = " and ".join({"mic": "microphone", "cam": "camera"}.get(d, d) for d in exc.devices)
    device = device or "microphone"
    if exc.reason == "blocked":
        return _permission_problem(exc.message)
    title = _DEVICE_TITLES.get(exc.reason, _DEVICE_TITLES["unknown"])
    hint = {
        "already-in-use": "Close the other application using it, then connect again.",
        "not-found": "Plug one in (or pick another under Audio and devices), then connect "
        "again, or turn the microphone off before connecting.",
        "not-supported": "Open the page over https (or on localhost) in a current browser.",
    }.get(exc.reason, "")
    return Problem(
        "device",
        title.format(device=device, Device=device.capitalize()),
        f"{hint} ({exc.reason}: {exc.message})".strip(),
    )


def _permission_problem(detail: str) -> Problem:
    return Problem(
        "permission",
        "Microphone permission denied",
        "The browser refused access to the microphone or camera. Allow it in the site "
        "settings (the icon left of the address) and connect again, or turn the "
        f"microphone off before connecting. ({detail})",
    )


def classify_error(exc: BaseException, *, timeout: float | None = None) -> Problem:
    """Turn a failure of connect/action/config into a banner a person understands."""
    name = type(exc).__name__
    status = getattr(exc, "status", None)
    detail = _message(exc)
    js_name = js_error_name(exc)
    if isinstance(exc, DeviceError):
        return device_problem(exc)
    if js_name in _PERMISSION_NAMES or "permission denied" in detail.lower():
        return _permission_problem(js_name or detail)
    if js_name in _DEVICE_NAMES and name not in ("ConnectionTimeoutError", "StartBotError"):
        return Problem(
            "device",
            "Audio device unavailable",
            f"The microphone or camera could not be opened: {detail}",
        )
    if name in ("ConnectionTimeoutError", "RequestTimeoutError", "HTTPTimeoutError"):
        limit = f" within {timeout:g} s" if timeout and name == "ConnectionTimeoutError" else ""
        return Problem(
            "timeout",
            "Timed out",
            f"The bot did not answer{limit}. It may be overloaded or stuck; try again. ({detail})",
        )
    if name in ("StartBotError", "HTTPError", "ActionEndpointError"):
        cause = exc.__cause__
        if name == "HTTPError" or (cause is not None and type(cause).__name__ == "HTTPError"):
            return Problem(
                "server-down",
                "Cannot reach the server",
                f"The request got no answer ({detail}). Is `pyrtvi serve` running at the "
                "server URL, and (from another site) is this page's origin allowed?",
            )
        if status in (502, 503, 504) or status is None or status == 500:
            code = f"HTTP {status}: " if status else ""
            return Problem(
                "bot-down",
                "The bot is not available",
                f"The server could not start a bot session ({code}{detail}). Is the bot running? "
                "`pyrtvi serve` starts one unless it was run with `--bot none`.",
            )
        return Problem("bot-error", f"The server refused (HTTP {status})", detail)
    if name == "NoWebSocketURLError":
        return Problem(
            "no-websocket",
            "This server offers no WebSocket",
            "The connect reply has no WebSocket URL (ws_url), so there is no socket to open: "
            "the server does not relay WebSocket sessions to its bot. Pick WebRTC under "
            f"Connection settings, or use a server that offers WebSockets. ({detail})",
        )
    if name == "TransportStartError":
        return Problem("transport", "Could not connect to the bot", detail)
    if name in ("ErrorResponse", "RTVIMessageError", "UnsupportedFeatureError"):
        return Problem("bot-error", "The bot answered with an error", detail)
    if name in ("BotNotReadyError", "BotAlreadyStartedError"):
        return Problem("error", "Not now", detail)
    return Problem("error", "Something went wrong", f"{name}: {detail}")


#: The banner when the bot leaves a session the person did not end.
BOT_LEFT = Problem(
    "bot-left",
    "The bot left the session",
    "The bot disconnected (it ended the conversation, or stopped). Connect again to start a new "
    "session.",
)


def bot_error_problem(data: Any, *, idle: bool) -> Problem | None:
    """The banner for an RTVI ``error`` message's data: a fatal error always has one, another
    only when there is no session to carry on with (``idle``)."""
    fatal = isinstance(data, Mapping) and bool(data.get("fatal"))
    if not (fatal or idle):
        return None
    text = summarize(error_text(data) or (None if isinstance(data, Mapping) else data))
    return Problem("bot-error", "The session failed" if fatal else "Error", text)


# --- values typed by RTVI option/argument types --------------------------------------------------

#: RTVI option/argument types (describe-config, describe-actions).
TYPES = ("bool", "number", "string", "array", "object")


def parse_value(kind: str, raw: Any) -> Any:
    """A form control's value (text, or a bool from a checkbox) as the RTVI ``kind`` wants it.

    Raises ``ValueError`` with a message fit for the page on bad input.
    """
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off", ""):
            return False
        raise ValueError(f"{raw!r} is not true or false")
    if kind == "number":
        text = str(raw).strip()
        if not text:
            raise ValueError("a number is required")
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{raw!r} is not a number") from None
        return (
            int(number) if number.is_integer() and "." not in text and "e" not in text else number
        )
    if kind in ("array", "object"):
        text = str(raw).strip()
        if not text:
            return [] if kind == "array" else {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
        expected = list if kind == "array" else dict
        if not isinstance(value, expected):
            raise ValueError(f"JSON {kind} expected, got {type(value).__name__}")
        return value
    return "" if raw is None else str(raw)


def format_value(kind: str, value: Any) -> str:
    """The text a form control shows for a value (inverse of :func:`parse_value`)."""
    if value is None:
        return ""
    if kind in ("array", "object") or isinstance(value, list | dict):
        return json.dumps(value, indent=1, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- config -------------------------------------------------------------------------------------


def config_values(config: Iterable[Mapping[str, Any]] | None) -> dict[tuple[str, str], Any]:
    """``[{service, options: [{name, value}]}]`` → ``{(service, name): value}``."""
    values: dict[tuple[str, str], Any] = {}
    for entry in config or []:
        if not isinstance(entry, Mapping):
            continue
        service = entry.get("service")
        for option in entry.get("options") or []:
            if isinstance(option, Mapping) and isinstance(service, str):
                values[(service, str(option.get("name")))] = option.get("value")
    return values


def config_update(
    changes: Mapping[tuple[str, str], Any],
) -> list[dict[str, Any]]:
    """``{(service, name): value}`` → the ``update-config`` list, services in first-seen order."""
    by_service: dict[str, list[dict[str, Any]]] = {}
    for (service, name), value in changes.items():
        by_service.setdefault(service, []).append({"name": name, "value": value})
    return [{"service": s, "options": opts} for s, opts in by_service.items()]


def described_services(data: Any) -> list[dict[str, Any]]:
    """The ``config-available`` payload (``{config: [...]}`` or the list) as a clean list."""
    items = data.get("config") if isinstance(data, Mapping) else data
    services = []
    for service in items or []:
        if not isinstance(service, Mapping) or not isinstance(service.get("name"), str):
            continue
        options = [
            dict(o)
            for o in service.get("options") or []
            if isinstance(o, Mapping) and isinstance(o.get("name"), str)
        ]
        services.append({"name": service["name"], "options": options})
    return services


def described_actions(data: Any) -> list[dict[str, Any]]:
    """The ``actions-available`` payload (``{actions: [...]}`` or the list) as a clean list."""
    items = data.get("actions") if isinstance(data, Mapping) else data
    actions = []
    for action in items or []:
        if not isinstance(action, Mapping):
            continue
        if not isinstance(action.get("service"), str) or not isinstance(action.get("action"), str):
            continue
        arguments = [
            {"name": str(a["name"]), "type": str(a.get("type", "string"))}
            for a in action.get("arguments") or []
            if isinstance(a, Mapping) and isinstance(a.get("name"), str)
        ]
        actions.append(
            {
                "service": action["service"],
                "action": action["action"],
                "arguments": arguments,
                "result": action.get("result"),
            }
        )
    return actions


def custom_action(values: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
    """The "Any action" form's typed values (service, action, arguments object) →
    ``(service, action, [{name, value}])``; ``ValueError`` without a service or action."""
    service, action = str(values["service"]).strip(), str(values["action"]).strip()
    if not service or not action:
        raise ValueError("service and action are required")
    arguments = [{"name": k, "value": v} for k, v in dict(values["arguments"]).items()]
    return service, action, arguments


#: Sensible starting values for well-known action arguments (the form is still editable).
ARGUMENT_DEFAULTS: dict[tuple[str, str, str], str] = {
    ("llm", "append_to_messages", "messages"): '[{"role": "user", "content": "Tell me a joke"}]',
    ("llm", "set_context", "messages"): '[{"role": "system", "content": "You are helpful."}]',
    ("llm", "append_to_messages", "run_immediately"): "true",
    ("tts", "say", "text"): "Hello from a disconnected action.",
    ("tts", "say", "interrupt"): "true",
}


# --- text box -------------------------------------------------------------------------------------


def protocol_major(version: Any) -> int | None:
    """Major number of a bot's RTVI version string (``"1.2.0"`` → 1, ``"0.3"`` → 0)."""
    if not isinstance(version, str) or not version:
        return None
    head = version.strip().lstrip("v").split(".", 1)[0]
    return int(head) if head.isdigit() else None


def text_mode(choice: str, bot_version: Any) -> str:
    """``send-text`` or ``append``: what the text box uses (``auto`` follows the bot's version).

    ``send-text`` exists since RTVI 1.1 (pipecat 0.0.86); a 0.x bot only has the
    ``llm:append_to_messages`` action.
    """
    if choice in ("send-text", "append"):
        return choice
    major = protocol_major(bot_version)
    return "send-text" if major is not None and major >= 1 else "append"


# --- event log ------------------------------------------------------------------------------------


class EventClock:
    """Milliseconds since a start mark (e.g. the Connect click) and since the previous event."""

    def __init__(self, now_ms: float = 0.0) -> None:
        self.start = now_ms
        self.last = now_ms

    def reset(self, now_ms: float) -> None:
        self.start = self.last = now_ms

    def stamp(self, now_ms: float) -> tuple[float, float]:
        since_start, since_last = now_ms - self.start, now_ms - self.last
        self.last = now_ms
        return since_start, since_last


def format_ms(ms: float) -> str:
    if abs(ms) < 10_000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s"


def plain(value: Any, depth: int = 0) -> Any:
    """JSON-able data from event arguments (messages, dataclasses, nested containers)."""
    if depth > 8:
        return repr(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "to_dict"):
        return plain(value.to_dict(), depth + 1)
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name), depth + 1)
            for f in fields(value)
            if f.name != "raw"
        }
    if isinstance(value, Mapping):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, depth + 1) for v in value]
    return str(value)


def summarize(value: Any, limit: int = 160) -> str:
    """A one-line, length-limited rendering of event data for the log."""
    value = plain(value)
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: Events that stream many times per turn: shown only with "Show streamed text events".
STREAMED_EVENTS = frozenset({"botLlmText", "botTtsText", "botText", "userTranscript"})

#: Events never logged (ten per second each).
SILENT_EVENTS = frozenset({"localAudioLevel", "remoteAudioLevel"})


def device_options(devices: Sequence[Any]) -> list[tuple[str, str]]:
    """``(device_id, label)`` pairs for a picker; unnamed devices get a numbered label."""
    options = []
    for index, device in enumerate(devices, start=1):
        device_id = getattr(device, "device_id", None)
        label = getattr(device, "label", "")
        kind = getattr(device, "kind", "")
        if device_id is None and isinstance(device, Mapping):
            device_id = device.get("device_id") or device.get("deviceId")
            label = device.get("label", "")
            kind = device.get("kind", "")
        if device_id is None:
            continue
        if not label:
            noun = {"audioinput": "Microphone", "audiooutput": "Speaker", "videoinput": "Camera"}
            label = f"{noun.get(str(kind), 'Device')} {index}"
        options.append((str(device_id), str(label)))
    return options
