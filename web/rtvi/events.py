"""Event names, callback names and the small synchronous event emitter of the client.

``RTVIEvent`` values are the JS event strings (``RTVIEvent.BOT_READY == "botReady"``), so
``client.on("botReady", fn)`` and ``client.on(RTVIEvent.BOT_READY, fn)`` are the same.
Constructor callbacks use snake_case names (``on_bot_ready``); :data:`CALLBACK_EVENTS` maps
each callback to the event emitted with it.

Handlers run synchronously, in registration order, when the message is handled. A handler that
returns a coroutine gets it scheduled as a task (not awaited inline). A handler that raises is
logged on the ``rtvi`` logger and never stops the other handlers.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, TypeVar, overload

logger = logging.getLogger("rtvi")

Handler = Callable[..., Any]
H = TypeVar("H", bound=Callable[..., Any])


class RTVIEvent(StrEnum):
    # lifecycle
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    TRANSPORT_STATE_CHANGED = "transportStateChanged"
    BOT_STARTED = "botStarted"
    BOT_CONNECTED = "botConnected"
    BOT_READY = "botReady"
    BOT_DISCONNECTED = "botDisconnected"
    PARTICIPANT_CONNECTED = "participantConnected"
    PARTICIPANT_LEFT = "participantLeft"
    # errors and messaging
    ERROR = "error"
    MESSAGE_ERROR = "messageError"
    SERVER_MESSAGE = "serverMessage"
    SERVER_RESPONSE = "serverResponse"
    GENERIC_MESSAGE = "genericMessage"  # pyrtvi: the JS client only has the callback
    UNSUPPORTED_FEATURE = "unsupportedFeature"
    # configuration and actions (RTVI 0.x)
    CONFIG = "config"
    CONFIG_DESCRIBE = "configDescribe"
    CONFIG_UPDATED = "configUpdated"  # declared but never emitted by the JS client
    ACTIONS_AVAILABLE = "actionsAvailable"
    # service events
    METRICS = "metrics"
    USER_STARTED_SPEAKING = "userStartedSpeaking"
    USER_STOPPED_SPEAKING = "userStoppedSpeaking"
    BOT_STARTED_SPEAKING = "botStartedSpeaking"
    BOT_STOPPED_SPEAKING = "botStoppedSpeaking"
    USER_MUTE_STARTED = "userMuteStarted"
    USER_MUTE_STOPPED = "userMuteStopped"
    USER_TRANSCRIPT = "userTranscript"
    BOT_TRANSCRIPT = "botTranscript"
    BOT_OUTPUT = "botOutput"
    USER_LLM_TEXT = "userLlmText"
    BOT_LLM_TEXT = "botLlmText"
    BOT_TEXT = "botText"  # deprecated 0.2.x alias, emitted with BOT_LLM_TEXT
    BOT_LLM_STARTED = "botLlmStarted"
    BOT_LLM_STOPPED = "botLlmStopped"
    BOT_LLM_SEARCH_RESPONSE = "botLlmSearchResponse"
    BOT_TTS_TEXT = "botTtsText"
    BOT_TTS_STARTED = "botTtsStarted"
    BOT_TTS_STOPPED = "botTtsStopped"
    STORAGE_ITEM_STORED = "storageItemStored"
    LLM_FUNCTION_CALL = "llmFunctionCall"
    LLM_FUNCTION_CALL_START = "llmFunctionCallStart"
    LLM_FUNCTION_CALL_STARTED = "llmFunctionCallStarted"
    LLM_FUNCTION_CALL_IN_PROGRESS = "llmFunctionCallInProgress"
    LLM_FUNCTION_CALL_STOPPED = "llmFunctionCallStopped"
    LLM_JSON_COMPLETION = "llmJsonCompletion"
    UI_COMMAND = "uiCommand"
    UI_JOB_GROUP = "uiJobGroup"
    # RTVI 2.x (pipecat 1.14) types client-js does not route: pyrtvi names, camelCase of the type
    USER_INPUT = "userInput"
    VAD_USER_STARTED_SPEAKING = "vadUserStartedSpeaking"
    VAD_USER_STOPPED_SPEAKING = "vadUserStoppedSpeaking"
    BOT_INTERRUPTED = "botInterrupted"
    BOT_LLM_MARKER = "botLlmMarker"
    LLM_RAW_TEXT = "llmRawText"
    STT_RAW_TEXT = "sttRawText"
    TTS_RAW_TEXT = "ttsRawText"
    BOT_TTS_AUDIO = "botTtsAudio"
    USER_AUDIO_LEVEL = "userAudioLevel"  # the bot's measure (LOCAL_AUDIO_LEVEL is the page's)
    BOT_AUDIO_LEVEL = "botAudioLevel"
    SYSTEM_LOG = "systemLog"
    # media
    TRACK_STARTED = "trackStarted"
    TRACK_STOPPED = "trackStopped"
    SCREEN_TRACK_STARTED = "screenTrackStarted"
    SCREEN_TRACK_STOPPED = "screenTrackStopped"
    SCREEN_SHARE_ERROR = "screenShareError"
    LOCAL_AUDIO_LEVEL = "localAudioLevel"
    REMOTE_AUDIO_LEVEL = "remoteAudioLevel"
    # devices
    AVAILABLE_CAMS_UPDATED = "availableCamsUpdated"
    AVAILABLE_MICS_UPDATED = "availableMicsUpdated"
    AVAILABLE_SPEAKERS_UPDATED = "availableSpeakersUpdated"
    CAM_UPDATED = "camUpdated"
    MIC_UPDATED = "micUpdated"
    SPEAKER_UPDATED = "speakerUpdated"
    DEVICE_ERROR = "deviceError"
    MEDIA_STATE_UPDATED = "mediaStateUpdated"


def _callback_name(event: RTVIEvent) -> str:
    return "on_" + re.sub(r"(?<!^)(?=[A-Z])", "_", event.value).lower()


#: Every constructor callback name → the event emitted together with it.
CALLBACK_EVENTS: dict[str, RTVIEvent] = {_callback_name(e): e for e in RTVIEvent}
# The JS names that do not follow the event name.
del CALLBACK_EVENTS["on_participant_connected"]
CALLBACK_EVENTS["on_participant_joined"] = RTVIEvent.PARTICIPANT_CONNECTED
del CALLBACK_EVENTS["on_media_state_updated"]
CALLBACK_EVENTS["on_media_state_changed"] = RTVIEvent.MEDIA_STATE_UPDATED

#: The callback fired with each event (inverse of CALLBACK_EVENTS).
EVENT_CALLBACKS: dict[RTVIEvent, str] = {e: name for name, e in CALLBACK_EVENTS.items()}


def snake_callback_name(name: str) -> str:
    """``"onBotReady"`` → ``"on_bot_ready"``; snake_case names are returned unchanged."""
    if "_" in name or name.islower():
        return name
    return (
        re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("l_l_m", "llm").replace("u_i_", "ui_")
    )


def normalize_callbacks(callbacks: Mapping[str, Handler] | object | None) -> dict[str, Handler]:
    """Accept a mapping (snake_case or JS camelCase keys) or any object with ``on_*`` methods.

    Unknown callback names raise ``TypeError`` (a typo would otherwise be silently ignored).
    """
    if callbacks is None:
        return {}
    items: dict[str, Any]
    if isinstance(callbacks, Mapping):
        items = dict(callbacks)
    else:
        items = {
            name: getattr(callbacks, name)
            for name in CALLBACK_EVENTS
            if callable(getattr(callbacks, name, None))
        }
    result: dict[str, Handler] = {}
    for key, value in items.items():
        name = snake_callback_name(key)
        if name not in CALLBACK_EVENTS:
            raise TypeError(f"unknown callback {key!r}")
        if value is None:
            continue
        if not callable(value):
            raise TypeError(f"callback {key!r} is not callable")
        result[name] = value
    return result


def coerce_event(event: RTVIEvent | str) -> RTVIEvent:
    try:
        return RTVIEvent(event)
    except ValueError:
        raise ValueError(f"unknown RTVI event {event!r}") from None


def call_handler(handler: Handler, *args: Any, tasks: set[asyncio.Task[Any]] | None = None) -> None:
    """Call one handler; schedule a returned coroutine; log (never raise) its errors."""
    try:
        result = handler(*args)
    except Exception:
        logger.exception("RTVI callback %r raised", getattr(handler, "__name__", handler))
        return
    if inspect.isawaitable(result):
        task = asyncio.ensure_future(result)
        if tasks is not None:
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        task.add_done_callback(_log_task_error)


def _log_task_error(task: asyncio.Future[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        logger.error("async RTVI callback raised", exc_info=exc)


class EventEmitter:
    """``on/off/once/emit`` keyed by :class:`RTVIEvent`."""

    def __init__(self) -> None:
        self._handlers: dict[RTVIEvent, list[tuple[Handler, bool]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Called after a handler is added or removed (the client tells its transport).
        self.changed: Callable[[], None] = lambda: None

    @overload
    def on(self, event: RTVIEvent | str, handler: None = None) -> Callable[[H], H]: ...

    @overload
    def on(self, event: RTVIEvent | str, handler: H) -> H: ...

    def on(self, event: RTVIEvent | str, handler: Handler | None = None) -> Any:
        """Add a handler; without one, return a decorator: ``@client.on("botReady")``."""
        ev = coerce_event(event)
        if handler is None:

            def decorator(fn: Handler) -> Handler:
                self._handlers.setdefault(ev, []).append((fn, False))
                self.changed()
                return fn

            return decorator
        self._handlers.setdefault(ev, []).append((handler, False))
        self.changed()
        return handler

    def once(self, event: RTVIEvent | str, handler: H) -> H:
        self._handlers.setdefault(coerce_event(event), []).append((handler, True))
        self.changed()
        return handler

    def off(self, event: RTVIEvent | str, handler: Handler | None = None) -> None:
        """Remove one handler (all handlers of the event when ``handler`` is None)."""
        ev = coerce_event(event)
        if handler is None:
            self._handlers.pop(ev, None)
            self.changed()
            return
        entries = self._handlers.get(ev, [])
        for i, (fn, _) in enumerate(entries):
            if fn == handler:
                del entries[i]
                break
        self.changed()

    def remove_all_listeners(self, event: RTVIEvent | str | None = None) -> None:
        if event is None:
            self._handlers.clear()
        else:
            self._handlers.pop(coerce_event(event), None)
        self.changed()

    def listener_count(self, event: RTVIEvent | str) -> int:
        return len(self._handlers.get(coerce_event(event), []))

    def heard_events(self) -> frozenset[RTVIEvent]:
        """The events with at least one handler."""
        return frozenset(event for event, entries in self._handlers.items() if entries)

    def emit(self, event: RTVIEvent | str, *args: Any) -> None:
        ev = coerce_event(event)
        entries = self._handlers.get(ev)
        if not entries:
            return
        for entry in list(entries):
            fn, once = entry
            if once and entry in entries:
                entries.remove(entry)
                self.changed()
            call_handler(fn, *args, tasks=self._tasks)
