"""RTVI 0.x service configuration: ``[{"service": str, "options": [{"name", "value"}]}]``.

Pure helpers over a configuration (they never mutate their input: setters return a deep copy,
to apply with ``update_config``), then :class:`ConfigMethods`, the client's config requests.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from . import messages as m
from .core import ClientCore
from .errors import ConfigUpdateError, ErrorResponse
from .messages import RTVIMessage


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


class ConfigMethods(ClientCore):
    """The client's RTVI 0.x configuration methods (``get-config``, ``update-config``,
    ``describe-config``), the helpers above applied to the bot's current config, and 0.x
    actions (``describe_actions``, ``action``: over the transport, or disconnected over HTTP).

    One group of :class:`~rtvi.client.RTVIClient`'s methods, over the fields and primitives of
    :class:`~rtvi.core.ClientCore`.
    """

    async def get_config(self, timeout: float | None = None) -> list[Any]:
        reply = await self._request(m.get_config(), timeout)
        config = m.data_field(reply.data, "config")
        return config if isinstance(config, list) else []

    async def update_config(
        self,
        config: Sequence[Mapping[str, Any]],
        interrupt: bool = False,
        timeout: float | None = None,
    ) -> RTVIMessage:
        """Apply ``config`` on the bot; returns the bot's ``config`` reply.

        The bot refusing the update raises :class:`ConfigUpdateError`.
        """
        try:
            reply = await self._request(
                m.update_config([dict(c) for c in config], interrupt), timeout
            )
        except ErrorResponse as exc:
            raise ConfigUpdateError(exc.error or "The bot refused the config update") from exc
        self._fire("on_config_updated", reply.data)
        return reply

    async def describe_config(self, timeout: float | None = None) -> RTVIMessage:
        return await self._request(m.describe_config(), timeout)

    async def get_service_options_from_config(
        self, service_key: str, config: Sequence[Mapping[str, Any]] | None = None
    ) -> Any | None:
        if config is None:
            config = await self.get_config()
        return get_service_options(config, service_key)

    async def get_service_option_value_from_config(
        self, service_key: str, option: str, config: Sequence[Mapping[str, Any]] | None = None
    ) -> Any | None:
        if config is None:
            config = await self.get_config()
        return get_service_option_value(config, service_key, option)

    async def set_service_option_in_config(
        self,
        service_key: str,
        option: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        config: Sequence[Mapping[str, Any]] | None = None,
    ) -> list[Any]:
        if config is None:
            config = await self.get_config()
        return set_service_option(config, service_key, option)

    async def set_config_options(
        self,
        config_options: Sequence[Mapping[str, Any]],
        config: Sequence[Mapping[str, Any]] | None = None,
    ) -> list[Any]:
        if config is None:
            config = await self.get_config()
        return set_config_options(config, config_options)  # the module function above

    # --- actions -------------------------------------------------------------------------------

    async def describe_actions(self, timeout: float | None = None) -> RTVIMessage:
        return await self._request(m.describe_actions(), timeout)

    async def action(
        self,
        service: str | Mapping[str, Any],
        action: str | None = None,
        arguments: Sequence[Mapping[str, Any]] | None = None,
        *,
        timeout: float | None = None,
    ) -> RTVIMessage:
        """Run ``service:action``; returns the ``action-response`` message (``data.result``).

        Connected: over the transport. Otherwise a *disconnected action*: POST to the action
        endpoint, reading a ``text/event-stream`` reply incrementally (every event is handled
        as an inbound message) or a single JSON message.
        """
        name: Any = service
        if isinstance(service, Mapping):
            name, action = service.get("service"), service.get("action")
            arguments = service.get("arguments")
        if not isinstance(name, str) or not name or not isinstance(action, str) or not action:
            raise ValueError("action() needs a service and an action name")
        message = m.action(name, action, list(arguments or []))
        if self.connected:
            return await self._request(message, timeout, ready=False)
        return await self._actions.request(self.params, message, timeout)
