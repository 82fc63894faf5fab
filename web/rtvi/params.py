"""``RTVIClientParams``: where and how the client makes its connect and action requests.

Mutable at any time (``client.params.base_url = ...``); each request reads the current values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ActionEndpointNotSetError, RTVIError

DEFAULT_CONNECT_ENDPOINT = "/connect"
DEFAULT_ACTION_ENDPOINT = "/action"


@dataclass
class Endpoints:
    """Endpoint paths appended to ``base_url``. ``None`` disables one (e.g. no action endpoint)."""

    connect: str | None = DEFAULT_CONNECT_ENDPOINT
    action: str | None = DEFAULT_ACTION_ENDPOINT

    @classmethod
    def coerce(cls, value: Endpoints | Mapping[str, Any] | None) -> Endpoints:
        """Accept an ``Endpoints`` or a partial mapping (missing keys keep their defaults)."""
        if value is None:
            return cls()
        if isinstance(value, Endpoints):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"endpoints must be a mapping or Endpoints, got {type(value).__name__}")
        unknown = set(value) - {"connect", "action"}
        if unknown:
            raise TypeError(f"unknown endpoint name(s): {sorted(unknown)}")
        return cls(**dict(value))

    def __getitem__(self, name: str) -> str | None:
        if name not in ("connect", "action"):
            raise KeyError(name)
        return getattr(self, name)  # type: ignore[no-any-return]


_ALIASES = {
    "baseUrl": "base_url",
    "requestData": "request_data",
}


@dataclass
class RTVIClientParams:
    """Request parameters (the JS ``params`` object).

    - ``base_url``: prefix of the endpoints (trailing slashes ignored).
    - ``endpoints``: ``{"connect": "/connect", "action": "/action"}`` by default.
    - ``request_data``: merged into the JSON body of the connect and action requests.
    - ``headers``: added to those requests.
    - ``config``: the bot configuration (``[{"service", "options": [{"name", "value"}]}]``),
      sent in the connect body.
    - ``services``: ``{"stt": "...", "llm": "...", "tts": "..."}``, sent in the connect body.
    - ``extra``: any other keys (kept, not sent).
    """

    base_url: str | None = None
    endpoints: Endpoints = field(default_factory=Endpoints)
    request_data: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    config: list[dict[str, Any]] = field(default_factory=list)
    services: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.endpoints = Endpoints.coerce(self.endpoints)  # type: ignore[arg-type]

    @classmethod
    def coerce(cls, value: RTVIClientParams | Mapping[str, Any] | None) -> RTVIClientParams:
        """Accept an instance or a mapping (snake_case, or the JS camelCase spellings)."""
        if value is None:
            return cls()
        if isinstance(value, RTVIClientParams):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(
                f"params must be a mapping or RTVIClientParams, got {type(value).__name__}"
            )
        known = {f.name for f in fields(cls)} - {"extra"}
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = dict(value.get("extra") or {})
        for key, item in value.items():
            name = _ALIASES.get(key, key)
            if name == "extra":
                continue
            if name in known:
                kwargs[name] = item
            else:
                extra[key] = item
        if kwargs.get("headers") is None:
            kwargs.pop("headers", None)
        return cls(**kwargs, extra=extra)

    def endpoint_url(self, endpoint: str) -> str:
        """``base_url`` (trailing ``/`` stripped) + ``endpoints[endpoint]``; an absolute
        endpoint URL is used as is."""
        if endpoint not in ("connect", "action"):
            raise ValueError(f"unknown endpoint {endpoint!r} (expected 'connect' or 'action')")
        path = self.endpoints[endpoint]
        if path is None:
            if endpoint == "action":
                raise ActionEndpointNotSetError()
            raise RTVIError("Connect endpoint is not set")
        if path.startswith(("http://", "https://")):
            return path
        if not self.base_url:
            raise RTVIError("Base URL not set. Please set params.base_url")
        return self.base_url.rstrip("/") + path
