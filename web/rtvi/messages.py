"""The RTVI envelope ``{"label": "rtvi-ai", "type", "id", "data"}``: build, serialize, parse.

Pure functions and frozen dataclasses; no I/O. Inbound data from any transport goes through
:func:`parse_message`, which either returns an :class:`RTVIMessage` or raises a typed error.
The payloads the client acts on (``bot-ready``, ``error``, function calls) have small typed
parsers at the end, so that callers never poke at untyped dicts.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .errors import InvalidMessageError, error_text

MESSAGE_LABEL = "rtvi-ai"


class MessageType(StrEnum):
    """Every RTVI message type this client sends or understands (wire strings)."""

    # client -> bot
    CLIENT_READY = "client-ready"
    DISCONNECT_BOT = "disconnect-bot"
    GET_CONFIG = "get-config"
    UPDATE_CONFIG = "update-config"
    DESCRIBE_CONFIG = "describe-config"
    DESCRIBE_ACTIONS = "describe-actions"
    ACTION = "action"
    LLM_FUNCTION_CALL_RESULT = "llm-function-call-result"
    CLIENT_MESSAGE = "client-message"
    SEND_TEXT = "send-text"
    APPEND_TO_CONTEXT = "append-to-context"
    SEND_FILE = "send-file"
    DTMF = "dtmf"
    UI_EVENT = "ui-event"
    UI_SNAPSHOT = "ui-snapshot"
    UI_CANCEL_JOB_GROUP = "ui-cancel-job-group"
    # bot -> client: replies
    BOT_READY = "bot-ready"
    CONFIG = "config"
    CONFIG_AVAILABLE = "config-available"
    ACTIONS_AVAILABLE = "actions-available"
    ACTION_RESPONSE = "action-response"
    SERVER_RESPONSE = "server-response"
    ERROR_RESPONSE = "error-response"
    APPEND_TO_CONTEXT_RESULT = "append-to-context-result"
    # bot -> client: events
    ERROR = "error"
    CONFIG_ERROR = "config-error"
    USER_STARTED_SPEAKING = "user-started-speaking"
    USER_STOPPED_SPEAKING = "user-stopped-speaking"
    BOT_STARTED_SPEAKING = "bot-started-speaking"
    BOT_STOPPED_SPEAKING = "bot-stopped-speaking"
    USER_TRANSCRIPTION = "user-transcription"
    USER_LLM_TEXT = "user-llm-text"
    BOT_TRANSCRIPTION = "bot-transcription"
    BOT_OUTPUT = "bot-output"
    BOT_LLM_TEXT = "bot-llm-text"
    BOT_LLM_STARTED = "bot-llm-started"
    BOT_LLM_STOPPED = "bot-llm-stopped"
    BOT_TTS_TEXT = "bot-tts-text"
    BOT_TTS_STARTED = "bot-tts-started"
    BOT_TTS_STOPPED = "bot-tts-stopped"
    METRICS = "metrics"
    SERVER_MESSAGE = "server-message"
    STORAGE_ITEM_STORED = "storage-item-stored"
    BOT_LLM_SEARCH_RESPONSE = "bot-llm-search-response"
    USER_MUTE_STARTED = "user-mute-started"
    USER_MUTE_STOPPED = "user-mute-stopped"
    LLM_FUNCTION_CALL = "llm-function-call"
    LLM_FUNCTION_CALL_START = "llm-function-call-start"
    LLM_FUNCTION_CALL_STARTED = "llm-function-call-started"
    LLM_FUNCTION_CALL_IN_PROGRESS = "llm-function-call-in-progress"
    LLM_FUNCTION_CALL_STOPPED = "llm-function-call-stopped"
    LLM_JSON_COMPLETION = "llm-json-completion"
    # bot -> client: RTVI 2.x (pipecat 1.14)
    USER_INPUT = "user-input"
    VAD_USER_STARTED_SPEAKING = "vad-user-started-speaking"
    VAD_USER_STOPPED_SPEAKING = "vad-user-stopped-speaking"
    BOT_INTERRUPTED = "bot-interrupted"
    BOT_LLM_MARKER = "bot-llm-marker"
    LLM_RAW_TEXT = "llm-raw-text"
    STT_RAW_TEXT = "stt-raw-text"
    TTS_RAW_TEXT = "tts-raw-text"
    BOT_TTS_AUDIO = "bot-tts-audio"
    USER_AUDIO_LEVEL = "user-audio-level"
    BOT_AUDIO_LEVEL = "bot-audio-level"
    SYSTEM_LOG = "system-log"
    UI_COMMAND = "ui-command"
    UI_JOB_GROUP = "ui-job-group"


def new_id() -> str:
    """A fresh message id: 8 lowercase hex characters, like the JS client's."""
    return secrets.token_hex(4)


