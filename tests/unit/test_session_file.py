"""The console's session file and event log filter (web/app/pyrtvi_page/session_file.py) and the
transcript's part of the file (transcript.py), in CPython."""

from __future__ import annotations

import json
import math

import pytest
from pyrtvi_page import session_file as sf
from pyrtvi_page.transcript import Transcript, turn_to_json, turns_from_json

# --- secrets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "authorization",
        "X-Api-Key",
        "api_key",
        "apiKey",
        "OPENAI_API_KEY",
        "privateKey",
        "key",
        "token",
        "access_token",
        "accessToken",
        "refresh-token",
        "password",
        "client_secret",
        "Cookie",
        "Set-Cookie",
        "credential",
        "x-auth",
        "signature",
    ],
)
def test_secret_names(name: str) -> None:
    assert sf.is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "keyboard",
        "monkey",
        "author",
        "authenticating",
        "text",
        "t_ms",
        "t",
        "name",
        "value",
        "session_id",
        "voice",
        "",
    ],
)
def test_names_that_are_not_secrets(name: str) -> None:
    assert not sf.is_secret_name(name)


def test_redact_strips_secret_fields_pairs_values_and_query_params() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghij"
    request = {
        "endpoint": "https://bots.example/start?room=a&token=abc123&api_key=zz#t=xyz",
        "headers": {"Authorization": "Bearer sk-abcdefABCDEF123456", "Content-Type": "json"},
        "requestData": {
            "openai_api_key": "sk-proj-0123456789abcdefghij",
            "services": {"llm": "openai"},
            "nested": [{"password": "hunter2"}, {"note": "key sk-0123456789abcdefghijkl here"}],
            "empty_token": "",
        },
        "config": [{"name": "api_key", "value": "xyz"}, {"name": "voice", "value": "en"}],
        "log": f"sent {jwt} and Token 0123456789abcdef",
        "usage": {"prompt_tokens": 12, "completion_tokens": 30},
        "nan": math.nan,
    }
    out = sf.redact(request)
    text = json.dumps(out)
    for secret in ("abc123", "zz", "xyz", "sk-", "hunter2", jwt, "0123456789abcdef"):
        assert secret not in text, secret
    assert out["endpoint"] == (
        "https://bots.example/start?room=a&token=[redacted]&api_key=[redacted]#t=[redacted]"
    )
    assert out["headers"] == {"Authorization": "[redacted]", "Content-Type": "json"}
    assert out["requestData"]["services"] == {"llm": "openai"}
    assert out["requestData"]["empty_token"] == ""
    assert out["config"] == [
        {"name": "api_key", "value": "[redacted]"},
        {"name": "voice", "value": "en"},
    ]
    assert out["usage"] == {"prompt_tokens": 12, "completion_tokens": 30}
    assert out["nan"] is None
    assert json.dumps(request).count("Bearer") == 1  # the input is untouched


def test_redact_strips_a_urls_user_and_password() -> None:
    assert sf.redact_text("wss://bob:hunter2@bots.example/ws and mailto:a@b") == (
        "wss://[redacted]@bots.example/ws and mailto:a@b"
    )


def test_redact_keeps_ordinary_text() -> None:
    text = "Basic English please, the token count is 12 and the key idea is speed"
    assert sf.redact_text(text) == text
    assert sf.redact({"text": "You said: hi"}) == {"text": "You said: hi"}


# --- entries and the filter -----------------------------------------------------------------------


def test_entry_round_trip_and_json_text() -> None:
    entry = sf.LogEntry("botReady", "event", 1234.56, 12.34, 1.7e12, {"version": "1.2.0"})
    back = sf.LogEntry.from_json(json.loads(json.dumps(entry.to_json())))
    assert back == sf.LogEntry("botReady", "event", 1234.6, 12.3, 1.7e12, {"version": "1.2.0"})
    assert json.loads(entry.json_text())["data"] == {"version": "1.2.0"}


@pytest.mark.parametrize(
    "item",
    [
        "botReady",
        {"kind": "event"},
        {"name": ""},
        {"name": "x", "t_ms": "soon"},
        {"name": "x", "dt_ms": True},
    ],
)
def test_bad_entries_are_refused(item: object) -> None:
    with pytest.raises(sf.SessionFileError):
        sf.LogEntry.from_json(item)


