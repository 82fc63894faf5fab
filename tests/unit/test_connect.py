"""connect()/disconnect(): auth request, bundle, timeout over the whole flow, cancellation, reuse."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from rtvi import (
    AbortError,
    BotAlreadyStartedError,
    BufferedHTTPResponse,
    ConnectionTimeoutError,
    RTVIClient,
    RTVIClientParams,
    RTVIError,
    RTVIEvent,
    StartBotError,
    TransportStartError,
    TransportState,
    TransportStateError,
    __version__,
)
from rtvi.abort import AbortSignal
from rtvi.http import HTTPError
from rtvi.transports.memory import FakeBot, MemoryTransport

from .conftest import CONFIG, WAIT, FakeHTTP, Recorded, json_response, next_event, wait_state

PARAMS = {
    "base_url": "http://bots.example/api/",
    "request_data": {"room": "r1"},
    "headers": {"Authorization": "Bearer t"},
    "config": CONFIG,
    "services": {"llm": "together", "tts": "cartesia"},
}


async def test_connect_posts_then_hands_bundle_to_transport(
    make_client: Callable[..., RTVIClient],
    http: FakeHTTP,
    transport: MemoryTransport,
    bot: FakeBot,
) -> None:
    http.responder = lambda req: json_response({"room_url": "memory://1", "token": "tok"})
    states: list[TransportState] = []
    ready_cb: list[Any] = []
    client = make_client(
        params=PARAMS,
        callbacks={"on_transport_state_changed": states.append, "onBotReady": ready_cb.append},
    )
    started = next_event(client, RTVIEvent.BOT_STARTED)
    data = await client.connect()

    assert data == {"version": "1.0.0", "about": {"library": "pyrtvi-fakebot"}}
    assert ready_cb == [data] and client.bot_ready_data == data
    assert client.bot_version == (1, 0, 0)
    assert states == [
        "initializing",
        "initialized",
        "authenticating",
        "connecting",
        "connected",
        "ready",
    ]
    assert client.connected and client.state == "ready"
    [req] = http.requests
    assert (req.method, req.url) == ("POST", "http://bots.example/api/connect")
    assert req.headers == {"Content-Type": "application/json", "Authorization": "Bearer t"}
    assert req.body == {
        "services": {"llm": "together", "tts": "cartesia"},
        "config": CONFIG,
        "room": "r1",
        "rtvi_client_version": __version__,
    }
    assert transport.auth_bundle == {"room_url": "memory://1", "token": "tok"}
    assert (await asyncio.wait_for(started, WAIT)) == ({"room_url": "memory://1", "token": "tok"},)
    # client-ready carries the protocol version and about block; bot-ready answers its id
    ready = await bot.wait_for("client-ready")
    assert ready["data"]["version"] == "2.2.0"
    assert ready["data"]["about"]["library"] == "pyrtvi"
    assert ready["data"]["about"]["library_version"] == __version__
    assert ready["data"]["about"]["platform"] == "CPython"


async def test_params_are_read_at_request_time(
    make_client: Callable[..., RTVIClient], http: FakeHTTP
) -> None:
    http.responder = lambda req: json_response({})
    client = make_client(params=RTVIClientParams(base_url="http://a"))
    client.params.base_url = "http://b/"
    client.params.endpoints.connect = "/start"
    client.params.request_data["x"] = 1
    client.params.headers["X-Key"] = "k"
    await client.connect()
    assert http.requests[0].url == "http://b/start"
    assert http.requests[0].body["x"] == 1
    assert http.requests[0].headers["X-Key"] == "k"
    assert "rtvi_client_version" not in client.params.request_data  # not mutated, unlike JS


def test_construct_url(make_client: Callable[..., RTVIClient]) -> None:
    client = make_client(params={"base_url": "http://h/x//", "endpoints": {"action": "/act"}})
    assert client.construct_url("connect") == "http://h/x/connect"
    assert client.construct_url("action") == "http://h/x/act"
    client.params.endpoints.connect = "https://other/start"
    assert client.construct_url("connect") == "https://other/start"
    with pytest.raises(ValueError, match="unknown endpoint"):
        client.construct_url("nope")
    client.params.base_url = None
    with pytest.raises(RTVIError, match="Base URL not set"):
        client.construct_url("action")


async def test_custom_connect_handler_replaces_the_post(
    make_client: Callable[..., RTVIClient], http: FakeHTTP, transport: MemoryTransport
) -> None:
    seen: list[Any] = []

    async def handler(params: RTVIClientParams, timeout: float | None, abort: AbortSignal) -> Any:
        seen.append((params.base_url, timeout, abort.aborted))
        return {"offer_url": "/api/offer"}

    client = make_client(params=PARAMS, custom_connect_handler=handler, timeout=3)
    await client.connect()
    assert seen == [("http://bots.example/api/", 3, False)]
    assert http.requests == []
    assert transport.auth_bundle == {"offer_url": "/api/offer"}


async def test_sync_custom_handler_and_direct_connect(
    make_client: Callable[..., RTVIClient], http: FakeHTTP, transport: MemoryTransport
) -> None:
    client = make_client(params=PARAMS, custom_connect_handler=lambda p, t, a: "bundle")
    await client.connect()
    assert transport.auth_bundle == "bundle"
    await client.disconnect()
    direct = make_client()  # no base_url, endpoints.connect None → no POST at all
    await direct.connect()
    assert http.requests == [] and transport.auth_bundle is None


@pytest.mark.parametrize(
    ("status", "body", "content_type", "message"),
    [
        (401, '{"info": "bad key"}', "application/json", "bad key"),
        (422, '{"detail": "missing room"}', "application/json", "missing room"),
        (500, '{"error": "boom", "detail": {"x": 1}}', "application/json", '{"x": 1}'),
        (502, "<html>Bad Gateway</html>", "text/html", "<html>Bad Gateway</html>"),
        (503, "", "text/plain", "Service Unavailable"),
    ],
)
async def test_non_2xx_is_start_bot_error_with_server_message(
    make_client: Callable[..., RTVIClient],
    http: FakeHTTP,
    status: int,
    body: str,
    content_type: str,
    message: str,
) -> None:
    http.responder = lambda req: BufferedHTTPResponse(
        status, body, {"Content-Type": content_type}, reason="Service Unavailable"
    )
    client = make_client(params=PARAMS)
    with pytest.raises(StartBotError) as info:
        await client.connect()
    assert info.value.status == status
    assert info.value.message == message
    assert client.state == TransportState.ERROR


async def test_network_error_and_non_json_success(
    make_client: Callable[..., RTVIClient], http: FakeHTTP
) -> None:
    def fail(req: Recorded) -> Any:
        raise HTTPError("connection refused")

    http.responder = fail
    client = make_client(params=PARAMS)
    with pytest.raises(StartBotError, match="connection refused") as info:
        await client.connect()
    assert info.value.status == 500
    http.responder = lambda req: BufferedHTTPResponse(200, "not json")
    with pytest.raises(StartBotError, match="did not return JSON"):
        await client.connect()
    assert client.state == TransportState.ERROR


async def test_timeout_bounds_the_wait_for_bot_ready(
    make_client: Callable[..., RTVIClient], bot: FakeBot, transport: MemoryTransport
) -> None:
    bot.answer_ready = False
    client = make_client(timeout=0.2)
    states: list[str] = []
    client.on("transportStateChanged", states.append)
    with pytest.raises(ConnectionTimeoutError, match="ready state"):
        await client.connect()
    assert client.state == TransportState.ERROR
    assert "disconnected" in states  # the transport was torn down
    assert bot.transport is None
    # the same client connects again once the bot answers
    bot.answer_ready = True
    assert (await client.connect())["version"] == "1.0.0"


async def test_timeout_bounds_a_hanging_auth_request(
    make_client: Callable[..., RTVIClient], http: FakeHTTP
) -> None:
    aborted: list[bool] = []

    async def hang(req: Recorded) -> Any:
        assert req.abort is not None
        req.abort.add_callback(lambda _r: aborted.append(True))
        await asyncio.Event().wait()

    http.responder = hang
    client = make_client(params=PARAMS, timeout=0.1)
    with pytest.raises(ConnectionTimeoutError):
        await client.connect()
    assert aborted == [True]
    assert client.state == TransportState.ERROR


@pytest.mark.parametrize("phase", ["auth", "transport", "bot-ready"])
async def test_disconnect_cancels_connect_at_any_moment(
    make_client: Callable[..., RTVIClient],
    http: FakeHTTP,
    bot: FakeBot,
    transport: MemoryTransport,
    phase: str,
) -> None:
    release = asyncio.Event()

    async def slow(req: Recorded) -> Any:
        await release.wait()
        return json_response({})

    if phase == "auth":
        http.responder = slow
        target = TransportState.AUTHENTICATING
    elif phase == "transport":
        transport.connect_delay = 30
        target = TransportState.CONNECTING
    else:
        bot.answer_ready = False
        target = TransportState.READY
    client = make_client(params=PARAMS, custom_connect_handler=None, timeout=None)
    if phase != "auth":
        http.responder = lambda req: json_response({})
    task = asyncio.ensure_future(client.connect())
    await wait_state(client, target)
    await client.disconnect()
    with pytest.raises(AbortError, match="interrupted by disconnect"):
        await asyncio.wait_for(task, WAIT)
    assert client.state == TransportState.DISCONNECTED
    # nothing left dangling: a fresh connect works on the same client
    transport.connect_delay = 0
    bot.answer_ready = True
    http.responder = lambda req: json_response({})
    assert (await client.connect())["version"] == "1.0.0"
    assert client.state == TransportState.READY


async def test_second_connect_is_refused(
    make_client: Callable[..., RTVIClient], bot: FakeBot
) -> None:
    bot.answer_ready = False
    client = make_client(timeout=None)
    task = asyncio.ensure_future(client.connect())
    await wait_state(client, TransportState.READY)
    with pytest.raises(BotAlreadyStartedError):
        await client.connect()
    await client.disconnect()
    with pytest.raises(AbortError):
        await task


async def test_reconnect_after_disconnect_reinitialises_devices(
    client: RTVIClient, transport: MemoryTransport
) -> None:
    disconnected = next_event(client, RTVIEvent.DISCONNECTED)
    await client.disconnect()
    await asyncio.wait_for(disconnected, WAIT)
    assert client.state == "disconnected" and not client.connected
    await client.connect()
    assert client.state == "ready"
    assert transport.init_devices_calls == 2
    await client.disconnect()
    await client.disconnect()  # idempotent
    assert client.state == "disconnected"


async def test_transport_failure_is_transport_start_error(
    make_client: Callable[..., RTVIClient], transport: MemoryTransport
) -> None:
    transport.fail_connect = True
    client = make_client()
    with pytest.raises(TransportStartError, match="refused"):
        await client.connect()
    assert client.state == TransportState.ERROR


async def test_unexpected_transport_exception_is_wrapped(
    make_client: Callable[..., RTVIClient], transport: MemoryTransport
) -> None:
    async def broken(bundle: Any, abort: AbortSignal) -> None:
        raise OSError("socket exploded")

    transport.connect = broken  # type: ignore[method-assign,assignment]
    client = make_client()
    with pytest.raises(TransportStartError, match="socket exploded"):
        await client.connect()


async def test_transport_dropping_before_bot_ready_fails_fast(
    make_client: Callable[..., RTVIClient], bot: FakeBot, transport: MemoryTransport
) -> None:
    bot.answer_ready = False
    client = make_client(timeout=None)  # no timeout: must still not hang
    task = asyncio.ensure_future(client.connect())
    await wait_state(client, TransportState.READY)
    await transport.disconnect()  # e.g. the peer left
    with pytest.raises(TransportStartError, match="before the bot was ready"):
        await asyncio.wait_for(task, WAIT)


async def test_cancelling_the_caller_tears_the_session_down(
    make_client: Callable[..., RTVIClient], bot: FakeBot
) -> None:
    bot.answer_ready = False
    client = make_client(timeout=None)
    task = asyncio.ensure_future(client.connect())
    await wait_state(client, TransportState.READY)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_state(client, TransportState.DISCONNECTED)


async def test_constructor_validation(transport: MemoryTransport) -> None:
    with pytest.raises(TypeError, match=r"rtvi\.Transport"):
        RTVIClient(transport=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        RTVIClient(transport=transport, timeout=0)
    with pytest.raises(TypeError, match="unknown callback"):
        RTVIClient(transport=transport, callbacks={"on_nothing": print})


async def test_fatal_error_before_bot_ready_fails_connect_with_its_reason(
    make_client: Callable[..., RTVIClient], bot: FakeBot
) -> None:
    def crash(data: Any, msg_id: Any) -> None:
        bot.send("error", {"error": "LLM service unavailable", "fatal": True})

    bot._on_client_ready = crash  # type: ignore[method-assign]
    client = make_client(timeout=None)
    errors = next_event(client, RTVIEvent.ERROR)
    with pytest.raises(RTVIError, match="LLM service unavailable"):
        await asyncio.wait_for(client.connect(), WAIT)
    assert (await asyncio.wait_for(errors, WAIT))[0].data["fatal"] is True
    assert client.state == TransportState.ERROR
    assert bot.transport is None  # torn down


async def test_connect_while_devices_initialize_is_refused_and_nothing_breaks(
    make_client: Callable[..., RTVIClient], transport: MemoryTransport
) -> None:
    client = make_client()
    init = asyncio.ensure_future(client.init_devices())
    await asyncio.sleep(0)
    assert client.state == TransportState.INITIALIZING
    with pytest.raises(TransportStateError, match="initializing -> authenticating"):
        await client.connect()
    await asyncio.wait_for(init, WAIT)  # init_devices() finishes undisturbed
    assert client.state == TransportState.INITIALIZED
    await client.connect()
    assert client.state == TransportState.READY
    assert transport.init_devices_calls == 1  # connect() did not initialize again


async def test_connect_while_disconnecting_is_refused(client: RTVIClient) -> None:
    leaving = asyncio.ensure_future(client.disconnect())
    await asyncio.sleep(0)
    assert client.state == TransportState.DISCONNECTING
    with pytest.raises(TransportStateError, match="disconnecting -> authenticating"):
        await client.connect()
    await asyncio.wait_for(leaving, WAIT)
    assert client.state == TransportState.DISCONNECTED
    await client.connect()
    assert client.state == TransportState.READY


async def test_set_transport_between_sessions_only(
    make_client: Callable[..., RTVIClient], transport: MemoryTransport
) -> None:
    client = make_client(enable_mic=False)
    await client.connect()
    other = MemoryTransport(FakeBot(config=CONFIG))
    with pytest.raises(BotAlreadyStartedError):
        client.set_transport(other)  # a session is up
    with pytest.raises(TypeError):
        client.set_transport(object())  # type: ignore[arg-type]
    await client.disconnect()
    client.set_transport(other)
    assert client.transport is other and not other.is_mic_enabled
    states: list[TransportState] = []
    client.on(RTVIEvent.TRANSPORT_STATE_CHANGED, states.append)
    await client.connect()
    assert client.state == "ready" and states[-1] == "ready"
    assert transport.state == "disconnected"  # the old one is left alone
    await client.disconnect()


class OpensInAnEvent(MemoryTransport):
    """Reports ``connected`` and calls the client's hook before ``connect()`` returns, as
    SmallWebRTC does from the data channel's ``open`` event (``Transport.connected_now``)."""

    def __init__(self, bot: FakeBot, *, can_send_now: bool = True) -> None:
        super().__init__(bot)
        self.can_send_now = can_send_now
        self.log: list[str] = []

    async def connect(self, auth_bundle: Any, abort: AbortSignal) -> None:
        await super().connect(auth_bundle, abort)
        self.connected_now()
        self.connected_now()  # once per connect: the hook was cleared
        self.log.append(f"connect returns, sent {[m['type'] for m in self.sent]}")

    def send_ready_now(self, message: Any) -> bool:
        if not self.can_send_now:
            return False
        self.send_message(message)
        self.state = TransportState.READY
        return True


