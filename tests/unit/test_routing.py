"""The routing table: each inbound type's callbacks, payload, settling and client steps, in order."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from rtvi import CALLBACK_EVENTS, MessageType, RTVIEvent, RTVIMessage
from rtvi import routing as r
from rtvi.client_callbacks import ClientTransportCallbacks
from rtvi.routing import Call, Step

# message type → data → the effects expected, in order
PLANS: list[tuple[str, Any, list[Call | Step]]] = [
    (
        "bot-ready",
        {"version": "1.0.0"},
        [Step.BOT_READY, Call("on_bot_ready", ({"version": "1.0.0"},))],
    ),
    ("bot-ready", None, [Step.BOT_READY, Call("on_bot_ready", ({},))]),
    ("error", {"error": "x"}, [Call("on_error", ("MESSAGE",)), Step.FATAL_ERROR]),
    (
        "error-response",
        {"error": "nope"},
        [Step.SETTLE, Call("on_message_error", ("MESSAGE",)), Step.UNSUPPORTED],
    ),
    ("config", {"config": [1]}, [Step.SETTLE, Call("on_config", ([1],))]),
    ("config", ["not", "an", "object"], [Step.SETTLE, Call("on_config", (None,))]),
    (
        "config-available",
        {"config": []},
        [Step.SETTLE, Call("on_config_describe", ({"config": []},))],
    ),
    ("actions-available", {"a": 1}, [Step.SETTLE, Call("on_actions_available", ({"a": 1},))]),
    ("action-response", {"result": 1}, [Step.SETTLE]),
    ("append-to-context-result", {"result": 1}, [Step.SETTLE]),
    (
        "server-response",
        {"t": "x", "d": 1},
        [Step.SETTLE, Call("on_server_response", ({"t": "x", "d": 1},))],
    ),
    ("user-started-speaking", {"ignored": 1}, [Call("on_user_started_speaking", ())]),
    ("bot-tts-stopped", None, [Call("on_bot_tts_stopped", ())]),
    ("user-transcription", {"text": "hi"}, [Call("on_user_transcript", ({"text": "hi"},))]),
    (
        "bot-llm-text",
        {"text": "t"},
        [Call("on_bot_llm_text", ({"text": "t"},)), Call("on_bot_text", ({"text": "t"},))],
    ),
    ("metrics", {"ttfb": []}, [Call("on_metrics", ({"ttfb": []},))]),
    ("ui-command", {"c": 1}, [Call("on_ui_command", ({"c": 1},))]),
    (
        "llm-function-call-in-progress",
        {"function_name": "f"},
        [Call("on_llm_function_call_in_progress", ({"function_name": "f"},)), Step.FUNCTION_CALL],
    ),
    (
        "llm-function-call",
        {"function_name": "f"},
        [Call("on_llm_function_call", ({"function_name": "f"},)), Step.LEGACY_FUNCTION_CALL],
    ),
    (
        "llm-function-call-start",
        {"function_name": "f"},
        [Call("on_llm_function_call_start", ("f",)), Step.HELPERS],
    ),
    (
        "llm-function-call-start",
        "junk",
        [Call("on_llm_function_call_start", (None,)), Step.HELPERS],
    ),
    (
        "llm-json-completion",
        '{"a":1}',
        [Call("on_llm_json_completion", ('{"a":1}',)), Step.HELPERS],
    ),
    ("some-future-type", {"x": 1}, [Step.GENERIC]),
    ("config-error", {"error": "x"}, [Step.GENERIC]),  # declared, never routed (as in JS 0.2)
]


@pytest.mark.parametrize(("msg_type", "data", "expected"), PLANS)
def test_plan(msg_type: str, data: Any, expected: list[Call | Step]) -> None:
    message = RTVIMessage(msg_type, data, id="m1")
    # "MESSAGE" stands for the message itself
    want = [
        Call(e.callback, tuple(message if a == "MESSAGE" else a for a in e.args))
        if isinstance(e, Call)
        else e
        for e in expected
    ]
    assert r.plan(message) == want


def test_every_callback_in_the_table_exists() -> None:
    for msg_type, route in r.ROUTES.items():
        for effect in route:
            if isinstance(effect, r.Fire):
                assert effect.callback in CALLBACK_EVENTS, (msg_type, effect.callback)


def test_replies_settle_and_events_do_not() -> None:
    replies = {
        MessageType.ERROR_RESPONSE,
        MessageType.CONFIG,
        MessageType.CONFIG_AVAILABLE,
        MessageType.ACTIONS_AVAILABLE,
        MessageType.ACTION_RESPONSE,
        MessageType.APPEND_TO_CONTEXT_RESULT,
        MessageType.SERVER_RESPONSE,
    }
    assert {t for t in r.ROUTES if r.settles(t)} == replies
    assert not r.settles("bot-ready") and not r.settles("some-future-type")


def test_settling_comes_first() -> None:
    """A reply settles its request before any callback runs (the awaiting code sees it first)."""
    for route in r.ROUTES.values():
        if Step.SETTLE in route:
            assert route[0] is Step.SETTLE


def test_bot_to_client_types_have_a_row() -> None:
    client_to_bot = {
        "client-ready",
        "disconnect-bot",
        "get-config",
        "update-config",
        "describe-config",
        "describe-actions",
        "action",
        "llm-function-call-result",
        "client-message",
        "send-text",
        "append-to-context",
        "send-file",
        "dtmf",
        "ui-event",
        "ui-snapshot",
        "ui-cancel-job-group",
    }
    unrouted = {str(t) for t in MessageType} - client_to_bot - set(r.ROUTES)
    assert unrouted == {"config-error"}


def test_unknown_type_is_generic() -> None:
    assert r.route("x-y-z") == r.UNKNOWN_ROUTE == (Step.GENERIC,)


def test_routing_is_pure() -> None:
    tree = ast.parse(Path(r.__file__).read_text())
    imported = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    } | {
        (n.module or "").split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.level == 0
    }
    assert imported <= {"__future__", "collections", "dataclasses", "enum", "typing"}


# --- the three places of a message type agree ----------------------------------------------------

#: Events the client fires itself, not from a route nor a transport report.
CLIENT_FIRED = {
    RTVIEvent.BOT_STARTED,  # the connect or start request answered
    RTVIEvent.TRANSPORT_STATE_CHANGED,  # the client's own handler of the transport's report
    RTVIEvent.MESSAGE_ERROR,  # also for malformed inbound data
    RTVIEvent.GENERIC_MESSAGE,  # a type no route and no helper claims
    RTVIEvent.UNSUPPORTED_FEATURE,  # an error-response "Unsupported type"
    RTVIEvent.CONFIG_UPDATED,  # update_config() succeeded
    RTVIEvent.MEDIA_STATE_UPDATED,  # declared for client-js parity, never fired
}


def test_every_row_is_a_message_type() -> None:
    assert set(r.ROUTES) <= set(MessageType)
    assert all(isinstance(t, MessageType) for t in r.ROUTES)


def test_every_event_is_fired_by_something() -> None:
    """An event added for a new message type without its row in ROUTES fails here."""
    routed = {e.event for route in r.ROUTES.values() for e in route if isinstance(e, r.Fire)}
    reported = {
        CALLBACK_EVENTS[name]
        for name in vars(ClientTransportCallbacks)
        if name in CALLBACK_EVENTS and name != "on_error"
    }
    assert set(RTVIEvent) - routed - reported - CLIENT_FIRED == set()


def test_an_event_named_after_its_type_is_fired_by_that_type() -> None:
    """The camelCase of a wire type, where it names an event, is the event its row fires."""
    for msg_type, route in r.ROUTES.items():
        camel = re.sub(r"-(\w)", lambda m: m.group(1).upper(), str(msg_type))
        if camel in set(RTVIEvent):
            fired = {e.event for e in route if isinstance(e, r.Fire)}
            assert RTVIEvent(camel) in fired, msg_type


def test_a_callback_derives_from_its_event() -> None:
    assert r.Fire(RTVIEvent.BOT_TEXT).callback == "on_bot_text"
    assert r.Fire(RTVIEvent.PARTICIPANT_CONNECTED).callback == "on_participant_joined"


def test_quiet_types_are_the_routes_of_events_nobody_listens_to() -> None:
    quiet = r.quiet_types(set(RTVIEvent))  # nobody listens
    assert {"bot-llm-text", "metrics", "bot-transcription", "bot-output"} <= quiet
    # Work of the client's own (settling, bot-ready, errors, function calls, helpers): never.
    assert not quiet & {
        "bot-ready",
        "error",
        "error-response",
        "server-response",
        "action-response",
    }
    assert not quiet & {"llm-function-call", "llm-function-call-in-progress", "llm-json-completion"}
    assert "some-unknown-type" not in quiet  # helpers or on_generic_message
    # One listened event of a route is enough: bot-llm-text fires botLlmText and botText.
    heard = r.quiet_types(set(RTVIEvent) - {RTVIEvent.BOT_TEXT})
    assert quiet - heard == {"bot-llm-text"}