def test_matches_by_type_and_search_words() -> None:
    entry = sf.LogEntry("botLlmText", "event", 0, 0, 0, {"text": "Hello World"})
    assert sf.matches(entry, set(), "")
    assert not sf.matches(entry, {"botLlmText"}, "")
    assert sf.matches(entry, {"botReady"}, "hello")
    assert sf.matches(entry, set(), "  WORLD   llmtext ")
    assert not sf.matches(entry, set(), "hello moon")
    assert sf.matches(sf.LogEntry("connect()", "call", 0, 0, 0), set(), "connect")


def test_hidden_types_are_stored_as_json() -> None:
    assert sf.load_hidden(sf.dump_hidden({"b", "a"})) == {"a", "b"}
    assert sf.dump_hidden({"b", "a"}) == '["a", "b"]'
    for raw in (None, "", "not json", '{"a": 1}', "[1, 2]"):
        assert sf.load_hidden(raw) == frozenset()


# --- the file -------------------------------------------------------------------------------------


def _file(**panels: object) -> str:
    return sf.dump_session(
        sf.build_session(
            {"transport": "webrtc", "server": "http://h/?token=s3cret"},
            panels,
            exported_at_ms=1_796_000_000_123,
        )
    )


def test_build_and_read_a_session() -> None:
    events = [sf.LogEntry("connect()", "call", 0, 0, 1.7e12, {"api_key": "k"}).to_json()]
    text = _file(events=events, transcript=[], latency={"rows": [{"v2v_ms": 812}]})
    document = json.loads(text)
    assert document["format"] == "pyrtvi-session" and document["version"] == sf.VERSION
    assert document["exported_at"] == "2026-11-30T00:53:20.123Z"
    assert "s3cret" not in text and '"k"' not in text
    session = sf.read_session(text)
    assert session.version == 1
    assert session.session["transport"] == "webrtc"
    assert session.events == [
        sf.LogEntry("connect()", "call", 0, 0, 1.7e12, {"api_key": "[redacted]"})
    ]
    assert session.panels["latency"] == {"rows": [{"v2v_ms": 812}]}
    assert sf.file_name(1_796_000_000_123) == "pyrtvi-session-20261130-005320.json"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "not JSON"),
        ("[]", "not a pyrtvi session file"),
        ('{"format": "other", "version": 1}', "not a pyrtvi session file"),
        ('{"format": "pyrtvi-session"}', "no version"),
        ('{"format": "pyrtvi-session", "version": "1"}', "no version"),
        ('{"format": "pyrtvi-session", "version": 2}', "version 2 of the format"),
        ('{"format": "pyrtvi-session", "version": 1, "panels": []}', "not an object"),
        ('{"format": "pyrtvi-session", "version": 1, "panels": {"events": {}}}', "not a list"),
        ('{"format": "pyrtvi-session", "version": 1, "panels": {"events": [{}]}}', "no name"),
    ],
)
def test_bad_files_say_why(text: str, reason: str) -> None:
    with pytest.raises(sf.SessionFileError, match=reason):
        sf.read_session(text)


def test_transcript_round_trip() -> None:
    transcript = Transcript()
    turns = [
        *transcript.typed("hello"),
        *transcript.bot_llm_started(),
        *transcript.bot_llm_text("Hi there."),
        *transcript.bot_tts_text("Hi"),
        *transcript.close(),
    ]
    last = {turn.id: turn for turn in turns}
    data = json.loads(json.dumps([turn_to_json(turn) for turn in last.values()]))
    back = turns_from_json(data)
    assert [(t.role, t.who, t.text, t.final, t.source, t.spoken) for t in back] == [
        ("user", "You (typed)", "hello", True, "", ()),
        ("bot", "Bot", "Hi there.", True, "llm", ("Hi",)),
    ]
    assert [t.id for t in back] == [1, 2]
    bad_ones: list[object] = [{}, [{"role": "moderator"}], [{"role": "bot", "source": "x"}]]
    for bad in bad_ones:
        with pytest.raises(ValueError):
            turns_from_json(bad)


def test_numbers_under_a_secret_name_are_kept() -> None:
    """The connect split's "auth" phase is a duration: kept, where a text under it is not."""
    split = {"split_ms": {"init": 31.2, "auth": 12.5, "ready": 108.1}, "auth": "Bearer x"}
    assert sf.redact(split) == {
        "split_ms": {"init": 31.2, "auth": 12.5, "ready": 108.1},
        "auth": sf.REDACTED,
    }