@dataclass(frozen=True, slots=True)
class RTVIMessage:
    """One RTVI envelope. ``type`` is a plain string so unknown types survive parsing."""

    type: str
    data: Any = None
    id: str = field(default_factory=new_id)
    label: str = MESSAGE_LABEL

    def to_dict(self) -> dict[str, Any]:
        """The wire object; ``data`` is always present (``{}`` when there is none)."""
        return {
            "id": self.id,
            "label": self.label,
            "type": str(self.type),
            "data": {} if self.data is None else self.data,
        }

    def to_json(self) -> str:
        held = _held_json.get(id(self))
        if held is not None and held[0] is self:
            return held[1]
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    def byte_size(self) -> int:
        """Size of the JSON encoding in UTF-8 bytes (what the transport will send)."""
        text = self.to_json()
        return len(text) if text.isascii() else len(text.encode("utf-8"))


#: Messages being sent, by ``id()``: their JSON text (see :func:`serialized_once`).
_held_json: dict[int, tuple[RTVIMessage, str]] = {}


class serialized_once:  # lower case: used as a function, ``with serialized_once(message):``
    """Within the block, ``message.to_json()`` is the text made on entry (``as`` gives it):
    one send checks the size and encodes the frame from one serialization (a 1 MiB ``data``
    costs milliseconds of ``json.dumps`` in Pyodide), not one per step. A class rather than a
    ``@contextmanager`` generator, which costs more than serializing a small message."""

    __slots__ = ("_key", "_text")

    def __init__(self, message: RTVIMessage) -> None:
        self._text = message.to_json()
        self._key = id(message)
        _held_json[self._key] = (message, self._text)

    def __enter__(self) -> str:
        return self._text

    def __exit__(self, *exc: object) -> None:
        _held_json.pop(self._key, None)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data, for logs and test pages: messages as their wire object,
    exceptions as ``{"error", "message"}``, dataclasses field by field, anything else unknown
    as its ``repr``."""
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


def parse_message(raw: str | bytes | bytearray | Mapping[str, Any]) -> RTVIMessage:
    """Validate inbound data (JSON text, bytes or an already-decoded dict) as an RTVI envelope.

    Raises :class:`NotRTVIMessageError` when the object is valid JSON but not labelled
    ``rtvi-ai`` (transports and the client ignore those) and :class:`InvalidMessageError` for
    anything else that is wrong, with a message saying what.
    """
    obj: Any = raw
    if isinstance(raw, bytes | bytearray):
        try:
            obj = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidMessageError(f"message is not UTF-8: {exc}", raw) from None
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except ValueError as exc:
            raise InvalidMessageError(f"message is not valid JSON: {exc}", raw) from None
    if not isinstance(obj, Mapping):
        raise InvalidMessageError(f"message must be a JSON object, got {type(obj).__name__}", raw)
    label = obj.get("label")
    if label != MESSAGE_LABEL:
        raise NotRTVIMessageError(f"label is {label!r}, not {MESSAGE_LABEL!r}", raw)
    msg_type = obj.get("type")
    if not isinstance(msg_type, str) or not msg_type:
        raise InvalidMessageError("message has no 'type' string", raw)
    msg_id = obj.get("id")
    if msg_id is None:
        msg_id = ""
    elif not isinstance(msg_id, str | int):
        raise InvalidMessageError(f"message 'id' must be a string, got {msg_id!r}", raw)
    return RTVIMessage(type=msg_type, data=obj.get("data"), id=str(msg_id))


class NotRTVIMessageError(InvalidMessageError):
    """Valid JSON object whose ``label`` is not ``rtvi-ai`` (ignored by the client)."""


# --- builders for client -> bot messages ------------------------------------------------------


def client_ready(version: str, about: Mapping[str, Any]) -> RTVIMessage:
    return RTVIMessage(MessageType.CLIENT_READY, {"version": version, "about": dict(about)})


def disconnect_bot() -> RTVIMessage:
    return RTVIMessage(MessageType.DISCONNECT_BOT, {})


def get_config() -> RTVIMessage:
    return RTVIMessage(MessageType.GET_CONFIG, {})


def update_config(config: list[Any], interrupt: bool = False) -> RTVIMessage:
    return RTVIMessage(MessageType.UPDATE_CONFIG, {"config": config, "interrupt": interrupt})


def describe_config() -> RTVIMessage:
    return RTVIMessage(MessageType.DESCRIBE_CONFIG, {})


def describe_actions() -> RTVIMessage:
    return RTVIMessage(MessageType.DESCRIBE_ACTIONS, {})


def action(
    service: str, action: str, arguments: list[Mapping[str, Any]] | None = None
) -> RTVIMessage:
    data: dict[str, Any] = {"service": service, "action": action}
    data["arguments"] = [dict(a) for a in arguments] if arguments else []
    return RTVIMessage(MessageType.ACTION, data)


def client_message(msg_type: str, data: Any = None) -> RTVIMessage:
    payload: dict[str, Any] = {"t": msg_type}
    if data is not None:
        payload["d"] = data
    return RTVIMessage(MessageType.CLIENT_MESSAGE, payload)


def send_text(content: str, options: Mapping[str, Any] | None = None) -> RTVIMessage:
    data: dict[str, Any] = {"content": content}
    if options:
        data["options"] = dict(options)
    return RTVIMessage(MessageType.SEND_TEXT, data)


def dtmf(buttons: Sequence[str]) -> RTVIMessage:
    """RTVI 2.1+: ``dtmf {buttons}`` (keys in order)."""
    return RTVIMessage(MessageType.DTMF, {"buttons": list(buttons)})


def dtmf_button(button: str) -> RTVIMessage:
    """RTVI 2.0: ``dtmf {button}``, one message per key."""
    return RTVIMessage(MessageType.DTMF, {"button": button})


def send_file(
    content: str, file: Mapping[str, Any], options: Mapping[str, Any] | None = None
) -> RTVIMessage:
    """``send-file {content, file: {format, name?, source}, options?}``."""
    data: dict[str, Any] = {"content": content, "file": dict(file)}
    if options:
        data["options"] = dict(options)
    return RTVIMessage(MessageType.SEND_FILE, data)


def ui_event(event: str, payload: Any = None) -> RTVIMessage:
    data: dict[str, Any] = {"event": event}
    if payload is not None:
        data["payload"] = payload
    return RTVIMessage(MessageType.UI_EVENT, data)


def ui_snapshot(tree: Mapping[str, Any]) -> RTVIMessage:
    return RTVIMessage(MessageType.UI_SNAPSHOT, {"tree": dict(tree)})


def ui_cancel_job_group(job_id: str, reason: str | None = None) -> RTVIMessage:
    data: dict[str, Any] = {"job_id": job_id}
    if reason is not None:
        data["reason"] = reason
    return RTVIMessage(MessageType.UI_CANCEL_JOB_GROUP, data)


def llm_function_call_result(
    function_name: str, tool_call_id: str, arguments: Any, result: Any
) -> RTVIMessage:
    return RTVIMessage(
        MessageType.LLM_FUNCTION_CALL_RESULT,
        {
            "function_name": function_name,
            "tool_call_id": tool_call_id,
            "arguments": arguments,
            "result": result,
        },
    )


def parse_version(version: Any) -> tuple[int, ...] | None:
    """``"1.2.0"`` → ``(1, 2, 0)``; ``"0.3"`` → ``(0, 3)``; ``None`` when absent or unparsable."""
    if not isinstance(version, str) or not version.strip():
        return None
    parts: list[int] = []
    for piece in version.strip().lstrip("vV").split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) or None


# --- typed views of inbound payloads ----------------------------------------------------------


def data_field(data: Any, name: str, default: Any = None) -> Any:
    """``data[name]`` when ``data`` is a JSON object, else ``default``."""
    return data.get(name, default) if isinstance(data, Mapping) else default


@dataclass(frozen=True, slots=True)
class BotReady:
    """A ``bot-ready`` payload: ``data`` as received (``{}`` when absent), its version, and
    (RTVI 2.2) the bot's ``about`` and ``capabilities`` (``{}`` when the bot sent none)."""

    data: Any
    version: tuple[int, ...] | None  # ``"1.2.0"`` → ``(1, 2, 0)``; None when missing or bad
    about: dict[str, Any] = field(default_factory=dict)
    #: ``{audio_in, audio_out, video_in, screen_in, video_out, metrics}``: booleans or None.
    capabilities: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Any) -> BotReady:
        data = {} if data is None else data
        about = data_field(data, "about")
        capabilities = data_field(data, "capabilities")
        return cls(
            data,
            parse_version(data_field(data, "version")),
            dict(about) if isinstance(about, Mapping) else {},
            dict(capabilities) if isinstance(capabilities, Mapping) else {},
        )


