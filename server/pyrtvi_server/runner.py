"""The Pipecat runner's session contract, both ways (PROTOCOL §8.3).

Upstream, `--bot url` (and the embedded bot) get what pipecat's development runner and hosted
services built on it expect from `POST /start`::

    {"transport": "webrtc", "enableDefaultIceServers": false,
     "body": {...the page's request data, flat; "services"/"config" as keys when sent...},
     "request_data": {...}, "services": {...}, "config": [...]}

The runner hands `body` to the bot as `runner_args.body`. The last three keys are pyrtvi's older
contract, kept for bot services written against it; a runner ignores them.

Downstream, `pyrtvi serve` answers the same `POST /start` (and `/sessions/{id}/api/offer`, in
`proxy.routes`), so the official JS client's `startBotAndConnect({endpoint: ".../start"})` works
against it as against a runner.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import ConfigDict, Field, JsonValue

from pyrtvi_server.models import _Strict

#: Probed in this order for `/health` of a remote bot service: runners answer `/status`, pyrtvi's
#: own bot and older services `/health`.
HEALTH_PATHS = ("/status", "/health")
#: Keys of `PYRTVI_BOT_EXTRA` that belong to the `/start` request itself, not to the bot's body.
START_KEYS = frozenset({"enableDefaultIceServers"})
#: Keys of `PYRTVI_BOT_EXTRA` whose objects are flattened into the body (older configurations
#: put the bot's secrets under `request_data`).
FLATTENED_KEYS = ("request_data", "body")


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` with `extra` laid over it: objects merge recursively, anything else is replaced.

    `extra` is the server's configuration, so it wins: a browser cannot override a secret.
    """
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def body_extra(extra: dict[str, Any]) -> dict[str, Any]:
    """The part of `PYRTVI_BOT_EXTRA` that goes into the bot's body.

    Every key but the `/start` request's own; `request_data` and `body` objects are flattened, so
    `{"api_key": …}`, `{"request_data": {"api_key": …}}` and `{"body": {"api_key": …}}` all give
    the bot `runner_args.body["api_key"]`.
    """
    flat = {
        key: value
        for key, value in extra.items()
        if key not in START_KEYS and key not in FLATTENED_KEYS
    }
    for key in FLATTENED_KEYS:
        nested = extra.get(key)
        if isinstance(nested, dict):
            flat = deep_merge(flat, nested)
    return flat


def runner_body(
    request_data: dict[str, Any], services: dict[str, Any], config: list[Any]
) -> dict[str, Any]:
    """The page's request data, flat, with its services and config as keys when it sent any."""
    body = dict(request_data)
    if services:
        body["services"] = services
    if config:
        body["config"] = config
    return body


def start_request(
    body: dict[str, Any],
    extra: dict[str, Any],
    *,
    enable_default_ice_servers: bool = False,
    legacy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The upstream `/start` body for `body` (the bot's request data) with the server's extras.

    `legacy` (`/connect` only) adds pyrtvi's older top-level `request_data`/`services`/`config`,
    with the extras merged over them as before.
    """
    start: dict[str, Any] = {}
    if legacy is not None:
        start = deep_merge(legacy, {k: v for k, v in extra.items() if k != "body"})
    start["transport"] = "webrtc"
    start["enableDefaultIceServers"] = bool(
        extra.get("enableDefaultIceServers", enable_default_ice_servers)
    )
    start["body"] = deep_merge(body, body_extra(extra))
    return start


class RunnerStartRequest(_Strict):
    """What `POST /start` of a Pipecat runner accepts (the WebRTC part of it).

    `body` is the bot's request data. pyrtvi serve relays WebRTC sessions only: another
    `transport` (or the runner's legacy Daily hint, `createDailyRoom`) is refused.
    """

    model_config = ConfigDict(strict=True, extra="ignore")

    transport: Literal["webrtc"] = "webrtc"
    enableDefaultIceServers: bool = False
    createDailyRoom: Literal[False] = False
    body: dict[str, JsonValue] = Field(default_factory=dict)
