"""The "start endpoint" mode of the connection settings: any bot by its start URL (pipecat's
development runner's ``/start``, a hosted endpoint such as Pipecat Cloud's), connected with
``start_bot_and_connect``. What the fields mean, what is wrong with them, and what a failed start
means to a person. Pure Python, so it runs (and is tested) in CPython too.

The browser itself POSTs to the URL, so the endpoint must answer CORS for the page's origin:
pipecat's runner does for any origin unless started with ``--allowed-origins``; for a service
that does not, the console goes through its server instead (``pyrtvi serve --bot-url <URL>``,
mode "This server's bot").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rtvi.errors import StartBotError
from rtvi.http.base import HTTPError, HTTPTimeoutError

from .model import Problem

#: The connect-mode picker's values; the first is the default.
MODES = ("server", "start")

#: The request body field's first text: pipecat's runner takes ``{"transport", "body"}`` (the
#: body reaches the bot as ``runner_args.body``).
DEFAULT_BODY = '{"body": {}}'

#: An HTTP header name (RFC 9110 token).
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class SettingsError(ValueError):
    """A start-endpoint field the page cannot use; ``field`` is the element id it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_mode(value: Any) -> str:
    """The picked mode: ``"server"`` (the page's server and its bot; the default) or
    ``"start"`` (a start endpoint)."""
    text = str(value)
    return text if text in MODES else MODES[0]


def parse_url(text: Any) -> str:
    """The start URL: an http(s) URL, or a path on the page's own server (``/start``)."""
    url = str(text or "").strip()
    if not url:
        raise SettingsError(
            "start-url", "Give the start endpoint's URL (e.g. http://localhost:7860/start)."
        )
    if url.startswith("/"):
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(
            "start-url",
            f"The start URL must begin with http:// or https:// (or be a path such as /start): "
            f"{url!r}.",
        )
    return url


def parse_body(text: Any) -> dict[str, Any]:
    """The request body field as the JSON object it must be (blank: ``{}``)."""
    source = str(text or "").strip()
    if not source:
        return {}
    try:
        body = json.loads(source)
    except json.JSONDecodeError as exc:
        raise SettingsError(
            "start-body",
            f"The request body is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}.",
        ) from None
    if not isinstance(body, dict):
        raise SettingsError(
            "start-body",
            f"The request body must be a JSON object ({{...}}), not {_json_kind(body)}.",
        )
    return body


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    return "a number"


def parse_headers(text: Any) -> dict[str, str]:
    """The headers field: a JSON object of strings, or one ``Name: value`` per line (blank
    lines skipped); blank: none."""
    source = str(text or "").strip()
    if not source:
        return {}
    if source.startswith("{"):
        return _json_headers(source)
    headers: dict[str, str] = {}
    for number, line in enumerate(source.splitlines(), 1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise SettingsError(
                "start-headers",
                f"Headers, line {number}: no ':' (write one 'Name: value' per line, or a JSON "
                "object).",
            )
        headers[_header_name(name.strip(), f"line {number}")] = value.strip()
    return headers


def _json_headers(source: str) -> dict[str, str]:
    try:
        data = json.loads(source)
    except json.JSONDecodeError as exc:
        raise SettingsError(
            "start-headers",
            f"The headers are not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
        ) from None
    if not isinstance(data, dict):
        raise SettingsError("start-headers", "The headers must be a JSON object.")
    headers: dict[str, str] = {}
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise SettingsError("start-headers", f"The header {name!r} must have a string value.")
        headers[_header_name(name, repr(name))] = str(value)
    return headers


def _header_name(name: str, where: str) -> str:
    if not _HEADER_NAME.match(name):
        raise SettingsError("start-headers", f"Headers, {where}: {name!r} is not a header name.")
    return name


@dataclass(frozen=True)
class StartEndpoint:
    """What ``start_bot_and_connect`` is called with."""

    url: str
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def read_start(url: Any, body: Any, headers: Any, *, transport: str) -> StartEndpoint:
    """The three fields as one start request; raises :class:`SettingsError` on the first field
    the page cannot use. A WebSocket session asks for one (``"transport": "websocket"``, as the
    runner's ``/start`` takes it) unless the body names a transport itself."""
    start = StartEndpoint(parse_url(url), parse_body(body), parse_headers(headers))
    if transport == "websocket" and "transport" not in start.body:
        start.body["transport"] = "websocket"
    return start


def public_url(url: str) -> str:
    """``url`` fit to show and export: no user info, query or fragment (they may hold keys)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def settings_problem(error: SettingsError) -> Problem:
    """The banner of a field the page cannot use (no request was made)."""
    return Problem("settings", "Check the connection settings", error.message)


def start_problem(exc: BaseException, url: str, origin: str) -> Problem | None:
    """The banner of a failed start request to ``url`` (from a page at ``origin``); ``None``
    when ``exc`` is not one (the console's usual banners apply)."""
    if not isinstance(exc, StartBotError):
        return None
    shown = public_url(url)
    status = exc.status
    detail = str(exc.message or exc)
    cause = exc.__cause__
    if isinstance(cause, HTTPTimeoutError):
        return Problem(
            "timeout",
            "The start endpoint did not answer in time",
            f"{shown} took too long to start a session ({detail}); try again.",
        )
    if isinstance(cause, HTTPError):
        return Problem(
            "start-unreachable",
            "Cannot reach the start endpoint",
            f"The request to {shown} got no answer the page may read ({detail}). Is the bot "
            "running there? The browser also drops an answer without CORS headers for this "
            f"page's origin ({origin}): pipecat's runner sends them for any origin unless it was "
            f"started with --allowed-origins (then add {origin}); for a service that sends none, "
            f'run `pyrtvi serve --bot-url {shown}` and pick "This server\'s bot".',
        )
    if status in (401, 403):
        return Problem(
            "start-refused",
            f"The start endpoint refused (HTTP {status})",
            f"{shown} wants credentials: check the headers (e.g. 'Authorization: Bearer "
            f"<key>'). ({detail})",
        )
    if status in (404, 405):
        return Problem(
            "start-refused",
            f"No start endpoint at this URL (HTTP {status})",
            f"{shown} does not take a POST. pipecat's runner answers POST /start "
            f"(http://localhost:7860/start when run as `python bot.py -t webrtc`). ({detail})",
        )
    if status is not None and 400 <= status < 500:
        return Problem(
            "start-refused",
            f"The start endpoint refused the request (HTTP {status})",
            f"Check the request body and headers. ({detail})",
        )
    code = f"HTTP {status}: " if status else ""
    return Problem(
        "bot-down",
        "The bot could not be started",
        f"{shown} could not start a session ({code}{detail}).",
    )


def field_status(field: str, text: Any) -> str:
    """What the status line of the ``start-body`` or ``start-headers`` field says as it is
    typed: '' when the text can be used."""
    parse = parse_body if field == "start-body" else parse_headers
    try:
        parse(text)
    except SettingsError as exc:
        return exc.message
    return ""


def field_names(headers: Mapping[str, str]) -> list[str]:
    """The header names only (what the event log may show; values may be secrets)."""
    return sorted(headers)