@dataclass(frozen=True, slots=True)
class ErrorPayload:
    """An ``error`` (or ``error-response``) payload: its text and whether it is fatal."""

    text: str
    fatal: bool

    @classmethod
    def parse(cls, data: Any) -> ErrorPayload:
        return cls(error_text(data), bool(data_field(data, "fatal")))


@dataclass(frozen=True)
class FunctionCallParams:
    """What a function-call handler receives (parsed from a function-call message)."""

    function_name: str
    arguments: Any
    tool_call_id: str

    @classmethod
    def parse(cls, data: Any, *, legacy: bool = False) -> FunctionCallParams | None:
        """``llm-function-call-in-progress`` data (``arguments``), or with ``legacy`` the 0.x
        ``llm-function-call`` (``args``); the other key is the fallback. None when ``data``
        is not an object."""
        if not isinstance(data, Mapping):
            return None
        first, second = ("args", "arguments") if legacy else ("arguments", "args")
        arguments = data.get(first)
        if arguments is None:
            arguments = data.get(second)
        return cls(
            str(data.get("function_name") or ""), arguments, str(data.get("tool_call_id") or "")
        )


def malformed_report(exc: InvalidMessageError) -> RTVIMessage:
    """The ``error-response`` the client reports (``on_message_error``) for bad inbound data."""
    raw = exc.raw
    if isinstance(raw, bytes | bytearray):
        raw = bytes(raw[:200]).decode("utf-8", "replace")
    elif raw is not None and not isinstance(raw, str):
        raw = repr(raw)
    return RTVIMessage(
        MessageType.ERROR_RESPONSE,
        {"error": exc.message, "fatal": False, "raw": (raw or "")[:200]},
        id="",
    )
