"""The RTVI 0.3 actions the bot offers, independent of pipecat (pure Python).

The 0.0.108 bot registers them with its RTVIProcessor (actions over the data channel); the HTTP
`/action` endpoint runs them against a disconnected conversation. Both supply an `Assistant`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pyrtvi_bot.state import ConfigError, OptionType, check_messages, llm_config_hidden


class ActionError(ValueError):
    """An unknown action or bad arguments (message is client-facing)."""


class Assistant(Protocol):
    """What actions act on: a conversation's context, its LLM run and its voice."""

    def get_messages(self) -> list[dict[str, Any]]: ...

    def set_messages(self, messages: list[dict[str, Any]]) -> None: ...

    def add_messages(self, messages: list[dict[str, Any]]) -> None: ...

    async def run_llm(self, interrupt: bool) -> None: ...

    async def say(self, text: str, interrupt: bool, save_in_context: bool) -> None: ...

    async def interrupt(self) -> None: ...


@dataclass(frozen=True)
class ActionSpec:
    service: str
    action: str
    arguments: tuple[tuple[str, OptionType], ...]
    result: OptionType

    @property
    def key(self) -> str:
        return f"{self.service}:{self.action}"

    def describe(self) -> dict[str, Any]:
        """The `actions-available` entry."""
        return {
            "service": self.service,
            "action": self.action,
            "arguments": [{"name": n, "type": t} for n, t in self.arguments],
            "result": self.result,
        }


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("llm", "get_context", (), "object"),
    ActionSpec("llm", "set_context", (("messages", "array"), ("interrupt", "bool")), "bool"),
    ActionSpec(
        "llm", "append_to_messages", (("messages", "array"), ("run_immediately", "bool")), "bool"
    ),
    ActionSpec("llm", "run", (("interrupt", "bool"),), "bool"),
    ActionSpec(
        "tts",
        "say",
        (("text", "string"), ("interrupt", "bool"), ("save_in_context", "bool")),
        "bool",
    ),
    ActionSpec("tts", "interrupt", (), "bool"),
)
ACTIONS_BY_KEY = {spec.key: spec for spec in ACTIONS}


def _bool(args: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = args.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ActionError(f"argument {name!r} must be true or false")
    return value


def _messages(args: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "messages" not in args:
        raise ActionError("argument 'messages' is required")
    try:
        return check_messages(args["messages"])
    except ConfigError as exc:
        raise ActionError(str(exc)) from None


def arguments_dict(arguments: Any) -> dict[str, Any]:
    """`[{name, value}]` (the wire form) as a dict; ActionError on a malformed list."""
    if arguments is None:
        return {}
    if not isinstance(arguments, list):
        raise ActionError("arguments must be a list of {name, value} objects")
    out: dict[str, Any] = {}
    for i, arg in enumerate(arguments):
        if not isinstance(arg, dict) or not isinstance(arg.get("name"), str):
            raise ActionError(f"arguments[{i}] must be an object with a string 'name'")
        out[arg["name"]] = arg.get("value")
    return out


async def run_action(
    assistant: Assistant, service: str, action: str, args: Mapping[str, Any]
) -> Any:
    """Perform one action and return its result; ActionError when it cannot be done."""
    key = f"{service}:{action}"
    spec = ACTIONS_BY_KEY.get(key)
    if spec is None:
        raise ActionError(f"Action {key} not registered")
    unknown = set(args) - {name for name, _ in spec.arguments}
    if unknown:
        raise ActionError(f"unknown argument(s) for {key}: {sorted(unknown)}")
    if key == "llm:get_context":
        if llm_config_hidden():
            raise ActionError("llm:get_context would read back server-side configuration")
        return {"messages": assistant.get_messages()}
    if key == "llm:set_context":
        messages = _messages(args)
        interrupt = _bool(args, "interrupt")
        if interrupt:
            await assistant.interrupt()
        assistant.set_messages(messages)
        return True
    if key == "llm:append_to_messages":
        messages = _messages(args)
        run = _bool(args, "run_immediately")
        assistant.add_messages(messages)
        if run:
            await assistant.run_llm(interrupt=True)
        return True
    if key == "llm:run":
        await assistant.run_llm(interrupt=_bool(args, "interrupt"))
        return True
    if key == "tts:say":
        text = args.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ActionError("argument 'text' must be a non-empty string")
        await assistant.say(
            text, _bool(args, "interrupt", True), _bool(args, "save_in_context", False)
        )
        return True
    await assistant.interrupt()  # tts:interrupt
    return True
