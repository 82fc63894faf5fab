"""The connect (start bot) request: POST ``params`` to the connect endpoint, get the auth bundle.

The bundle is whatever the endpoint answers (for SmallWebRTC ``{"session_id", "offer_url",
"ice_servers"}``); the client hands it to ``Transport.connect``. I/O goes through the injected
:class:`~rtvi.http.base.HTTPAdapter`; the body and headers are built by pure functions.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

from ._version import __version__
from .abort import AbortSignal
from .errors import StartBotError
from .http.base import HTTPAdapter, HTTPError
from .params import RTVIClientParams

#: ``(params, timeout, abort_signal) -> auth bundle`` (sync or async).
CustomConnectHandler = Callable[[RTVIClientParams, "float | None", AbortSignal], Any]


def connect_body(params: RTVIClientParams) -> dict[str, Any]:
    """The JSON body: ``services``, ``config``, ``request_data`` and the client version."""
    return {
        "services": params.services,
        "config": params.config,
        **params.request_data,
        "rtvi_client_version": __version__,
    }


def connect_headers(params: RTVIClientParams) -> dict[str, str]:
    return {"Content-Type": "application/json", **params.headers}


async def start_bot(params: RTVIClientParams, http: HTTPAdapter, abort: AbortSignal) -> Any:
    """POST to the connect endpoint; returns the decoded JSON reply (see :func:`post_json`)."""
    return await post_json(
        "Connect",
        params.endpoint_url("connect"),
        connect_headers(params),
        connect_body(params),
        http,
        abort,
    )


async def post_json(
    what: str,
    url: str,
    headers: dict[str, str],
    body: Any,
    http: HTTPAdapter,
    abort: AbortSignal,
    timeout: float | None = None,
) -> Any:
    """POST ``body`` as JSON to ``url`` (the ``what`` request: "Connect", "Start"); the decoded
    JSON reply.

    Every failure is a :class:`StartBotError`: the network (status 500), a non-2xx reply (its
    status and the server's error text) or a reply that is not JSON.
    """
    try:
        response = await http.request(
            "POST", url, headers=headers, body=json.dumps(body), timeout=timeout, abort=abort
        )
    except HTTPError as exc:
        raise StartBotError(f"{what} request to {url} failed: {exc}") from exc
    if not response.ok:
        raise StartBotError(await response.error_text(), status=response.status)
    try:
        return await response.json()
    except ValueError:
        raise StartBotError(
            f"{what} endpoint {url} did not return JSON", status=response.status
        ) from None
    except HTTPError as exc:
        raise StartBotError(f"{what} reply from {url} broke off: {exc}") from exc


def uses_connect_endpoint(
    params: RTVIClientParams, custom_connect_handler: CustomConnectHandler | None = None
) -> bool:
    """Whether ``connect()`` without transport params runs the 0.x flow (a connect request,
    or the custom handler): ``params.base_url`` is set (and ``endpoints.connect`` not
    ``None``), or ``endpoints.connect`` is an absolute URL. Otherwise it is client-js 1.x's
    ``connect()``: the transport connects with its own URL."""
    if custom_connect_handler is not None:
        return True
    connect = params.endpoints.connect
    if connect is None:
        return False
    return bool(params.base_url) or connect.startswith(("http://", "https://"))


async def authenticate(
    params: RTVIClientParams,
    http: HTTPAdapter,
    abort: AbortSignal,
    custom_connect_handler: CustomConnectHandler | None = None,
    timeout: float | None = None,
) -> Any:
    """The auth bundle: from ``custom_connect_handler`` when given, else the connect request;
    ``None`` (direct connect) when :func:`uses_connect_endpoint` says there is none."""
    if custom_connect_handler is not None:
        result = custom_connect_handler(params, timeout, abort)
        if inspect.isawaitable(result):
            result = await result
        return result
    if not uses_connect_endpoint(params):
        return None  # direct connect: nothing to authenticate against
    return await start_bot(params, http, abort)
