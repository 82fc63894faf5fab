"""The stand-in LLM: a small rule set that answers without any network or model.

Pure Python (no pipecat), shared by both bot flavours and the HTTP action endpoint. A reply is a
whole string; `tokens()` cuts it into word-sized pieces so callers can stream it like a real LLM.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

#: The stand-in "models" the llm `model` option accepts.
MODELS = ("rules", "echo")
DEFAULT_MODEL = "rules"

#: Marker the speech-turn processor puts in a user message for a captured (untranscribed) turn.
SPEECH_MARKER = "[speech:"

_JOKE = (
    "Why did the developer go broke? Because he used up all his cache. "
    "Sorry, I only know offline jokes."
)

#: The farewell: after saying it, the bot ends the session (as Pipecat bots end a call).
GOODBYE = "Goodbye! It was nice talking to you."

#: (pattern, reply) pairs, first match wins; matched against the lower-cased user text.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\b(hello|hi|hey|good (morning|afternoon|evening))\b"),
        "Hello! I am the pyrtvi test bot. I run fully offline.",
    ),
    (
        re.compile(r"\b(who are you|your name|what are you)\b"),
        "I am an offline Pipecat bot with a rule-based stand-in language model and an espeak voice.",
    ),
    (
        re.compile(r"\bhelp\b"),
        "Try saying hello, ask me for a joke, or ask me to count to five.",
    ),
    (re.compile(r"\bjoke\b"), _JOKE),
    (re.compile(r"\bcount\b"), "One, two, three, four, five."),
    (re.compile(r"\b(thanks|thank you)\b"), "You are welcome!"),
    (re.compile(r"\b(bye|goodbye)\b"), GOODBYE),
)

#: The one function the stand-in calls: for a weather question, ``get_weather(location)``.
WEATHER_FUNCTION = "get_weather"
_WEATHER = re.compile(r"\bweather\b(?:.*?\bin (?P<city>[a-z]+))?")

_SAY = re.compile(r"^\s*(?:please\s+)?(?:say|repeat after me)[:,]?\s+(?P<text>.+)$", re.I | re.S)


def message_text(message: Any) -> str:
    """The text of an OpenAI-style message (`content` as a string or a list of parts)."""
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def last_user_text(messages: Sequence[Any]) -> str | None:
    """The text of the newest user message, or None when there is none."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message).strip()
    return None


def speech_marker(seconds: float) -> str:
    """The user message standing in for a speech turn nobody could transcribe."""
    return f"{SPEECH_MARKER} {seconds:.1f} s]"


def _speech_seconds(text: str) -> float | None:
    match = re.fullmatch(r"\[speech:\s*([0-9.]+)\s*s\]", text.strip())
    return float(match.group(1)) if match else None


def _ensure_sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def reply(messages: Sequence[Any], model: str = DEFAULT_MODEL) -> str:
    """The stand-in LLM's answer to a conversation (always ends with sentence punctuation)."""
    text = last_user_text(messages)
    if text is None or not text:
        return "Hello! How can I help you today?"
    seconds = _speech_seconds(text)
    if seconds is not None:
        rounded = max(1, round(seconds))
        unit = "second" if rounded == 1 else "seconds"
        return (
            f"I heard you speak for about {rounded} {unit}. "
            "I cannot transcribe speech offline, but type to me and I will answer."
        )
    if model == "echo":
        return _ensure_sentence(text)
    said = _SAY.match(text)
    if said:
        return _ensure_sentence(said.group("text"))
    lowered = text.lower()
    for pattern, answer in _RULES:
        if pattern.search(lowered):
            return answer
    quoted = text if len(text) <= 200 else text[:197] + "..."
    return f'You said: "{quoted}". I am a small offline bot, so that is all I can say.'


def function_call(messages: Sequence[Any]) -> dict[str, Any] | None:
    """The function the stand-in LLM calls before answering the newest user message (the
    arguments of ``get_weather`` for a weather question), or None."""
    text = last_user_text(messages)
    found = _WEATHER.search(text.lower()) if text and not _SAY.match(text) else None
    if found is None:
        return None
    return {"location": (found.group("city") or "paris").capitalize()}


def get_weather(arguments: dict[str, Any]) -> dict[str, Any]:
    """The stand-in's function: a fixed forecast for the asked location."""
    return {"location": arguments.get("location"), "conditions": "sunny", "celsius": 21}


def weather_reply(result: dict[str, Any]) -> str:
    """The answer from ``get_weather``'s result."""
    return f"In {result['location']} it is {result['conditions']}, {result['celsius']} degrees."


def ends_conversation(reply_text: str) -> bool:
    """Whether the bot ends the session after saying `reply_text` (its farewell)."""
    return reply_text == GOODBYE


def tokens(text: str) -> Iterator[str]:
    """Word-sized streaming pieces whose concatenation is exactly `text`."""
    yield from re.findall(r"\s*\S+", text)


def count_tokens(text: str) -> int:
    """How many `tokens()` pieces `text` makes: the stand-in's own token count."""
    return sum(1 for _ in tokens(text))


def token_usage(messages: Sequence[Any], reply_text: str) -> tuple[int, int]:
    """(prompt, completion) tokens of one answer, counted as the stand-in streams them: every
    message's text (plus one token per message for its role, as chat formats spend) and the reply."""
    prompt = sum(1 + count_tokens(message_text(m)) for m in messages)
    return prompt, count_tokens(reply_text)
