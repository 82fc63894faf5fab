"""client-js 1.13 parity (issue 23): the 1.x ``connect()``, APIRequest mappings, the start
request's headers on the offer, ``:sessionId`` templates, codec choice, media state and
``DeviceError``, ``disconnect_on_bot_disconnect``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from rtvi import RTVIClient, RTVIEvent, TransportState
from rtvi.errors import (
    DeviceError,
    InvalidTransportParamsError,
    MessageTooLargeError,
    TransportNotConnectedError,
    UnsupportedFeatureError,
)
from rtvi.media_state import DeviceStatus, MediaStateTracker, device_error_type, make_device_error
from rtvi.start import START_ENDPOINT_KEY, StartRequest
from rtvi.transport import Participant
from rtvi.transports.memory import FakeBot, MemoryTransport
from rtvi.transports.small_webrtc import SmallWebRTCTransport
from rtvi.transports.small_webrtc.signalling import derive_offer_url, filter_codec, resolve_target

from .conftest import WAIT, FakeHTTP, json_response
from .test_transport_lifecycle import connect as lifecycle_connect
from .test_transport_lifecycle import setup as lifecycle_setup

START = "http://runner.example:7860/start"
REPLY = {"sessionId": "s1", "iceConfig": {"iceServers": []}}

# --- connect(): which flow ------------------------------------------------------------------


async def test_connect_without_a_base_url_is_client_js_1x(
    make_client: Callable[..., RTVIClient], http: FakeHTTP, transport: MemoryTransport
) -> None:
    """No base_url, default endpoints: no request, the transport connects on its own URL."""
    client = make_client(params={})
    await client.connect()
    assert http.requests == [] and transport.auth_bundle is None
    assert client.state == TransportState.READY


async def test_connect_with_a_base_url_is_the_0x_flow(
    make_client: Callable[..., RTVIClient], http: FakeHTTP, transport: MemoryTransport
) -> None:
    http.responder = lambda req: json_response({"offer_url": "http://b/api/offer"})
    client = make_client(params={"base_url": "http://bots.example"})
    await client.connect()
    assert [r.url for r in http.requests] == ["http://bots.example/connect"]
    assert transport.auth_bundle == {"offer_url": "http://b/api/offer"}
    await client.disconnect()
    http.requests.clear()
    client.params.base_url = None
    client.params.endpoints.connect = "http://other.example/connect"  # absolute: 0.x too
    await client.connect()
    assert [r.url for r in http.requests] == ["http://other.example/connect"]


async def test_connect_with_an_api_request_is_start_bot_and_connect_deprecated(
    make_client: Callable[..., RTVIClient], http: FakeHTTP, transport: MemoryTransport
) -> None:
    http.responder = lambda req: json_response(REPLY)
    client = make_client(params={})
    with pytest.warns(DeprecationWarning, match="start_bot_and_connect"):
        await client.connect({"endpoint": START, "requestData": {"a": 1}})
    (request,) = http.requests
    assert (request.url, request.body) == (START, {"a": 1})
    assert transport.auth_bundle == {**REPLY, START_ENDPOINT_KEY: START}


async def test_start_bot_takes_an_api_request(
    make_client: Callable[..., RTVIClient], http: FakeHTTP, transport: MemoryTransport
) -> None:
    http.responder = lambda req: json_response(REPLY)
    client = make_client(params={})
    api_request = {
        "endpoint": START,
        "headers": {"Authorization": "Bearer k"},
        "requestData": {"body": {"x": 1}},
        "timeout": 4,
    }
    assert await client.start_bot(api_request) == REPLY
    (request,) = http.requests
    assert (request.url, request.body, request.timeout) == (START, {"body": {"x": 1}}, 4)
    assert request.headers["Authorization"] == "Bearer k"
    # The transport knows how the bot was started (client-js startBotParams).
    assert transport.start_bot_params == StartRequest.make(
        START, {"body": {"x": 1}}, {"Authorization": "Bearer k"}, 4
    )
    await client.start_bot_and_connect({"endpoint": START})
    assert client.state == TransportState.READY


async def test_bad_requests_and_params_are_invalid_transport_params(
    make_client: Callable[..., RTVIClient],
) -> None:
    client = make_client(params={})
    with pytest.raises(InvalidTransportParamsError, match="not both"):
        await client.start_bot({"endpoint": START}, timeout=3)
    with pytest.raises(InvalidTransportParamsError, match="unknown key"):
        await client.start_bot({"endpoint": START, "body": {}})
    with pytest.raises(InvalidTransportParamsError) as info:
        await client.connect(42)
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)


# --- SmallWebRTC: where the offer goes, with which headers and codecs -------------------------


def test_session_id_templates_of_client_js() -> None:
    template = "https://cloud.example/v1/sessions/:sessionId/api/offer"
    assert derive_offer_url(START, "abc", template) == (
        "https://cloud.example/v1/sessions/abc/api/offer"
    )
    assert derive_offer_url(START, "abc") == "http://runner.example:7860/sessions/abc/api/offer"


def test_webrtc_request_params_and_connection_url() -> None:
    request = {"endpoint": "http://b/offer", "headers": {"X": "1"}, "requestData": {"k": 2}}
    target = resolve_target({"webrtcRequestParams": request})
    assert (target.offer_url, target.headers, target.request_data) == (
        "http://b/offer",
        {"X": "1"},
        {"k": 2},
    )
    assert resolve_target(None, webrtc_request_params=request).offer_url == "http://b/offer"
    assert resolve_target({"connectionUrl": "http://c/offer"}).offer_url == "http://c/offer"
    derived = resolve_target({"sessionId": "s", START_ENDPOINT_KEY: START})
    assert derived.from_start and not resolve_target({"webrtcUrl": "http://w"}).from_start
    with pytest.raises(InvalidTransportParamsError):
        resolve_target({"webrtcRequestParams": {"headers": {}}})


def test_the_offer_reuses_the_start_headers(http: FakeHTTP) -> None:
    transport = SmallWebRTCTransport()
    RTVIClient(transport=transport, params={"headers": {"P": "p"}}, http=http)
    transport.start_bot_params = StartRequest.make(START, headers={"Authorization": "Bearer k"})
    derived = transport.resolve_target({**REPLY, START_ENDPOINT_KEY: START})
    assert transport.offer_headers(derived) == {"P": "p", "Authorization": "Bearer k"}
    own = transport.resolve_target({"webrtcUrl": "http://w/offer"})
    assert transport.offer_headers(own) == {"P": "p"}  # not the start endpoint's session


SDP = "\r\n".join(
    [
        "v=0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtpmap:63 red/48000/2",
        "a=rtpmap:9 G722/8000",
        "a=rtpmap:0 PCMU/8000",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:* nack",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "a=rtpmap:98 H264/90000",
        "",
    ]
)


def test_codec_filter_keeps_one_codec_and_its_rtx() -> None:
    audio = filter_codec(SDP, "audio", "opus")
    assert "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" in audio
    assert "G722" not in audio and "a=fmtp:111 minptime" in audio and "H264" in audio
    video = filter_codec(SDP, "video", "VP8")
    assert "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n" in video
    assert "a=fmtp:97 apt=96" in video and "H264" not in video and "a=rtcp-fb:* nack" in video
    assert filter_codec(SDP, "video", "AV1") == SDP  # not offered: left alone
    assert filter_codec(SDP, "audio", "default") == SDP
    transport = SmallWebRTCTransport(audio_codec="opus")
    transport.set_video_codec("H264")
    assert "m=video 9 UDP/TLS/RTP/SAVPF 98\r\n" in transport._filter_sdp(SDP)


def test_client_js_option_spellings() -> None:
    with pytest.warns(DeprecationWarning):
        transport = SmallWebRTCTransport(connection_url="http://c/offer")
    assert transport.offer_url == "http://c/offer"
    assert SmallWebRTCTransport(wait_for_ice_gathering=True).ice_trickle is False


# --- media state ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "kind", "reason"),
    [
        ("NotAllowedError", "Permission denied", "permissions", "blocked"),
        ("NotReadableError", "Device in use", "in-use", "already-in-use"),
        ("NotFoundError", "Requested device not found", "not-found", "not-found"),
        ("OverconstrainedError", "", "constraints", "invalid-constraints"),
        ("", "navigator.mediaDevices is unavailable", "undefined-mediadevices", "not-supported"),
        ("TypeError", "something else", "unknown", "unknown"),
    ],
)
def test_device_errors_carry_client_js_types_and_reasons(
    name: str, text: str, kind: str, reason: str
) -> None:
    assert device_error_type(name, text) == kind
    error = make_device_error(["mic"], name, text)
    assert (error.devices, error.type, error.reason) == (["mic"], kind, reason)
    with pytest.raises(ValueError):
        DeviceError(["mic"], "bogus")


def test_media_state_moves() -> None:
    seen: list[Any] = []
    tracker = MediaStateTracker(seen.append)
    assert tracker.needs_init(mic=True, cam=False)
    tracker.initializing()
    tracker.granted("mic")
    tracker.initialized(failed=False)
    assert tracker.state.to_dict() == {
        "mic": {"state": "granted"},
        "cam": {"state": "uninitialized"},
    }
    assert not tracker.needs_init(mic=True, cam=False) and tracker.needs_init(mic=True, cam=True)
    tracker.device_error(make_device_error(["cam"], "NotFoundError", "no camera"))
    assert tracker.state.cam.reason == "not-found"
    tracker.device_error(RuntimeError("not a device error"))  # ignored
    tracker.granted("cam")  # plugged in and opened later
    assert len(seen) == 5 and tracker.state.cam == DeviceStatus("granted")
    tracker.initializing()
    tracker.initialized(failed=True)
    assert tracker.state.mic.to_dict() == {"state": "error", "reason": "unknown"}


class DeviceTransport(MemoryTransport):
    """Opens the mic in init_devices (or fails as a browser would)."""

    failure: DeviceError | None = None

    async def init_devices(self) -> None:
        await super().init_devices()
        if self.failure is not None:
            self.callbacks.on_device_error(self.failure)
            raise self.failure
        mic = type("Track", (), {"kind": "audio"})()
        self.callbacks.on_track_started(mic, Participant("local", "local", local=True))


async def test_the_client_tracks_media_state(make_client: Callable[..., RTVIClient]) -> None:
    transport = DeviceTransport()
    changes: list[Any] = []
    client = make_client(transport=transport, callbacks={"on_media_state_changed": changes.append})
    assert client.needs_init() and client.media_state.mic.state == "uninitialized"
    await client.init_devices()
    assert client.media_state.to_dict() == {
        "mic": {"state": "granted"},
        "cam": {"state": "uninitialized"},
    }
    assert not client.needs_init()
    assert [c.mic.state for c in changes] == ["initializing", "granted", "granted"]
    errors: list[Any] = []
    client.on(RTVIEvent.DEVICE_ERROR, errors.append)
    failing = DeviceTransport()
    failing.failure = make_device_error(["mic"], "NotAllowedError", "Permission denied")
    client = make_client(transport=failing)
    client.on(RTVIEvent.DEVICE_ERROR, errors.append)
    with pytest.raises(DeviceError) as info:
        await client.connect()  # opens the devices first
    assert info.value.reason == "blocked" and errors == [failing.failure]
    assert client.state == TransportState.ERROR
    assert client.media_state.mic.to_dict() == {
        "state": "error",
        "reason": "blocked",
        "details": {"name": "NotAllowedError", "message": "Permission denied"},
    }


# --- the bot leaving --------------------------------------------------------------------------


async def test_disconnect_on_bot_disconnect_false_keeps_the_session() -> None:
    transport, events = lifecycle_setup()
    transport.options.disconnect_on_bot_disconnect = False
    await lifecycle_connect(transport)
    transport._bot_left(transport.sessions[0])
    await transport._background.wait()
    assert events.seen[-1] == "bot-disconnected" and transport.state is TransportState.CONNECTED


def test_the_client_hands_its_options_to_the_transport(transport: MemoryTransport) -> None:
    RTVIClient(transport=transport, enable_screen_share=True, disconnect_on_bot_disconnect=False)
    assert transport.options.enable_screen_share is True
    assert transport.options.disconnect_on_bot_disconnect is False


# --- the async rule and its deprecations --------------------------------------------------------


async def test_calls_that_only_send_return_at_once(client: RTVIClient, bot: FakeBot) -> None:
    with pytest.warns(DeprecationWarning, match="send_text"):
        sent = client.append_to_context("user", "hi")
    assert sent.value is True  # not waiting for a result pipecat 1.x never sends
    assert (await asyncio.wait_for(bot.wait_for("append-to-context"), WAIT))["data"][
        "content"
    ] == "hi"
    client.disconnect_bot()  # no await: it only sends
    assert (await asyncio.wait_for(bot.wait_for("disconnect-bot"), WAIT))["data"] == {}
    with pytest.warns(DeprecationWarning, match="drop the 'await'"):
        await client.disconnect_bot()


async def test_what_the_transport_cannot_do_is_routed_and_raised(
    make_client: Callable[..., RTVIClient],
) -> None:
    seen: list[Any] = []
    client = make_client(callbacks={"on_unsupported_feature": seen.append})
    with pytest.raises(UnsupportedFeatureError) as info:
        client.enable_screen_share(True)  # the memory transport has no screen
    assert seen == [info.value]


def test_the_transport_trickles_ice_unless_told_not_to() -> None:
    assert SmallWebRTCTransport().resolve_target({"webrtcUrl": "http://w"}).ice_trickle is True
    said_no = {"webrtcUrl": "http://w", "ice_trickle": False}
    assert SmallWebRTCTransport().resolve_target(said_no).ice_trickle is False
    assert (
        SmallWebRTCTransport(ice_trickle=False).resolve_target({"webrtcUrl": "w"}).ice_trickle
        is False
    )


# --- WebSocketTransport: client-js's token and sendRawMessage -------------------------------------


async def test_websocket_send_raw_message_and_token() -> None:
    from rtvi.transports.websocket import WebSocketTransport
    from rtvi.transports.websocket.protobuf import MessageFrame, decode_frame

    from .test_websocket_session import Setup

    transport = WebSocketTransport(token="t0k", max_message_size=200)
    assert transport.resolve_url({"wsUrl": "ws://bot/ws"}) == "ws://bot/ws?token=t0k"
    assert transport.resolve_url({"wsUrl": "ws://bot/ws", "token": "own"}).endswith("token=own")
    with pytest.raises(TransportNotConnectedError):
        transport.send_raw_message({"x": 1})
    setup = Setup()
    await setup.session.open()
    transport._session = setup.session
    transport.send_raw_message({"type": "custom", "n": 1})
    frame = decode_frame(setup.sockets[0].sent[-1])  # type: ignore[arg-type]
    assert isinstance(frame, MessageFrame) and json.loads(frame.data) == {"type": "custom", "n": 1}
    with pytest.raises(MessageTooLargeError):
        transport.send_raw_message({"big": "x" * 500})
    transport._session = None
    setup.session.close()
