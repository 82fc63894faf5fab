"""A conversation's live settings and the RTVI 0.3 config schema the bot offers (pure Python).

The same schema validates `/start`'s `config`, drives the 0.0.108 bot's `describe-config` /
`update-config` handlers and seeds the 1.x bot (which has no config messages) at start.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from pyrtvi_bot import espeak, rules

#: The value types RTVI 0.3 names for config options and action arguments and results.
OptionType = Literal["bool", "number", "string", "array", "object"]

#: service -> option -> RTVI option type.
CONFIG_SCHEMA: dict[str, dict[str, OptionType]] = {
    "llm": {
        "model": "string",
        "messages": "array",
        "initial_messages": "array",
        "run_on_config": "bool",
    },
    "tts": {"voice": "string", "speed": "number"},
}

_ROLES = {"system", "developer", "user", "assistant", "tool"}
MAX_MESSAGES = 200
MAX_CONFIG_ENTRIES = 64


class ConfigError(ValueError):
    """A config entry, option or value the bot cannot accept (message is client-facing)."""


def check_messages(value: Any) -> list[dict[str, Any]]:
    """OpenAI-style messages: a list of `{role, content}` objects; returns a deep copy."""
    if not isinstance(value, list):
        raise ConfigError("messages must be a list of {role, content} objects")
    if len(value) > MAX_MESSAGES:
        raise ConfigError(f"too many messages ({len(value)} > {MAX_MESSAGES})")
    for i, message in enumerate(value):
        if not isinstance(message, dict):
            raise ConfigError(f"messages[{i}] must be an object")
        if message.get("role") not in _ROLES:
            raise ConfigError(f"messages[{i}].role must be one of {sorted(_ROLES)}")
        content = message.get("content")
        if not isinstance(content, str | list) and content is not None:
            raise ConfigError(f"messages[{i}].content must be a string or a list of parts")
    return copy.deepcopy(value)


def check_option(service: str, name: str, value: Any) -> Any:
    """The normalized value of one config option, or ConfigError."""
    options = CONFIG_SCHEMA.get(service)
    if options is None:
        raise ConfigError(
            f"unknown service {service!r} (this bot configures {sorted(CONFIG_SCHEMA)})"
        )
    if name not in options:
        raise ConfigError(f"unknown {service} option {name!r} (known: {sorted(options)})")
    try:
        if service == "llm" and name == "model":
            if value not in rules.MODELS:
                raise ConfigError(f"unknown model {value!r} (the stand-in LLM has {rules.MODELS})")
            return value
        if service == "llm" and name in ("messages", "initial_messages"):
            return check_messages(value)
        if service == "llm" and name == "run_on_config":
            if not isinstance(value, bool):
                raise ConfigError("run_on_config must be true or false")
            return value
        if service == "tts" and name == "voice":
            return espeak.check_voice(value)
        return espeak.check_rate(value)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def check_config(config: Any) -> list[dict[str, Any]]:
    """A whole RTVI config list `[{service, options: [{name, value}]}]`, each value checked."""
    if not isinstance(config, list):
        raise ConfigError("config must be a list of {service, options} objects")
    if len(config) > MAX_CONFIG_ENTRIES:
        raise ConfigError(f"config has too many entries ({len(config)})")
    checked: list[dict[str, Any]] = []
    for i, entry in enumerate(config):
        if not isinstance(entry, dict) or not isinstance(entry.get("service"), str):
            raise ConfigError(f"config[{i}] must be an object with a string 'service'")
        if entry["service"] not in CONFIG_SCHEMA:
            raise ConfigError(
                f"unknown service {entry['service']!r} (this bot configures {sorted(CONFIG_SCHEMA)})"
            )
        options = entry.get("options", [])
        if not isinstance(options, list):
            raise ConfigError(f"config[{i}].options must be a list")
        out: list[dict[str, Any]] = []
        for j, option in enumerate(options):
            if not isinstance(option, dict) or not isinstance(option.get("name"), str):
                raise ConfigError(f"config[{i}].options[{j}] must be an object with a 'name'")
            value = check_option(entry["service"], option["name"], option.get("value"))
            out.append({"name": option["name"], "value": value})
        checked.append({"service": entry["service"], "options": out})
    return checked


@dataclass
class BotSettings:
    """What a conversation's stand-in services read on every turn (changed live by config)."""

    model: str = rules.DEFAULT_MODEL
    voice: str = espeak.DEFAULT_VOICE
    rate: int = espeak.DEFAULT_RATE
    messages: list[dict[str, Any]] = field(default_factory=list)
    run_on_config: bool = False

    def apply(self, service: str, name: str, value: Any) -> None:
        """Set one (already checked) option."""
        if service == "llm" and name == "model":
            self.model = value
        elif service == "llm" and name in ("messages", "initial_messages"):
            self.messages = copy.deepcopy(value)
        elif service == "llm" and name == "run_on_config":
            self.run_on_config = value
        elif service == "tts" and name == "voice":
            self.voice = value
        elif service == "tts" and name == "speed":
            self.rate = value

    @classmethod
    def from_config(cls, config: list[dict[str, Any]]) -> BotSettings:
        settings = cls()
        for entry in config:
            for option in entry["options"]:
                settings.apply(entry["service"], option["name"], option["value"])
        return settings


def describe_config() -> list[dict[str, Any]]:
    """`config-available` data: services and their options; the voice lists its values."""
    described = []
    for service, options in CONFIG_SCHEMA.items():
        items: list[dict[str, Any]] = []
        for name, kind in options.items():
            item: dict[str, Any] = {"name": name, "type": kind}
            if (service, name) == ("tts", "voice"):
                item["values"] = list(espeak.voices())
                item["default"] = espeak.DEFAULT_VOICE
            elif (service, name) == ("llm", "model"):
                item["values"] = list(rules.MODELS)
                item["default"] = rules.DEFAULT_MODEL
            items.append(item)
        described.append({"name": service, "options": items})
    return described


def hidden_options() -> frozenset[tuple[str, str]]:
    """Config options set by the server operator that clients may not read back
    (`PYRTVI_BOT_HIDDEN_CONFIG`, a JSON list of `[service, option]`, set by pyrtvi serve)."""
    try:
        pairs = json.loads(os.environ.get("PYRTVI_BOT_HIDDEN_CONFIG") or "[]")
        return frozenset((str(service), str(name)) for service, name in pairs)
    except (ValueError, TypeError):
        # Malformed: hide everything rather than show what the operator meant to hide.
        return frozenset({("*", "*")})


def redact(config: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`config` with the values of :func:`hidden_options` as null."""
    hidden = hidden_options()
    if not hidden:
        return config
    out = copy.deepcopy(config)
    for entry in out:
        for option in entry.get("options", []):
            if ("*", "*") in hidden or (entry.get("service"), option.get("name")) in hidden:
                option["value"] = None
    return out


def llm_config_hidden() -> bool:
    """Whether the LLM's context holds configuration clients may not read (llm:get_context)."""
    return any(service in ("llm", "*") for service, _ in hidden_options())
