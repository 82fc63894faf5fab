"""Pure helpers over an RTVI configuration: ``[{"service": str, "options": [{"name", "value"}]}]``.

They never mutate their input: setters return a deep copy (apply it with ``update_config``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict


class ConfigOption(TypedDict):
    name: str
    value: Any


class ServiceConfig(TypedDict):
    service: str
    options: list[ConfigOption]


Config = list[ServiceConfig]


def _check_config(config: Any) -> None:
    if not isinstance(config, list):
        raise TypeError(f"config must be a list of service entries, got {type(config).__name__}")


def get_service_options(config: Sequence[Mapping[str, Any]], service: str) -> Any | None:
    """The ``{service, options}`` entry for ``service`` or ``None``."""
    _check_config(config)
    for entry in config:
        if isinstance(entry, Mapping) and entry.get("service") == service:
            return entry
    return None


def get_service_option_value(
    config: Sequence[Mapping[str, Any]], service: str, option: str
) -> Any | None:
    """The ``value`` of one option of one service, or ``None``."""
    entry = get_service_options(config, service)
    if entry is None:
        return None
    for item in entry.get("options") or []:
        if isinstance(item, Mapping) and item.get("name") == option:
            return item.get("value")
    return None


def set_service_option(
    config: Sequence[Mapping[str, Any]],
    service: str,
    option: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> list[Any]:
    """A copy of ``config`` with the option(s) of ``service`` replaced by name or appended.

    As in the JS client, a service that is absent from the config is left absent.
    """
    _check_config(config)
    new_config: list[Any] = copy.deepcopy(list(config))
    options = [option] if isinstance(option, Mapping) else list(option)
    for opt in options:
        if not isinstance(opt, Mapping) or "name" not in opt:
            raise TypeError(f"a config option needs a 'name', got {opt!r}")
    for entry in new_config:
        if isinstance(entry, dict) and entry.get("service") == service:
            current = entry.setdefault("options", [])
            for opt in options:
                new_opt = copy.deepcopy(dict(opt))
                for i, existing in enumerate(current):
                    if isinstance(existing, Mapping) and existing.get("name") == opt["name"]:
                        current[i] = new_opt
                        break
                else:
                    current.append(new_opt)
            break
    return new_config


def set_config_options(
    config: Sequence[Mapping[str, Any]], config_options: Sequence[Mapping[str, Any]]
) -> list[Any]:
    """Apply ``[{service, options}, ...]`` to a copy of ``config`` (see :func:`set_service_option`)."""
    new_config: list[Any] = copy.deepcopy(list(config))
    for entry in config_options:
        if not isinstance(entry, Mapping) or "service" not in entry:
            raise TypeError(f"a config entry needs a 'service', got {entry!r}")
        new_config = set_service_option(new_config, entry["service"], entry.get("options") or [])
    return new_config
