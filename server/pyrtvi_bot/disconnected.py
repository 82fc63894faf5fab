"""Disconnected actions (realtime-ai's HTTP `/action`): run actions with no WebRTC session and
stream what happens as RTVI messages (pure Python, no pipecat).

The stream is what `RTVIClient.action()` parses when it is not connected (PROTOCOL §1.8): an SSE
body whose events are each one `data: <base64 of one RTVI JSON envelope>` line and a blank line.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from pyrtvi_bot import actions, rules
from pyrtvi_bot.state import BotSettings

LABEL = "rtvi-ai"
#: Seconds between streamed tokens, as in the live pipeline.
TOKEN_DELAY = 0.02
MAX_ACTIONS = 16


class RequestError(ValueError):
    """A malformed `/action` body (answered with HTTP 400)."""


@dataclass(frozen=True)
class ActionCall:
    id: str
    service: str
    action: str
    arguments: dict[str, Any]


def envelope(kind: str, data: Any = None, msg_id: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"label": LABEL, "type": kind}
    if msg_id is not None:
        message["id"] = msg_id
    if data is not None:
        message["data"] = data
    return message


def sse_event(message: dict[str, Any]) -> bytes:
    payload = base64.b64encode(json.dumps(message, separators=(",", ":")).encode())
    return b"data: " + payload + b"\n\n"


def parse_actions(body: Any) -> list[tuple[str, dict[str, Any]]]:
    """The `(id, data)` of each action envelope in `{..., actions: [...]}`; RequestError if bad.

    The argument list itself is checked when the action runs (an `error-response` then)."""
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object with an 'actions' list")
    items = body.get("actions")
    if not isinstance(items, list) or not items:
        raise RequestError("'actions' must be a non-empty list of RTVI action messages")
    if len(items) > MAX_ACTIONS:
        raise RequestError(f"too many actions in one request ({len(items)} > {MAX_ACTIONS})")
    parsed = []
    for i, item in enumerate(items):
        where = f"actions[{i}]"
        if not isinstance(item, dict):
            raise RequestError(f"{where} must be an object")
        if item.get("type") != "action":
            raise RequestError(f"{where}.type must be 'action'")
        if item.get("label", LABEL) != LABEL:
            raise RequestError(f"{where}.label must be {LABEL!r}")
        msg_id = item.get("id")
        if not isinstance(msg_id, str) or not msg_id or len(msg_id) > 256:
            raise RequestError(f"{where}.id must be a non-empty string")
        data = item.get("data")
        if not isinstance(data, dict):
            raise RequestError(f"{where}.data must be an object")
        for key in ("service", "action"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise RequestError(f"{where}.data.{key} must be a non-empty string")
        parsed.append((msg_id, data))
    return parsed


class DisconnectedConversation:
    """An `actions.Assistant` with no audio: its LLM runs stream text events to `emit`."""

    def __init__(self, settings: BotSettings, token_delay: float = TOKEN_DELAY) -> None:
        self.settings = settings
        self.messages: list[dict[str, Any]] = list(settings.messages)
        self.token_delay = token_delay
        self.emit: Callable[[dict[str, Any]], None] = lambda message: None
        self.lock = asyncio.Lock()

    def get_messages(self) -> list[dict[str, Any]]:
        return list(self.messages)

    def set_messages(self, messages: list[dict[str, Any]]) -> None:
        self.messages = list(messages)

    def add_messages(self, messages: list[dict[str, Any]]) -> None:
        self.messages.extend(messages)

    async def run_llm(self, interrupt: bool) -> None:
        text = rules.reply(self.messages, self.settings.model)
        self.emit(envelope("bot-llm-started"))
        for token in rules.tokens(text):
            self.emit(envelope("bot-llm-text", {"text": token}))
            await asyncio.sleep(self.token_delay)
        self.emit(envelope("bot-llm-stopped"))
        self.emit(envelope("bot-transcription", {"text": text}))
        self.messages.append({"role": "assistant", "content": text})

    async def say(self, text: str, interrupt: bool, save_in_context: bool) -> None:
        raise actions.ActionError(
            "tts:say needs a connected session: a disconnected action has no audio path"
        )

    async def interrupt(self) -> None:
        """Nothing is ever speaking here."""


async def stream_actions(
    conversation: DisconnectedConversation, calls: list[tuple[str, dict[str, Any]]]
) -> AsyncIterator[bytes]:
    """SSE events for running `calls` in order: streamed messages, then each action's answer."""
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def work() -> None:
        try:
            async with conversation.lock:
                conversation.emit = queue.put_nowait
                for msg_id, data in calls:
                    try:
                        args = actions.arguments_dict(data.get("arguments"))
                        result = await actions.run_action(
                            conversation, data["service"], data["action"], args
                        )
                    except actions.ActionError as exc:
                        queue.put_nowait(envelope("error-response", {"error": str(exc)}, msg_id))
                    except Exception as exc:  # a bug: still answer, or the client waits forever
                        error = {"error": f"internal error: {exc!r}"}
                        queue.put_nowait(envelope("error-response", error, msg_id))
                    else:
                        queue.put_nowait(envelope("action-response", {"result": result}, msg_id))
        finally:
            conversation.emit = lambda message: None
            queue.put_nowait(None)

    task = asyncio.create_task(work())
    try:
        while (message := await queue.get()) is not None:
            yield sse_event(message)
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
