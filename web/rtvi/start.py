"""The client-js 1.x start flow: ``start_bot`` (POST the request data to a start endpoint), its
reply, and the transport params ``connect()`` accepts. Pure, except :func:`post_start` and
:func:`upload_file`, whose I/O goes through the injected :class:`~rtvi.http.base.HTTPAdapter`.

A start reply from pipecat's development runner (and Pipecat Cloud) is ``{"sessionId",
"iceConfig"?: {"iceServers"}, "fileUploadUrl"?}``; the transport derives its offer URL from
the start endpoint (``START_ENDPOINT_KEY`` travels with the reply to the transport).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from .abort import AbortSignal
from .auth import post_json
from .errors import InvalidTransportParamsError, RTVIError
from .http.base import HTTPAdapter, HTTPError

#: The key under which the start endpoint reaches the transport, next to the start reply.
START_ENDPOINT_KEY = "start_endpoint"

#: The keys of a client-js ``APIRequest`` (both spellings of the request data).
API_REQUEST_KEYS = frozenset({"endpoint", "headers", "requestData", "request_data", "timeout"})


def is_api_request(value: Any) -> bool:
    """client-js ``isAPIRequest``: a mapping with a string ``endpoint``."""
    return isinstance(value, Mapping) and isinstance(value.get("endpoint"), str)


@dataclass(frozen=True)
class StartRequest:
    """client-js ``APIRequest``: ``{endpoint, requestData?, headers?, timeout?}``; the body is
    the request data itself (e.g. for the runner ``{"transport": "webrtc", "body": {...}}``)."""

    endpoint: str
    request_data: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None

    @classmethod
    def make(
        cls,
        endpoint: str,
        request_data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> StartRequest:
        if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://", "/")):
            raise ValueError(f"endpoint must be an http(s) URL or an absolute path: {endpoint!r}")
        if request_data is not None and not isinstance(request_data, Mapping):
            raise TypeError("request_data must be a mapping (it is sent as the JSON body)")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        return cls(endpoint, dict(request_data or {}), dict(headers or {}), timeout)

    @classmethod
    def coerce(
        cls,
        request: str | Mapping[str, Any],
        request_data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> StartRequest:
        """``start_bot(endpoint, ...)`` or ``start_bot({"endpoint", "headers", "requestData",
        "timeout"})`` (client-js's ``APIRequest``; ``timeout`` in seconds, as every pyrtvi
        duration). Keyword arguments given beside a mapping are refused."""
        if not isinstance(request, Mapping):
            return cls.make(request, request_data, headers, timeout)
        if request_data is not None or headers is not None or timeout is not None:
            raise InvalidTransportParamsError(
                "give the request as a mapping or as arguments, not both"
            )
        unknown = set(request) - API_REQUEST_KEYS
        if unknown or not is_api_request(request):
            raise InvalidTransportParamsError(
                "an APIRequest is {endpoint, headers?, requestData?, timeout?}"
                + (f"; unknown key(s) {sorted(unknown)}" if unknown else "")
            )
        data = request.get("requestData", request.get("request_data"))
        return cls.make(request["endpoint"], data, request.get("headers"), request.get("timeout"))

    def http_headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", **self.headers}


@dataclass(frozen=True)
class StartReply:
    """A start reply: ``data`` as received, and what the client itself uses from it."""

    data: Any
    endpoint: str
    session_id: str | None = None
    #: Where ``send_file`` uploads bytes (absolute: resolved against the start endpoint).
    file_upload_url: str | None = None

    @classmethod
    def parse(cls, data: Any, endpoint: str) -> StartReply:
        if not isinstance(data, Mapping):
            return cls(data, endpoint)
        session_id = data.get("sessionId", data.get("session_id"))
        upload = data.get("fileUploadUrl")
        return cls(
            data,
            endpoint,
            str(session_id) if session_id is not None else None,
            urljoin(endpoint, upload) if isinstance(upload, str) and upload else None,
        )

    def same_session(self, params: Any) -> bool:
        """Whether ``connect(params)`` joins this reply's session (its ``fileUploadUrl`` and
        start endpoint then still apply)."""
        other = StartReply.parse(params, self.endpoint).session_id
        return self.session_id is not None and other == self.session_id

    def transport_params(self) -> Any:
        """What ``connect()`` hands the transport: the reply plus the start endpoint."""
        return transport_params(self.data, self.endpoint)


#: Transport params keys naming the offer URL (``connectionUrl``: client-js's deprecated one).
OFFER_URL_KEYS = (
    "offer_url",
    "offerUrl",
    "webrtc_url",
    "webrtcUrl",
    "connection_url",
    "connectionUrl",
)
#: Keys that say where to connect (then the start endpoint is not needed).
_URL_KEYS = (*OFFER_URL_KEYS, "webrtc_request_params", "webrtcRequestParams")


def transport_params(params: Any, start_endpoint: str | None = None) -> Any:
    """``connect(transport_params)``: an offer URL string → ``{"offer_url"}``; a mapping
    (``{"sessionId", "iceConfig"}``, ``{"webrtcUrl"}``...) is copied, with the start endpoint
    of the last ``start_bot`` added when it has a session id and no URL of its
    own. Anything else: :class:`~rtvi.errors.InvalidTransportParamsError`."""
    if isinstance(params, str):
        if not params.startswith(("http://", "https://", "/")):
            raise InvalidTransportParamsError(
                f"an offer URL must be an http(s) URL or an absolute path: {params!r}"
            )
        return {"offer_url": params}
    if not isinstance(params, Mapping):
        raise InvalidTransportParamsError(
            "connect() transport params must be a mapping or an offer URL, "
            f"got {type(params).__name__}"
        )
    result = dict(params)
    has_url = any(k in result for k in _URL_KEYS)
    has_session = "sessionId" in result or "session_id" in result
    if has_session and not has_url and start_endpoint and START_ENDPOINT_KEY not in result:
        result[START_ENDPOINT_KEY] = start_endpoint
    return result


async def post_start(request: StartRequest, http: HTTPAdapter, abort: AbortSignal) -> Any:
    """POST the request data to the start endpoint; the decoded JSON reply. Every failure is a
    :class:`StartBotError` (network: status 500; non-2xx: its status and the server's text)."""
    return await post_json(
        "Start",
        request.endpoint,
        request.http_headers(),
        request.request_data,
        http,
        abort,
        request.timeout,
    )


# --- file upload (the runner's POST /sessions/{id}/files) --------------------------------------


def multipart_body(name: str, content: bytes, content_type: str) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body with one ``file`` field; returns (body, content type)."""
    boundary = "pyrtvi" + secrets.token_hex(12)
    safe_name = name.replace('"', "%22").replace("\r", "").replace("\n", "")
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{safe_name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), (
        f"multipart/form-data; boundary={boundary}"
    )


class FileUploadError(RTVIError):
    """Uploading a file to the start reply's ``fileUploadUrl`` failed."""

    default_message = "File upload failed"


def parse_upload_reply(reply: Any) -> dict[str, Any]:
    """The runner answers an RTVI ``File``: ``{name, format, source: {type: "url", url}}``."""
    source = reply.get("source") if isinstance(reply, Mapping) else None
    if not isinstance(source, Mapping) or not isinstance(source.get("url"), str):
        raise FileUploadError(f"the upload endpoint did not answer a file URL: {reply!r:.200}")
    return dict(reply)


async def upload_file(
    url: str,
    name: str,
    content: bytes,
    content_type: str,
    http: HTTPAdapter,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """POST ``content`` as the multipart ``file`` field; the RTVI ``File`` the server answers."""
    body, multipart_type = multipart_body(name, content, content_type)
    try:
        response = await http.request(
            "POST", url, headers={**(headers or {}), "Content-Type": multipart_type}, body=body
        )
        if not response.ok:
            raise FileUploadError(
                f"upload to {url}: HTTP {response.status}: {await response.error_text()}"
            )
        reply = await response.json()
    except HTTPError as exc:
        raise FileUploadError(f"upload to {url} failed: {exc}") from exc
    except ValueError:
        raise FileUploadError(f"the upload endpoint {url} did not return JSON") from None
    return parse_upload_reply(reply)