@pytest.mark.parametrize("can_send_now", [True, False])
async def test_client_ready_goes_out_as_the_transport_connects(
    make_client: Callable[..., RTVIClient], bot: FakeBot, can_send_now: bool
) -> None:
    transport = OpensInAnEvent(bot, can_send_now=can_send_now)
    client = make_client(transport=transport)
    order: list[str] = []
    client.on(RTVIEvent.TRANSPORT_STATE_CHANGED, lambda state: order.append(str(state)))
    client.on(RTVIEvent.CONNECTED, lambda: order.append("on_connected"))
    client.on(RTVIEvent.BOT_CONNECTED, lambda participant: order.append("on_bot_connected"))
    await client.connect()
    # The same states, callbacks and messages in the same order either way; sent by the
    # transport's hook, client-ready is out before connect() returns.
    assert order[order.index("connecting") :] == [
        "connecting",
        "connected",
        "on_connected",
        "on_bot_connected",
        "ready",
    ]
    assert [m["type"] for m in transport.sent] == ["client-ready"]
    sent_at_once = ["client-ready"] if can_send_now else []
    assert transport.log == [f"connect returns, sent {sent_at_once}"]
    timings = client.connect_timings
    assert timings is not None and list(timings.split_ms()) == [
        "init",
        "auth",
        "transport",
        "ready",
    ]
    assert client.state == TransportState.READY and transport._connected_hook is None
    await client.disconnect()


async def test_the_page_hears_of_the_call_and_of_the_connect_in_flight(
    make_client: Callable[..., RTVIClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rtvi.embedding``: the call is on from connect() to disconnected; the connect is in
    flight only until bot-ready (the boot's later files wait for no connect, not for no call)."""
    from rtvi import embedding

    said: list[tuple[str, bool]] = []

    class Gate:
        def callActive(self, id: int, active: bool) -> None:
            said.append(("call", active))

        def connectActive(self, id: int, active: bool) -> None:
            said.append(("connect", active))

    gate = Gate()
    monkeypatch.setattr(embedding, "_gate", lambda: gate)
    client = make_client()
    await client.connect()
    await asyncio.sleep(0)  # the attempt's done callbacks
    assert said == [("call", True), ("connect", True), ("connect", False)]
    await client.disconnect()
    assert said[-1] == ("call", False)
