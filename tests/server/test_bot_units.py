"""The bot's pipecat-free pieces, in the main environment: stand-in LLM rules, config schema,
espeak-ng synthesis, actions and the disconnected-action SSE stream."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import pytest
from pyrtvi_bot import actions, espeak, rules
from pyrtvi_bot.disconnected import (
    DisconnectedConversation,
    RequestError,
    parse_actions,
    stream_actions,
)
from pyrtvi_bot.state import BotSettings, ConfigError, check_config, describe_config


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def test_rules_answer_from_the_last_user_message() -> None:
    assert rules.reply([]) == "Hello! How can I help you today?"
    assert rules.reply([user("hi there")]).startswith("Hello!")
    assert rules.reply([user("please say Good night")]) == "Good night."
    assert rules.reply([user("can you count")]) == "One, two, three, four, five."
    assert rules.reply([user("What is love")], model="echo") == "What is love."
    assert rules.reply([user("zzz")]).startswith('You said: "zzz".')
    speech = rules.reply([user(rules.speech_marker(2.6))])
    assert speech.startswith("I heard you speak for about 3 seconds.")
    parts = [{"type": "text", "text": "tell me a"}, {"type": "text", "text": "joke"}]
    assert "cache" in rules.reply([{"role": "user", "content": parts}])
    text = rules.reply([user("hello")])
    pieces = list(rules.tokens(text))
    assert len(pieces) > 3 and "".join(pieces) == text


def test_only_the_farewell_ends_the_conversation() -> None:
    assert rules.ends_conversation(rules.reply([user("ok, bye")]))
    assert rules.ends_conversation(rules.reply([user("Goodbye!")]))
    assert not rules.ends_conversation(rules.reply([user("please say bye")]))
    assert not rules.ends_conversation(rules.reply([user("bye")], model="echo"))
    assert not rules.ends_conversation(rules.reply([user("hello")]))


def test_a_weather_question_calls_get_weather() -> None:
    arguments = rules.function_call([user("What's the weather in Paris?")])
    assert arguments == {"location": "Paris"}
    result = rules.get_weather(arguments)
    assert rules.weather_reply(result) == "In Paris it is sunny, 21 degrees."
    assert rules.function_call([user("hello")]) is None
    assert rules.function_call([user("please say the weather is fine")]) is None


def test_config_is_checked_and_applied() -> None:
    config = check_config(
        [
            {"service": "tts", "options": [{"name": "voice", "value": "en-gb"}]},
            {"service": "llm", "options": [{"name": "model", "value": "echo"}]},
        ]
    )
    settings = BotSettings.from_config(config)
    assert (settings.voice, settings.model) == ("en-gb", "echo")
    bad: list[Any] = [
        {"service": "tts", "options": [{"name": "voice", "value": "xx-nope"}]},
        {"service": "tts", "options": [{"name": "pitch", "value": 3}]},
        {"service": "tts", "options": [{"name": "speed", "value": 5000}]},
        {"service": "video", "options": []},
        {"service": "llm", "options": [{"name": "model", "value": "gpt-9"}]},
        {"service": "llm", "options": [{"name": "messages", "value": [{"role": "god"}]}]},
        {"service": "llm", "options": "nope"},
        "tts",
    ]
    for entry in bad:
        with pytest.raises(ConfigError):
            check_config([entry])
    with pytest.raises(ConfigError):
        check_config({"service": "tts"})
    described = {s["name"]: s for s in describe_config()}
    voice = next(o for o in described["tts"]["options"] if o["name"] == "voice")
    assert "en-us" in voice["values"] and voice["type"] == "string"


def test_espeak_voices_and_synthesis() -> None:
    voices = espeak.voices()
    assert "en-us" in voices and "en-gb" in voices
    assert not any(v.startswith("mb") for v in voices)
    with pytest.raises(ValueError):
        espeak.check_voice("nope")
    with pytest.raises(espeak.EspeakError):
        espeak.parse_wav(b"not a wav")


async def test_espeak_speaks() -> None:
    pcm, rate = await espeak.synthesize("Hello world.", "en-us")
    assert rate == 22050
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    assert len(samples) > rate // 4  # a quarter second or more
    assert max(abs(s) for s in samples) > 1000  # real sound, not silence


class FakeAssistant:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.calls: list[str] = []

    def get_messages(self) -> list[dict[str, Any]]:
        return list(self.messages)

    def set_messages(self, messages: list[dict[str, Any]]) -> None:
        self.messages = list(messages)

    def add_messages(self, messages: list[dict[str, Any]]) -> None:
        self.messages += messages

    async def run_llm(self, interrupt: bool) -> None:
        self.calls.append(f"run {interrupt}")

    async def say(self, text: str, interrupt: bool, save_in_context: bool) -> None:
        self.calls.append(f"say {text} {interrupt} {save_in_context}")

    async def interrupt(self) -> None:
        self.calls.append("interrupt")


async def test_actions() -> None:
    fake = FakeAssistant()
    run = actions.run_action
    assert await run(fake, "llm", "append_to_messages", {"messages": [user("a")]}) is True
    assert fake.calls == []
    await run(fake, "llm", "append_to_messages", {"messages": [user("b")], "run_immediately": True})
    assert fake.calls == ["run True"]  # like send-text: a new run interrupts the bot
    assert await run(fake, "llm", "get_context", {}) == {"messages": [user("a"), user("b")]}
    await run(fake, "llm", "set_context", {"messages": [], "interrupt": True})
    assert fake.messages == [] and fake.calls[-1] == "interrupt"
    await run(fake, "tts", "say", {"text": "hi"})
    assert fake.calls[-1] == "say hi True False"
    bad_calls: list[tuple[str, str, dict[str, Any]]] = [
        ("llm", "nope", {}),
        ("llm", "run", {"interrupt": "yes"}),
        ("llm", "run", {"extra": 1}),
        ("llm", "set_context", {}),
        ("tts", "say", {"text": ""}),
    ]
    for service, name, args in bad_calls:
        with pytest.raises(actions.ActionError):
            await run(fake, service, name, args)
    assert actions.arguments_dict([{"name": "a", "value": 1}]) == {"a": 1}
    with pytest.raises(actions.ActionError):
        actions.arguments_dict([{"value": 1}])


def test_parse_actions_rejects_malformed_bodies() -> None:
    good = {"type": "action", "id": "x", "data": {"service": "llm", "action": "run"}}
    assert parse_actions({"actions": [good]}) == [("x", good["data"])]
    bodies: list[Any] = [
        None,
        [],
        {"actions": []},
        {"actions": [1]},
        {"actions": [{**good, "type": "nope"}]},
        {"actions": [{**good, "id": ""}]},
        {"actions": [{**good, "label": "other"}]},
        {"actions": [{**good, "data": {"service": "llm"}}]},
        {"actions": [good] * 17},
    ]
    for body in bodies:
        with pytest.raises(RequestError):
            parse_actions(body)


async def test_stream_actions_emits_base64_sse_events() -> None:
    conversation = DisconnectedConversation(BotSettings(), token_delay=0)
    calls: list[tuple[str, dict[str, Any]]] = [
        (
            "1",
            {
                "service": "llm",
                "action": "append_to_messages",
                "arguments": [
                    {"name": "messages", "value": [user("count")]},
                    {"name": "run_immediately", "value": True},
                ],
            },
        ),
        ("2", {"service": "tts", "action": "say", "arguments": [{"name": "text", "value": "x"}]}),
        ("3", {"service": "llm", "action": "run", "arguments": "bad"}),
    ]
    events = [event async for event in stream_actions(conversation, calls)]
    messages = []
    for event in events:
        assert event.startswith(b"data: ") and event.endswith(b"\n\n") and event.count(b"\n") == 2
        messages.append(json.loads(base64.b64decode(event[6:-2])))
    types = [m["type"] for m in messages]
    assert types[0] == "bot-llm-started" and "bot-llm-stopped" in types
    text = "".join(m["data"]["text"] for m in messages if m["type"] == "bot-llm-text")
    assert text == "One, two, three, four, five."
    assert [(m["type"], m["id"]) for m in messages if "id" in m] == [
        ("action-response", "1"),
        ("error-response", "2"),
        ("error-response", "3"),
    ]
    assert conversation.messages[-1] == {"role": "assistant", "content": text}


def test_token_usage_counts_the_stand_ins_own_tokens() -> None:
    messages = [{"role": "system", "content": "Be brief."}, user("count")]
    # One token per message for its role, plus its word-sized pieces.
    assert rules.token_usage(messages, "One, two, three, four, five.") == (5, 5)
    assert rules.token_usage([], "") == (0, 0)
    parts = [{"type": "text", "text": "tell me"}, {"type": "text", "text": "a joke"}]
    assert rules.token_usage([{"role": "user", "content": parts}], "Ha.") == (5, 1)
