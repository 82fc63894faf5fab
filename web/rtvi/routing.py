"""Inbound routing: what each RTVI message type does, as one table. Pure: no I/O, no asyncio.

A route is an ordered tuple of effects: :class:`Fire` (call a user callback, which also emits
its ``RTVIEvent``, with a payload taken from the message) or a :class:`Step` (work the
client does itself: settle the pending request the message answers, complete ``connect()``,
run a function call...). :func:`plan` turns a message into the effects to carry out, in order;
``RTVIClient`` carries them out.

To support a new message type, add a row to :data:`ROUTES` (and its callback to
``events.RTVIEvent``); a type with no row goes to the helpers, else to ``on_generic_message``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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
    """Call the user callback ``callback`` (and emit its event) with ``payload(message)``
    (by default the message's ``data``)."""

    callback: str
    payload: Payload = data


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

#: Every inbound message type the client understands → what it does, in order.
ROUTES: Mapping[str, Route] = {
    # connect and errors
    T.BOT_READY: (Step.BOT_READY, Fire("on_bot_ready", bot_ready)),
    T.ERROR: (Fire("on_error", whole_message), Step.FATAL_ERROR),
    T.ERROR_RESPONSE: (Step.SETTLE, Fire("on_message_error", whole_message), Step.UNSUPPORTED),
    # replies to requests
    T.CONFIG: (Step.SETTLE, Fire("on_config", key("config"))),
    T.CONFIG_AVAILABLE: (Step.SETTLE, Fire("on_config_describe")),
    T.ACTIONS_AVAILABLE: (Step.SETTLE, Fire("on_actions_available")),
    T.ACTION_RESPONSE: (Step.SETTLE,),
    T.APPEND_TO_CONTEXT_RESULT: (Step.SETTLE,),
    T.SERVER_RESPONSE: (Step.SETTLE, Fire("on_server_response")),
    # speaking and muting
    T.USER_STARTED_SPEAKING: (Fire("on_user_started_speaking", no_args),),
    T.USER_STOPPED_SPEAKING: (Fire("on_user_stopped_speaking", no_args),),
    T.BOT_STARTED_SPEAKING: (Fire("on_bot_started_speaking", no_args),),
    T.BOT_STOPPED_SPEAKING: (Fire("on_bot_stopped_speaking", no_args),),
    T.USER_MUTE_STARTED: (Fire("on_user_mute_started", no_args),),
    T.USER_MUTE_STOPPED: (Fire("on_user_mute_stopped", no_args),),
    # transcripts and text
    T.USER_TRANSCRIPTION: (Fire("on_user_transcript"),),
    T.BOT_TRANSCRIPTION: (Fire("on_bot_transcript"),),
    T.BOT_OUTPUT: (Fire("on_bot_output"),),
    T.USER_LLM_TEXT: (Fire("on_user_llm_text"),),
    T.BOT_LLM_TEXT: (Fire("on_bot_llm_text"), Fire("on_bot_text")),  # on_bot_text: 0.2 alias
    T.BOT_LLM_STARTED: (Fire("on_bot_llm_started", no_args),),
    T.BOT_LLM_STOPPED: (Fire("on_bot_llm_stopped", no_args),),
    T.BOT_TTS_TEXT: (Fire("on_bot_tts_text"),),
    T.BOT_TTS_STARTED: (Fire("on_bot_tts_started", no_args),),
    T.BOT_TTS_STOPPED: (Fire("on_bot_tts_stopped", no_args),),
    T.BOT_LLM_SEARCH_RESPONSE: (Fire("on_bot_llm_search_response"),),
    # service events
    T.METRICS: (Fire("on_metrics"),),
    T.SERVER_MESSAGE: (Fire("on_server_message"),),
    T.STORAGE_ITEM_STORED: (Fire("on_storage_item_stored"),),
    T.UI_COMMAND: (Fire("on_ui_command"),),
    T.UI_JOB_GROUP: (Fire("on_ui_job_group"),),
    T.SYSTEM_LOG: (Fire("on_system_log", key("text")),),
    # RTVI 2.x (pipecat 1.14): what the user said or typed, raw VAD, interruptions
    T.USER_INPUT: (Fire("on_user_input"),),
    T.VAD_USER_STARTED_SPEAKING: (Fire("on_vad_user_started_speaking", no_args),),
    T.VAD_USER_STOPPED_SPEAKING: (Fire("on_vad_user_stopped_speaking", no_args),),
    T.BOT_INTERRUPTED: (Fire("on_bot_interrupted", no_args),),
    # RTVI 2.x: raw pipeline text and audio, as each service produced it
    T.STT_RAW_TEXT: (Fire("on_stt_raw_text"),),
    T.LLM_RAW_TEXT: (Fire("on_llm_raw_text"),),
    T.TTS_RAW_TEXT: (Fire("on_tts_raw_text"),),
    T.BOT_LLM_MARKER: (Fire("on_bot_llm_marker"),),
    T.BOT_TTS_AUDIO: (Fire("on_bot_tts_audio"),),
    T.USER_AUDIO_LEVEL: (Fire("on_user_audio_level", key("value")),),
    T.BOT_AUDIO_LEVEL: (Fire("on_bot_audio_level", key("value")),),
    # function calls: RTVI 1.x
    T.LLM_FUNCTION_CALL_STARTED: (Fire("on_llm_function_call_started"),),
    T.LLM_FUNCTION_CALL_IN_PROGRESS: (
        Fire("on_llm_function_call_in_progress"),
        Step.FUNCTION_CALL,
    ),
    T.LLM_FUNCTION_CALL_STOPPED: (Fire("on_llm_function_call_stopped"),),
    # function calls and JSON completions: RTVI 0.x (also handled by LLMHelper)
    T.LLM_FUNCTION_CALL: (Fire("on_llm_function_call"), Step.LEGACY_FUNCTION_CALL),
    T.LLM_FUNCTION_CALL_START: (
        Fire("on_llm_function_call_start", key("function_name")),
        Step.HELPERS,
    ),
    T.LLM_JSON_COMPLETION: (Fire("on_llm_json_completion"), Step.HELPERS),
}

#: What a type without a row does.
UNKNOWN_ROUTE: Route = (Step.GENERIC,)

del T


def route(msg_type: str) -> Route:
    """The effects of an inbound message of type ``msg_type``, in order."""
    return ROUTES.get(msg_type, UNKNOWN_ROUTE)


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
