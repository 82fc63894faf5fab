"""SmallWebRTC signalling, pure: what goes into and comes out of the offer endpoint and the channel.

No browser, no IO (PROTOCOL §4): the auth bundle → a :class:`ConnectionTarget` (a runner's
start reply ``{sessionId, iceConfig}`` gets its offer URL from the start endpoint); the offer body
``{sdp, type, pc_id, restart_pc, requestData}``; the answer → :class:`Answer`; trickled ICE
candidates (:class:`TrickleQueue`, ``PATCH {pc_id, candidates}``); data-channel text →
:class:`Inbound`; the ``trackStatus`` and keepalive texts we send.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ...errors import InvalidTransportParamsError, TransportStartError
from ...messages import MESSAGE_LABEL
from ...start import OFFER_URL_KEYS, START_ENDPOINT_KEY

#: Receiver indexes the bot maps to mic/camera (transceiver creation order).
AUDIO_INDEX = 0
VIDEO_INDEX = 1
SCREEN_INDEX = 2  # a third, send-only video transceiver (small-webrtc-transport 1.3+)
RECEIVER_INDEX = {"audio": AUDIO_INDEX, "video": VIDEO_INDEX, "screen": SCREEN_INDEX}

#: The data channel's label (ordered), created before the first offer.
DATA_CHANNEL_LABEL = "chat"


# --- where to connect -----------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionTarget:
    """Where and how to connect, resolved from the options and the auth bundle."""

    offer_url: str
    ice_servers: list[dict[str, Any]]
    ice_trickle: bool
    request_data: dict[str, Any] | None
    session_id: str | None = None
    #: Headers of the offer requests (from ``webrtcRequestParams``; the start request's are
    #: added by the transport when the URL was derived from its endpoint).
    headers: dict[str, str] = field(default_factory=dict)
    #: The offer URL was derived from the start endpoint (client-js then reuses its headers).
    from_start: bool = False


def _first(bundle: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = bundle.get(key)
        if value is not None:
            return value
    return None


#: The offer URL of a runner session, from its start endpoint (pipecat's development runner,
#: Pipecat Cloud): ``{base}`` is the start endpoint without its trailing ``/start``.
DEFAULT_OFFER_URL_TEMPLATE = "{base}/sessions/{session_id}/api/offer"


def derive_offer_url(start_endpoint: str, session_id: str, template: str | None = None) -> str:
    """The session's offer URL: ``…/start`` → ``…/sessions/{session_id}/api/offer``.

    ``template`` serves services whose paths differ: client-js's syntax
    (``"https://host/sessions/:sessionId/api/offer"``: ``:sessionId`` replaced), or
    placeholders ``{base}``, ``{start_endpoint}``, ``{session_id}``. Without one, an endpoint
    not ending in ``/start`` is a :class:`TransportStartError` (there is no way to guess).
    """
    if template is not None and ":sessionId" in template:
        return template.replace(":sessionId", session_id)
    endpoint = start_endpoint.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    base = endpoint[: -len("/start")] if endpoint.endswith("/start") else None
    if template is None:
        if base is None:
            raise TransportStartError(
                f"cannot derive the offer URL from {start_endpoint!r}: it does not end in "
                "'/start' (set offer_url_template, e.g. '{base}/sessions/{session_id}/api/offer')"
            )
        template = DEFAULT_OFFER_URL_TEMPLATE
    try:
        return template.format(
            base=endpoint if base is None else base,
            start_endpoint=endpoint,
            session_id=session_id,
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise TransportStartError(f"bad offer_url_template {template!r}: {exc!r}") from None


def resolve_target(
    auth_bundle: Any,
    *,
    offer_url: str | None = None,
    offer_url_template: str | None = None,
    ice_servers: Sequence[Mapping[str, Any]] | None = None,
    ice_trickle: bool | None = None,
    request_data: Mapping[str, Any] | None = None,
    direct_request_data: Mapping[str, Any] | None = None,
    webrtc_request_params: Mapping[str, Any] | None = None,
    default_trickle: bool = False,
) -> ConnectionTarget:
    """The offer URL, ICE servers and trickle flag: the options win, then the bundle.

    The offer URL: the bundle's ``webrtcRequestParams.endpoint`` or URL key, else the
    ``webrtc_request_params`` option's endpoint, else the ``offer_url`` option, else derived
    from the start endpoint and the session id. ``webrtcRequestParams``' ``headers`` and
    ``requestData`` go with every offer. Trickle ICE: the ``ice_trickle`` option, else the
    bundle's, else ``default_trickle`` (the transport's is True).

    ``direct_request_data`` (the client's ``params.request_data``) is sent with the offer when
    there is no bundle (direct connect: the offer is the only request made) and no
    ``request_data`` option.
    """
    bundle: Mapping[str, Any] = auth_bundle if isinstance(auth_bundle, Mapping) else {}
    session_id = _first(bundle, "session_id", "sessionId")
    request = _first(bundle, "webrtc_request_params", "webrtcRequestParams")
    if request is None and not _first(bundle, *OFFER_URL_KEYS):
        request = webrtc_request_params
    request = request_params(request)
    url = (
        request.get("endpoint")
        or _first(bundle, *OFFER_URL_KEYS)
        or (offer_url if webrtc_request_params is None else None)
    )
    start_endpoint = bundle.get(START_ENDPOINT_KEY)
    from_start = False
    if not url and session_id is not None and isinstance(start_endpoint, str):
        url = derive_offer_url(start_endpoint, str(session_id), offer_url_template)
        from_start = True
    if not url or not isinstance(url, str):
        raise TransportStartError(
            "no offer URL: the connect reply has no 'offer_url' (nor a 'sessionId' from a start "
            "endpoint to derive it from) and no offer_url option is set"
        )
    ice: Any = ice_servers
    if ice is None:
        ice = _first(bundle, "ice_servers", "iceServers")
        ice_config = bundle.get("iceConfig")
        if ice is None and isinstance(ice_config, Mapping):
            ice = ice_config.get("iceServers")
    if ice is None:
        ice = []
    if not isinstance(ice, list) or not all(isinstance(s, Mapping) for s in ice):
        raise TransportStartError("ice_servers must be a list of RTCIceServer objects")
    trickle = ice_trickle
    if trickle is None:
        said = _first(bundle, "ice_trickle", "iceTrickle")
        trickle = default_trickle if said is None else bool(said)
    data = dict(request_data) if request_data is not None else None
    if request.get("requestData") is not None:
        data = dict(request["requestData"])
    if data is None and not bundle and direct_request_data is not None:
        data = dict(direct_request_data) or None
    return ConnectionTarget(
        offer_url=url,
        ice_servers=[dict(s) for s in ice],
        ice_trickle=trickle,
        request_data=data,
        session_id=str(session_id) if session_id is not None else None,
        headers=dict(request.get("headers") or {}),
        from_start=from_start,
    )


# --- a peer connection prepared before the bundle is known ------------------------------------


@dataclass(frozen=True)
class PeerConfig:
    """What a peer connection and its offer depend on: built while the start request is in
    flight (:mod:`rtvi.overlap`), it is used only if the bundle's target needs the same."""

    ice_servers: list[dict[str, Any]]
    ice_trickle: bool
    screen_share: bool


def prepared_config(
    ice_servers: Sequence[Mapping[str, Any]] | None,
    ice_trickle: bool | None,
    screen_share: bool,
    default_trickle: bool = True,
) -> PeerConfig:
    """The connection to prepare before the bundle is known: the options' ICE servers and
    trickle flag, else what a bundle that says nothing gets (no servers, ``default_trickle``),
    as :func:`resolve_target` would decide."""
    return PeerConfig(
        ice_servers=[dict(s) for s in ice_servers] if ice_servers is not None else [],
        ice_trickle=default_trickle if ice_trickle is None else ice_trickle,
        screen_share=screen_share,
    )


def reusable(prepared: PeerConfig, target: ConnectionTarget, screen_share: bool) -> bool:
    """Whether a connection prepared as ``prepared`` may serve ``target``: the same ICE
    servers (never connect with the wrong ones: e.g. a start reply's ``iceConfig`` the
    prepared connection did not use), the same trickle choice and the same transceivers."""
    return (
        prepared.ice_servers == target.ice_servers
        and prepared.ice_trickle == target.ice_trickle
        and prepared.screen_share == screen_share
    )


def request_params(request: Any) -> dict[str, Any]:
    """client-js ``webrtcRequestParams`` (an ``APIRequest``: ``{endpoint, headers?,
    requestData?, timeout?}``) checked; ``{}`` for None."""
    if request is None:
        return {}
    if not isinstance(request, Mapping) or not isinstance(request.get("endpoint"), str):
        raise InvalidTransportParamsError(
            "webrtc_request_params must be an APIRequest {endpoint, headers?, requestData?}"
        )
    data = request.get("requestData", request.get("request_data"))
    headers = request.get("headers")
    if data is not None and not isinstance(data, Mapping):
        raise InvalidTransportParamsError("webrtc_request_params requestData must be a mapping")
    if headers is not None and not isinstance(headers, Mapping):
        raise InvalidTransportParamsError("webrtc_request_params headers must be a mapping")
    return {
        "endpoint": request["endpoint"],
        "headers": dict(headers or {}),
        "requestData": dict(data) if data is not None else None,
    }


# --- offer and answer -----------------------------------------------------------------------


def offer_body(
    sdp: str,
    type: str,
    *,
    pc_id: str | None,
    restart_pc: bool,
    request_data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body POSTed to the offer URL (``pc_id`` is None for a new peer connection)."""
    body: dict[str, Any] = {"sdp": sdp, "type": type, "pc_id": pc_id, "restart_pc": restart_pc}
    if request_data is not None:
        body["requestData"] = request_data
    return body


@dataclass(frozen=True)
class Answer:
    """The bot's SDP answer and its id for the peer connection (kept for every later offer)."""

    sdp: str
    pc_id: str | None


def parse_answer(reply: Any) -> Answer:
    """The offer endpoint's reply as an :class:`Answer`; anything else is a ``TransportStartError``."""
    if not isinstance(reply, Mapping) or not isinstance(reply.get("sdp"), str):
        raise TransportStartError("the offer endpoint sent no SDP answer")
    if reply.get("type", "answer") != "answer":
        raise TransportStartError(f"expected an SDP answer, got {reply.get('type')!r}")
    pc_id = reply.get("pc_id")
    return Answer(sdp=reply["sdp"], pc_id=str(pc_id) if pc_id else None)


# --- trickle ICE ----------------------------------------------------------------------------


def candidate_entry(
    candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
) -> dict[str, Any] | None:
    """One candidate as the bot's ``PATCH`` expects it; None for the end-of-candidates marker."""
    if not candidate:
        return None
    return {"candidate": candidate, "sdp_mid": sdp_mid, "sdp_mline_index": sdp_mline_index}


def trickle_body(pc_id: str, candidates: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON body of the ``PATCH`` that trickles ``candidates`` to the bot."""
    return {"pc_id": pc_id, "candidates": candidates}


@dataclass
class TrickleQueue:
    """Local candidates of one peer connection, held until they can be sent.

    Candidates wait until the answer is applied (:meth:`open`) and the bot's ``pc_id`` is known;
    from then on each batch is taken as it comes. A new peer connection starts a new queue.
    """

    pending: list[dict[str, Any]] = field(default_factory=list)
    is_open: bool = False

    def add(self, entry: dict[str, Any]) -> None:
        self.pending.append(entry)

    def open(self) -> None:
        """The answer is in: candidates may go out."""
        self.is_open = True

    def take(self, pc_id: str | None) -> list[dict[str, Any]] | None:
        """The candidates to send now (emptying the queue), or None when none may go yet."""
        if not self.is_open or not self.pending or not pc_id:
            return None
        candidates, self.pending = self.pending, []
        return candidates


# --- the data channel -----------------------------------------------------------------------


class InboundKind(Enum):
    RTVI = "rtvi"  # an RTVI message for the client
    RENEGOTIATE = "renegotiate"  # the bot asks for a new offer on the same connection
    PEER_LEFT = "peerLeft"  # the bot left the session
    IGNORED = "ignored"  # anything else: logged at debug level, never raised


@dataclass(frozen=True)
class Inbound:
    """One data-channel message, classified; ``message`` is the RTVI object, ``note`` why ignored."""

    kind: InboundKind
    message: dict[str, Any] | None = None
    note: str = ""


def _ignored(note: str) -> Inbound:
    return Inbound(InboundKind.IGNORED, note=note)


def classify(data: object) -> Inbound:
    """What a data-channel message is: RTVI, a signalling request, or something to ignore."""
    if not isinstance(data, str):
        return _ignored("a binary data channel message")
    try:
        message = json.loads(data)
    except ValueError:
        return _ignored(f"a non-JSON data channel message: {data:.80}")
    if not isinstance(message, dict):
        return _ignored(f"a data channel message that is not an object: {data:.80}")
    if message.get("type") == "signalling":
        signal = message.get("message")
        kind = signal.get("type") if isinstance(signal, dict) else None
        if kind == "renegotiate":
            return Inbound(InboundKind.RENEGOTIATE)
        if kind == "peerLeft":
            return Inbound(InboundKind.PEER_LEFT)
        return _ignored(f"signalling message {signal!r}")
    if message.get("label") == MESSAGE_LABEL:
        return Inbound(InboundKind.RTVI, message)
    return _ignored(f"a non-RTVI data channel message: {data:.80}")


def track_status_text(kind: str, enabled: bool) -> str:
    """The ``trackStatus`` signalling message for ``"audio"``, ``"video"`` or ``"screen"``."""
    status = {"type": "trackStatus", "receiver_index": RECEIVER_INDEX[kind], "enabled": enabled}
    return json.dumps({"type": "signalling", "message": status})


def keepalive_text(now_ms: int) -> str:
    """The keepalive the bot expects: ``"ping: <wall-clock ms>"``."""
    return f"ping: {now_ms}"


# --- codec choice ---------------------------------------------------------------------------


def filter_codec(sdp: str, kind: str, codec: str | None) -> str:
    """``sdp`` with only ``codec`` (and its RTX) left in the ``m=<kind>`` sections.

    ``codec`` is matched against the start of each ``a=rtpmap`` encoding, case-insensitively
    (``"opus"``, ``"VP8"``, ``"H264/90000"``); ``None`` or ``"default"`` leaves ``sdp`` as it
    is, and so does a codec the offer does not have (an empty format list would fail).
    """
    if not codec or codec == "default":
        return sdp
    newline = "\r\n" if "\r\n" in sdp else "\n"
    lines = sdp.split(newline)
    wanted = codec.lower()
    sections = _media_sections(lines, kind)
    keep: set[str] = set()
    for start, end in sections:
        allowed = _payloads_of(lines[start:end], wanted)
        keep |= allowed
        if not allowed:
            return sdp
    out: list[str] = []
    current: tuple[int, int] | None = None
    for index, line in enumerate(lines):
        current = next((s for s in sections if s[0] <= index < s[1]), None)
        if current is None:
            out.append(line)
            continue
        if index == current[0]:  # the m= line: its format list
            head = line.split(" ")[:3]
            formats = [p for p in line.split(" ")[3:] if p in keep]
            out.append(" ".join([*head, *formats]))
            continue
        payload = _attribute_payload(line)
        if payload is None or payload in keep or payload == "*":
            out.append(line)
    return newline.join(out)


def _media_sections(lines: list[str], kind: str) -> list[tuple[int, int]]:
    """``(start, end)`` line ranges of the ``m=<kind>`` sections."""
    sections: list[tuple[int, int]] = []
    start: int | None = None
    for index, line in enumerate([*lines, "m=end"]):
        if line.startswith("m="):
            if start is not None:
                sections.append((start, index))
            start = index if line.startswith(f"m={kind} ") else None
    return sections


def _payloads_of(section: list[str], codec: str) -> set[str]:
    """Payload types of ``codec`` in one section, plus the RTX payloads that repair them."""
    allowed: set[str] = set()
    for line in section:
        if line.startswith("a=rtpmap:"):
            payload, _, encoding = line[len("a=rtpmap:") :].partition(" ")
            if encoding.lower().startswith(codec):
                allowed.add(payload)
    for line in section:
        if line.startswith("a=fmtp:") and " apt=" in line:
            payload, _, params = line[len("a=fmtp:") :].partition(" ")
            if params.strip().removeprefix("apt=") in allowed:
                allowed.add(payload)
    return allowed


def _attribute_payload(line: str) -> str | None:
    """The payload type of an ``a=rtpmap/fmtp/rtcp-fb`` line, else None."""
    for prefix in ("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"):
        if line.startswith(prefix):
            return line[len(prefix) :].partition(" ")[0]
    return None
