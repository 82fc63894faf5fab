"""Inbound routing: what each RTVI message type does, as one table. Pure: no I/O, no asyncio.

A route is an ordered tuple of effects: :class:`Fire` (emit an ``RTVIEvent`` and call its user
callback, with a payload taken from the message) or a :class:`Step` (work the client does
itself: settle the pending request the message answers, complete ``connect()``, run a function
call...). :func:`plan` turns a message into the effects to carry out, in order;
``RTVIClient`` carries them out (:mod:`rtvi.inbound`). A type with no row goes to the helpers,
else to ``on_generic_message``.

A new inbound message type is three edits, because both enums stay written out member by
member (so that mypy sees each one): its wire string in ``messages.MessageType``, its event in
``events.RTVIEvent`` (client-js's name, else the camelCase of the type), and its row in
:data:`ROUTES`, which names both (a name missing from either enum is a mypy error). The callback
name derives from the event. ``tests/unit/test_routing.py`` fails while the three disagree: a
``MessageType`` the bot sends without a row, an event that nothing fires."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .events import EVENT_CALLBACKS, RTVIEvent
from .messages import BotReady, MessageType, RTVIMessage, data_field

#: The message → the arguments a callback receives.
Payload = Callable[[RTVIMessage], tuple[Any, ...]]


def no_args(message: RTVIMessage) -> tuple[Any, ...]:
    return ()


def data(message: RTVIMessage) -> tuple[Any, ...]:
    return (message.data,)


def whole_message(message: RTVIMessage) -> tuple[Any, ...]:
    return (message,)


def key(name: str) -> Payload:
    """The payload ``data[name]`` (``None`` when ``data`` is not an object or lacks it)."""

    def payload(message: RTVIMessage) -> tuple[Any, ...]:
        return (data_field(message.data, name),)

    payload.__name__ = f"key({name!r})"
    return payload


def bot_ready(message: RTVIMessage) -> tuple[Any, ...]:
    """The ``bot-ready`` data, ``{}`` when the bot sent none."""
    return (BotReady.parse(message.data).data,)


@dataclass(frozen=True, slots=True)
class Fire:
    """Call the user callback of ``event`` and emit ``event``, with ``payload(message)`` (by
    default the message's ``data``)."""

    event: RTVIEvent
    payload: Payload = data

    @property
    def callback(self) -> str:
        """The constructor callback fired with the event (``on_bot_ready`` for ``botReady``)."""
        return EVENT_CALLBACKS[self.event]


class Step(StrEnum):
    """Work the client does itself while routing a message."""

    #: Settle the pending request with the message's id (an ``error-response`` fails it).
    SETTLE = "settle"
    #: Record the bot's version and complete a ``connect()`` waiting for ``bot-ready``.
    BOT_READY = "bot-ready"
    #: A fatal ``error`` fails ``connect()`` or ends the session.
    FATAL_ERROR = "fatal-error"
    #: An ``error-response`` "Unsupported type ..." also fires ``on_unsupported_feature``.
    UNSUPPORTED = "unsupported"
    #: Run the function-call handler registered for ``function_name`` (RTVI 1.x arguments).
    FUNCTION_CALL = "function-call"
    #: The same for RTVI 0.x ``llm-function-call`` (``args``); unhandled, it goes to helpers.
    LEGACY_FUNCTION_CALL = "legacy-function-call"
    #: Offer the message to the helpers that claim its type.
    HELPERS = "helpers"
    #: Offer it to the helpers; when none claims it, fire ``on_generic_message(data)``.
    GENERIC = "generic"


Effect = Fire | Step
Route = tuple[Effect, ...]

T = MessageType
E = RTVIEvent

#: Every inbound message type the client understands → what it does, in order.
ROUTES: Mapping[str, Route] = {
    # connect and errors
    T.BOT_READY: (Step.BOT_READY, Fire(E.BOT_READY, bot_ready)),
    T.ERROR: (Fire(E.ERROR, whole_message), Step.FATAL_ERROR),
    T.ERROR_RESPONSE: (Step.SETTLE, Fire(E.MESSAGE_ERROR, whole_message), Step.UNSUPPORTED),
    # replies to requests
    T.CONFIG: (Step.SETTLE, Fire(E.CONFIG, key("config"))),
    T.CONFIG_AVAILABLE: (Step.SETTLE, Fire(E.CONFIG_DESCRIBE)),
    T.ACTIONS_AVAILABLE: (Step.SETTLE, Fire(E.ACTIONS_AVAILABLE)),
    T.ACTION_RESPONSE: (Step.SETTLE,),
    T.APPEND_TO_CONTEXT_RESULT: (Step.SETTLE,),
    T.SERVER_RESPONSE: (Step.SETTLE, Fire(E.SERVER_RESPONSE)),
    # speaking and muting
    T.USER_STARTED_SPEAKING: (Fire(E.USER_STARTED_SPEAKING, no_args),),
    T.USER_STOPPED_SPEAKING: (Fire(E.USER_STOPPED_SPEAKING, no_args),),
    T.BOT_STARTED_SPEAKING: (Fire(E.BOT_STARTED_SPEAKING, no_args),),
    T.BOT_STOPPED_SPEAKING: (Fire(E.BOT_STOPPED_SPEAKING, no_args),),
    T.USER_MUTE_STARTED: (Fire(E.USER_MUTE_STARTED, no_args),),
    T.USER_MUTE_STOPPED: (Fire(E.USER_MUTE_STOPPED, no_args),),
    # transcripts and text
    T.USER_TRANSCRIPTION: (Fire(E.USER_TRANSCRIPT),),
    T.BOT_TRANSCRIPTION: (Fire(E.BOT_TRANSCRIPT),),
    T.BOT_OUTPUT: (Fire(E.BOT_OUTPUT),),
    T.USER_LLM_TEXT: (Fire(E.USER_LLM_TEXT),),
    T.BOT_LLM_TEXT: (Fire(E.BOT_LLM_TEXT), Fire(E.BOT_TEXT)),  # on_bot_text: 0.2 alias
    T.BOT_LLM_STARTED: (Fire(E.BOT_LLM_STARTED, no_args),),
    T.BOT_LLM_STOPPED: (Fire(E.BOT_LLM_STOPPED, no_args),),
    T.BOT_TTS_TEXT: (Fire(E.BOT_TTS_TEXT),),
    T.BOT_TTS_STARTED: (Fire(E.BOT_TTS_STARTED, no_args),),
    T.BOT_TTS_STOPPED: (Fire(E.BOT_TTS_STOPPED, no_args),),
    T.BOT_LLM_SEARCH_RESPONSE: (Fire(E.BOT_LLM_SEARCH_RESPONSE),),
    # service events
    T.METRICS: (Fire(E.METRICS),),
    T.SERVER_MESSAGE: (Fire(E.SERVER_MESSAGE),),
    T.STORAGE_ITEM_STORED: (Fire(E.STORAGE_ITEM_STORED),),
    T.UI_COMMAND: (Fire(E.UI_COMMAND),),
    T.UI_JOB_GROUP: (Fire(E.UI_JOB_GROUP),),
    T.SYSTEM_LOG: (Fire(E.SYSTEM_LOG, key("text")),),
    # RTVI 2.x (pipecat 1.14): what the user said or typed, raw VAD, interruptions
    T.USER_INPUT: (Fire(E.USER_INPUT),),
    T.VAD_USER_STARTED_SPEAKING: (Fire(E.VAD_USER_STARTED_SPEAKING, no_args),),
    T.VAD_USER_STOPPED_SPEAKING: (Fire(E.VAD_USER_STOPPED_SPEAKING, no_args),),
    T.BOT_INTERRUPTED: (Fire(E.BOT_INTERRUPTED, no_args),),
    # RTVI 2.x: raw pipeline text and audio, as each service produced it
    T.STT_RAW_TEXT: (Fire(E.STT_RAW_TEXT),),
    T.LLM_RAW_TEXT: (Fire(E.LLM_RAW_TEXT),),
    T.TTS_RAW_TEXT: (Fire(E.TTS_RAW_TEXT),),
    T.BOT_LLM_MARKER: (Fire(E.BOT_LLM_MARKER),),
    T.BOT_TTS_AUDIO: (Fire(E.BOT_TTS_AUDIO),),
    T.USER_AUDIO_LEVEL: (Fire(E.USER_AUDIO_LEVEL, key("value")),),
    T.BOT_AUDIO_LEVEL: (Fire(E.BOT_AUDIO_LEVEL, key("value")),),
    # function calls: RTVI 1.x
    T.LLM_FUNCTION_CALL_STARTED: (Fire(E.LLM_FUNCTION_CALL_STARTED),),
    T.LLM_FUNCTION_CALL_IN_PROGRESS: (
        Fire(E.LLM_FUNCTION_CALL_IN_PROGRESS),
        Step.FUNCTION_CALL,
    ),
    T.LLM_FUNCTION_CALL_STOPPED: (Fire(E.LLM_FUNCTION_CALL_STOPPED),),
    # function calls and JSON completions: RTVI 0.x (also handled by LLMHelper)
    T.LLM_FUNCTION_CALL: (Fire(E.LLM_FUNCTION_CALL), Step.LEGACY_FUNCTION_CALL),
    T.LLM_FUNCTION_CALL_START: (
        Fire(E.LLM_FUNCTION_CALL_START, key("function_name")),
        Step.HELPERS,
    ),
    T.LLM_JSON_COMPLETION: (Fire(E.LLM_JSON_COMPLETION), Step.HELPERS),
}

#: What a type without a row does.
UNKNOWN_ROUTE: Route = (Step.GENERIC,)

del T, E


def route(msg_type: str) -> Route:
    """The effects of an inbound message of type ``msg_type``, in order."""
    return ROUTES.get(msg_type, UNKNOWN_ROUTE)


def quiet_types(unheard: Collection[RTVIEvent]) -> frozenset[str]:
    """The message types that would do nothing: every effect of their route fires one of the
    ``unheard`` events (no callback or handler listens to them). A transport may drop them."""
    return frozenset(
        msg_type
        for msg_type, effects in ROUTES.items()
        if all(isinstance(effect, Fire) and effect.event in unheard for effect in effects)
    )


def settles(msg_type: str) -> bool:
    """Whether a message of this type answers a pending request with the same id."""
    return Step.SETTLE in route(msg_type)


@dataclass(frozen=True, slots=True)
class Call:
    """One callback to call, with its arguments (a :class:`Fire` applied to a message)."""

    callback: str
    args: tuple[Any, ...]


def plan(message: RTVIMessage) -> list[Call | Step]:
    """The effects of ``message``, in order, with every callback's arguments worked out."""
    return [
        Call(effect.callback, effect.payload(message)) if isinstance(effect, Fire) else effect
        for effect in route(message.type)
    ]
