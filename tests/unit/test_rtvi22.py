"""RTVI 2.2: version negotiation, bot-ready capabilities, the 2.x routes, capability and version
gating of the 2.x sends, the client-js 1.x start flow (start_bot, start_bot_and_connect,
connect(transport_params)), start reply parsing and file upload."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

import pytest
from rtvi import (
    BotAlreadyStartedError,
    BotNotReadyError,
    BufferedHTTPResponse,
    RTVIClient,
    RTVIEvent,
    RTVIMessage,
    StartBotError,
    UnsupportedFeatureError,
)
from rtvi import routing as r
from rtvi.features import Feature, dtmf_uses_buttons, unsupported, validate_protocol_version
from rtvi.messages import BotReady
from rtvi.routing import Call
from rtvi.start import (
    START_ENDPOINT_KEY,
    FileUploadError,
    StartReply,
    StartRequest,
    multipart_body,
    parse_upload_reply,
    transport_params,
)
from rtvi.transports.memory import FakeBot, MemoryTransport

from .conftest import WAIT, FakeHTTP, Recorded, json_response, next_event

CAPS = {
    "audio_in": True,
    "audio_out": True,
    "video_in": False,
    "screen_in": False,
    "video_out": False,
    "metrics": True,
}

# --- routing: every type pipecat 1.14 sends has a row ------------------------------------------

#: The bot → client literals of pipecat 1.14's rtvi/models.py (PROTOCOL.md §8.2), without the
#: three client → bot UI types it also declares.
PIPECAT_114_SENDS = [
    "bot-ready",
    "error",
    "error-response",
    "server-message",
    "server-response",
    "metrics",
    "user-started-speaking",
    "user-stopped-speaking",
    "vad-user-started-speaking",
    "vad-user-stopped-speaking",
    "user-transcription",
    "user-llm-text",
    "user-input",
    "user-mute-started",
    "user-mute-stopped",
    "user-audio-level",
    "bot-started-speaking",
    "bot-stopped-speaking",
    "bot-interrupted",
    "bot-llm-started",
    "bot-llm-text",
    "bot-llm-stopped",
    "bot-llm-marker",
    "llm-raw-text",
    "stt-raw-text",
    "tts-raw-text",
    "bot-tts-started",
    "bot-tts-text",
    "bot-tts-stopped",
    "bot-tts-audio",
    "bot-output",
    "bot-transcription",
    "bot-audio-level",
    "llm-function-call",
    "llm-function-call-started",
    "llm-function-call-in-progress",
    "llm-function-call-stopped",
    "system-log",
    "ui-command",
    "ui-job-group",
]


@pytest.mark.parametrize("msg_type", PIPECAT_114_SENDS)
def test_every_pipecat_114_type_has_a_route(msg_type: str) -> None:
    assert msg_type in r.ROUTES, msg_type
    assert r.route(msg_type) != r.UNKNOWN_ROUTE


PLANS_22: list[tuple[str, Any, list[Call]]] = [
    (
        "user-input",
        {"text": "hi", "input_type": "chat", "final": True},
        [Call("on_user_input", ({"text": "hi", "input_type": "chat", "final": True},))],
    ),
    ("vad-user-started-speaking", None, [Call("on_vad_user_started_speaking", ())]),
    ("vad-user-stopped-speaking", {}, [Call("on_vad_user_stopped_speaking", ())]),
    ("bot-interrupted", None, [Call("on_bot_interrupted", ())]),
    (
        "stt-raw-text",
        {"text": "a", "final": False},
        [Call("on_stt_raw_text", ({"text": "a", "final": False},))],
    ),
    ("llm-raw-text", {"text": "b"}, [Call("on_llm_raw_text", ({"text": "b"},))]),
    ("tts-raw-text", {"text": "c"}, [Call("on_tts_raw_text", ({"text": "c"},))]),
    ("bot-llm-marker", {"text": "✓"}, [Call("on_bot_llm_marker", ({"text": "✓"},))]),
    ("bot-tts-audio", {"audio": "AA=="}, [Call("on_bot_tts_audio", ({"audio": "AA=="},))]),
    ("user-audio-level", {"value": 0.5}, [Call("on_user_audio_level", (0.5,))]),
    ("bot-audio-level", {"value": 0.25}, [Call("on_bot_audio_level", (0.25,))]),
    ("system-log", {"text": "started"}, [Call("on_system_log", ("started",))]),
    (
        "ui-job-group",
        {"kind": "group_started"},
        [Call("on_ui_job_group", ({"kind": "group_started"},))],
    ),
]


@pytest.mark.parametrize(("msg_type", "data", "expected"), PLANS_22)
def test_plan_22(msg_type: str, data: Any, expected: list[Call]) -> None:
    assert r.plan(RTVIMessage(msg_type, data)) == expected


def test_new_events_carry_pyrtvi_names() -> None:
    assert RTVIEvent.USER_INPUT == "userInput"
    assert RTVIEvent.BOT_INTERRUPTED == "botInterrupted"
    assert RTVIEvent.VAD_USER_STARTED_SPEAKING == "vadUserStartedSpeaking"


async def test_v2_bot_output_reaches_its_callback(
    make_client: Callable[..., RTVIClient], bot: FakeBot
) -> None:
    outputs: list[Any] = []
    client = make_client(callbacks={"on_bot_output": outputs.append})
    await client.connect()
    output = {
        "text": "Hello there.",
        "output_type": "sentence",
        "aggregated_by": "sentence",
        "will_be_spoken": True,
        "spoken_status": "in-progress",
        "spoken_progress": {"accumulated_text": "Hello", "remaining_text": " there."},
    }
    got = next_event(client, RTVIEvent.BOT_OUTPUT)
    bot.send("bot-output", output)
    assert await asyncio.wait_for(got, WAIT) == (output,)
    assert outputs == [output]


# --- version negotiation and bot-ready ---------------------------------------------------------


async def test_client_ready_announces_2_2_0_by_default(
    make_client: Callable[..., RTVIClient], bot: FakeBot
) -> None:
    client = make_client()
    assert client.protocol_version == "2.2.0"
    await client.connect()
    ready = await bot.wait_for("client-ready")
    assert ready["data"]["version"] == "2.2.0"
    assert ready["data"]["about"]["library"] == "pyrtvi"


async def test_protocol_version_pins_another(
    make_client: Callable[..., RTVIClient], bot: FakeBot
) -> None:
    client = make_client(protocol_version="1.0.0")
    await client.connect()
    assert (await bot.wait_for("client-ready"))["data"]["version"] == "1.0.0"


@pytest.mark.parametrize("bad", ["2", "2.2", "v2.2.0", "two", "2.2.0-rc1", ""])
def test_a_bad_protocol_pin_is_refused_at_once(bad: str, transport: MemoryTransport) -> None:
    with pytest.raises(ValueError, match="protocol_version"):
        RTVIClient(transport=transport, protocol_version=bad)
    with pytest.raises(ValueError):
        validate_protocol_version(bad)


def test_bot_ready_parses_capabilities_and_about() -> None:
    ready = BotReady.parse(
        {"version": "2.2.0", "about": {"library": "pipecat-ai"}, "capabilities": CAPS}
    )
    assert ready.version == (2, 2, 0)
    assert ready.about == {"library": "pipecat-ai"} and ready.capabilities == CAPS
    old = BotReady.parse({"version": "0.3.0", "config": [], "capabilities": "junk"})
    assert old.capabilities == {} and old.about == {}


async def test_client_exposes_capabilities(
    transport: MemoryTransport, bot: FakeBot, http: FakeHTTP
) -> None:
    bot.protocol_version, bot.capabilities = "2.2.0", CAPS
    client = RTVIClient(
        transport=transport, params={"base_url": None, "endpoints": {"connect": None}}, http=http
    )
    assert client.bot_capabilities == {}
    data = await client.connect()
    assert data["capabilities"] == CAPS
    assert client.bot_capabilities == CAPS
    assert client.bot_about == {"library": "pyrtvi-fakebot"}


# --- gating: nothing is sent, nothing waits ----------------------------------------------------


@pytest.mark.parametrize(
    ("version", "feature", "refused"),
    [
        ("1.2.0", Feature.DTMF, True),
        ("2.0.0", Feature.DTMF, False),
        ("2.1.0", Feature.SEND_FILE, True),
        ("2.2.0", Feature.SEND_FILE, False),
        ("1.2.0", Feature.UI_EVENT, True),
        ("1.3.0", Feature.UI_SNAPSHOT, False),
        ("0.3.0", Feature.UI_CANCEL_JOB_GROUP, True),
        ("junk", Feature.DTMF, True),
    ],
)
def test_version_gating(version: str, feature: Feature, refused: bool) -> None:
    error = unsupported(feature, BotReady.parse({"version": version}))
    assert (error is not None) is refused
    if error is not None:
        assert isinstance(error, UnsupportedFeatureError) and str(feature) in str(error)


def test_no_bot_ready_leaves_it_to_the_readiness_check() -> None:
    assert unsupported(Feature.DTMF, None) is None


def test_dtmf_format_by_version() -> None:
    assert dtmf_uses_buttons(BotReady.parse({"version": "2.1.0"}))
    assert not dtmf_uses_buttons(BotReady.parse({"version": "2.0.0"}))


async def test_sends_to_an_old_bot_fail_at_once(
    make_client: Callable[..., RTVIClient], bot: FakeBot
) -> None:
    bot.protocol_version = "1.2.0"  # pipecat 0.0.108
    client = make_client()
    await client.connect()
    before = len(bot.received)
    calls: list[Callable[[], None]] = [
        lambda: client.send_dtmf("1"),
        lambda: client.send_ui_event("clicked"),
        lambda: client.send_ui_snapshot({"root": {}, "captured_at": 1}),
        lambda: client.cancel_ui_job_group("j1"),
    ]
    for call in calls:
        with pytest.raises(UnsupportedFeatureError, match="RTVI"):
            call()
    with pytest.raises(UnsupportedFeatureError, match="send-file"):
        await client.send_file(b"x", format="text/plain")
    assert len(bot.received) == before


async def test_media_is_not_refused_on_capabilities(
    make_client: Callable[..., RTVIClient], bot: FakeBot
) -> None:
    bot.protocol_version, bot.capabilities = "2.2.0", CAPS
    client = make_client()
    await client.connect()
    assert client.bot_capabilities["video_in"] is False
    client.enable_cam(True)  # a local preview is still a camera: pipecat's flags hide UI
    assert client.is_cam_enabled


async def test_sends_before_ready_raise_bot_not_ready(
    make_client: Callable[..., RTVIClient],
) -> None:
    client = make_client()
    with pytest.raises(BotNotReadyError):
        client.send_dtmf("1")


async def test_dtmf_on_2_2_and_2_0(make_client: Callable[..., RTVIClient], bot: FakeBot) -> None:
    bot.protocol_version = "2.2.0"
    client = make_client()
    await client.connect()
    client.send_dtmf("12#")
    assert (await bot.wait_for("dtmf"))["data"] == {"buttons": ["1", "2", "#"]}
    with pytest.raises(ValueError, match="DTMF"):
        client.send_dtmf("1a")
    with pytest.raises(ValueError):
        client.send_dtmf("")
    await client.disconnect()
    bot.protocol_version = "2.0.0"
    bot.received.clear()
    await client.connect()
    client.send_dtmf(["4", "*"])
    await bot.wait_for("dtmf", lambda m: m["data"] == {"button": "*"})
    assert [m["data"] for m in bot.received if m["type"] == "dtmf"] == [
        {"button": "4"},
        {"button": "*"},
    ]


async def test_ui_messages(make_client: Callable[..., RTVIClient], bot: FakeBot) -> None:
    bot.protocol_version = "2.2.0"
    client = make_client()
    await client.connect()
    client.send_ui_event("clicked", {"id": "b1"})
    client.send_ui_snapshot({"root": {"role": "main"}, "captured_at": 5})
    client.cancel_ui_job_group("job-1", "user closed it")
    assert (await bot.wait_for("ui-event"))["data"] == {"event": "clicked", "payload": {"id": "b1"}}
    assert (await bot.wait_for("ui-snapshot"))["data"] == {
        "tree": {"root": {"role": "main"}, "captured_at": 5}
    }
    assert (await bot.wait_for("ui-cancel-job-group"))["data"] == {
        "job_id": "job-1",
        "reason": "user closed it",
    }


async def test_send_file_inline_and_by_url(
    make_client: Callable[..., RTVIClient], bot: FakeBot
) -> None:
    bot.protocol_version = "2.2.0"
    client = make_client()
    await client.connect()
    sent = await client.send_file(b"hello", format="text/plain", name="a.txt", content="read it")
    msg = await bot.wait_for("send-file")
    assert msg["data"] == {"content": "read it", "file": sent}
    assert sent["source"] == {"type": "bytes", "bytes": base64.b64encode(b"hello").decode()}
    bot.received.clear()
    await client.send_file(
        "https://files.example/x.pdf", format="application/pdf", run_immediately=False
    )
    msg = await bot.wait_for("send-file")
    assert msg["data"]["file"]["source"] == {"type": "url", "url": "https://files.example/x.pdf"}
    assert msg["data"]["options"] == {"run_immediately": False}
    with pytest.raises(ValueError, match="MIME"):
        await client.send_file(b"x", format="txt")


# --- the start flow ----------------------------------------------------------------------------

START = "http://runner.example:7860/start"


def start_reply(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"sessionId": "s-1", "iceConfig": {"iceServers": []}, **(extra or {})}


async def test_start_bot_posts_request_data_as_is(
    make_client: Callable[..., RTVIClient], http: FakeHTTP, transport: MemoryTransport
) -> None:
    http.responder = lambda req: json_response(start_reply())
    started: list[Any] = []
    client = make_client(callbacks={"on_bot_started": started.append})
    body = {"transport": "webrtc", "body": {"greeting": "hi"}}
    reply = await client.start_bot(START, request_data=body, headers={"X-K": "v"}, timeout=3)
    assert reply == start_reply() and started == [reply] and client.start_reply == reply
    (req,) = http.requests
    assert (req.method, req.url, req.body, req.timeout) == ("POST", START, body, 3)
    assert req.headers["X-K"] == "v" and req.headers["Content-Type"] == "application/json"
    assert client.state == "disconnected"  # start_bot alone does not touch the transport
    await client.connect(reply)
    assert transport.auth_bundle == {**reply, START_ENDPOINT_KEY: START}


async def test_start_bot_and_connect(
    make_client: Callable[..., RTVIClient], http: FakeHTTP, transport: MemoryTransport, bot: FakeBot
) -> None:
    bot.protocol_version = "2.2.0"
    http.responder = lambda req: json_response(start_reply())
    client = make_client(params={"base_url": "http://never.example"})
    data = await client.start_bot_and_connect(START, request_data={"body": {"a": 1}})
    assert data["version"] == "2.2.0"
    assert [q.url for q in http.requests] == [START]  # params' connect endpoint not used
    assert transport.auth_bundle == {**start_reply(), START_ENDPOINT_KEY: START}


async def test_start_bot_failure_is_a_start_bot_error(
    make_client: Callable[..., RTVIClient], http: FakeHTTP
) -> None:
    http.responder = lambda req: BufferedHTTPResponse(400, '{"detail": "bad transport"}', {})
    client = make_client()
    with pytest.raises(StartBotError, match="bad transport") as info:
        await client.start_bot_and_connect(START)
    assert info.value.status == 400
    assert client.state == "error"


def test_start_request_validation() -> None:
    with pytest.raises(ValueError):
        StartRequest.make("runner:7860/start")
    with pytest.raises(TypeError):
        StartRequest.make(START, request_data=["x"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        StartRequest.make(START, timeout=0)


async def test_connect_with_transport_params(
    make_client: Callable[..., RTVIClient], http: FakeHTTP, transport: MemoryTransport
) -> None:
    client = make_client(params={"base_url": "http://never.example"})
    await client.connect({"webrtcUrl": "http://bot.example/api/offer"})
    assert transport.auth_bundle == {"webrtcUrl": "http://bot.example/api/offer"}
    await client.disconnect()
    await client.connect("http://bot.example/api/offer")
    assert transport.auth_bundle == {"offer_url": "http://bot.example/api/offer"}
    assert http.requests == []  # transport params: no request at all
    await client.disconnect()
    with pytest.raises(TypeError):
        await client.connect(42)


def test_transport_params_rules() -> None:
    assert transport_params({"sessionId": "s"}, START) == {
        "sessionId": "s",
        START_ENDPOINT_KEY: START,
    }
    assert transport_params({"sessionId": "s"}) == {"sessionId": "s"}
    assert transport_params({"sessionId": "s", "offerUrl": "/o"}, START) == {
        "sessionId": "s",
        "offerUrl": "/o",
    }
    assert transport_params("/api/offer") == {"offer_url": "/api/offer"}
    with pytest.raises(ValueError):
        transport_params("offer")


@pytest.mark.parametrize(
    ("reply", "session", "upload"),
    [
        (
            start_reply({"fileUploadUrl": "/sessions/s-1/files"}),
            "s-1",
            "http://runner.example:7860/sessions/s-1/files",
        ),
        (start_reply({"fileUploadUrl": "https://up.example/f"}), "s-1", "https://up.example/f"),
        (start_reply(), "s-1", None),
        ({"session_id": 7}, "7", None),
        (["not", "a", "mapping"], None, None),
    ],
)
def test_start_reply_parsing(reply: Any, session: str | None, upload: str | None) -> None:
    parsed = StartReply.parse(reply, START)
    assert (parsed.session_id, parsed.file_upload_url, parsed.data) == (session, upload, reply)


def test_multipart_body() -> None:
    body, content_type = multipart_body('a"b.txt', b"\x00data", "text/plain")
    boundary = content_type.split("boundary=")[1]
    assert content_type.startswith("multipart/form-data; boundary=")
    assert body.startswith(f"--{boundary}\r\n".encode()) and body.endswith(
        f"--{boundary}--\r\n".encode()
    )
    assert b'name="file"; filename="a%22b.txt"' in body and b"\r\n\r\n\x00data\r\n" in body


def test_upload_reply_must_carry_a_url() -> None:
    good = {"name": "a", "format": "text/plain", "source": {"type": "url", "url": "pipecat:1"}}
    assert parse_upload_reply(good) == good
    with pytest.raises(FileUploadError):
        parse_upload_reply({"source": {"type": "url"}})


async def test_send_file_uploads_to_the_start_reply_url(
    make_client: Callable[..., RTVIClient], http: FakeHTTP, bot: FakeBot
) -> None:
    bot.protocol_version = "2.2.0"
    uploaded = {
        "name": "a.txt",
        "format": "text/plain",
        "source": {"type": "url", "url": "pipecat:9"},
    }

    def responder(req: Recorded) -> Any:
        if req.url.endswith("/start"):
            return json_response(start_reply({"fileUploadUrl": "/sessions/s-1/files"}))
        return json_response(uploaded)

    http.responder = responder
    client = make_client()
    await client.start_bot_and_connect(START)
    sent = await client.send_file(b"hello", format="text/plain", name="a.txt")
    upload = http.requests[-1]
    assert upload.url == "http://runner.example:7860/sessions/s-1/files"
    assert upload.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert isinstance(upload.body, bytes) and b"hello" in upload.body
    assert sent == {
        "format": "text/plain",
        "source": {"type": "url", "url": "pipecat:9"},
        "name": "a.txt",
    }
    assert (await bot.wait_for("send-file"))["data"]["file"] == sent

    http.responder = lambda req: BufferedHTTPResponse(503, '{"detail": "uploads off"}', {})
    bot.received.clear()
    with pytest.raises(FileUploadError, match="uploads off"):
        await client.send_file(b"x", format="text/plain")
    assert not any(m["type"] == "send-file" for m in bot.received)


async def test_a_later_session_forgets_the_start_reply(
    make_client: Callable[..., RTVIClient], http: FakeHTTP, transport: MemoryTransport
) -> None:
    http.responder = lambda req: json_response(start_reply({"fileUploadUrl": "/f"}))
    client = make_client()
    reply = await client.start_bot(START)
    await client.connect(dict(reply))  # the same session: the reply still applies
    assert client.start_reply == reply
    assert transport.auth_bundle[START_ENDPOINT_KEY] == START
    await client.disconnect()
    await client.connect({"webrtcUrl": "http://other.example/api/offer"})
    assert client.start_reply is None  # no upload to the old session's fileUploadUrl
    await client.disconnect()
    await client.start_bot(START)
    await client.connect()  # the params flow
    assert client.start_reply is None


async def test_start_bot_and_connect_refuses_a_running_session(
    make_client: Callable[..., RTVIClient], http: FakeHTTP
) -> None:
    client = make_client()
    await client.connect()
    with pytest.raises(BotAlreadyStartedError):
        await client.start_bot_and_connect(START)
    with pytest.raises(BotAlreadyStartedError):
        await client.start_bot(START)
    assert http.requests == []  # refused before any request
