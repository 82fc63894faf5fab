"""connect()'s overlap (rtvi.overlap): the start request goes out while the devices open, the
transport prepares while it is in flight, and what a caller sees keeps its order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rtvi import DeviceError, RTVIClient, StartBotError, TransportState
from rtvi.abort import AbortSignal
from rtvi.overlap import AuthKind, ConnectPlan, plan_connect, send_before_devices
from rtvi.params import RTVIClientParams
from rtvi.transports.memory import FakeBot, MemoryTransport
from rtvi.transports.small_webrtc.signalling import (
    PeerConfig,
    prepared_config,
    resolve_target,
    reusable,
)

from .conftest import WAIT, FakeHTTP, Recorded, json_response

START = "http://bots.example/start"
STUN = [{"urls": "stun:stun.example:3478"}]


@pytest.mark.parametrize(
    ("devices", "auth", "plan"),
    [
        (True, AuthKind.REQUEST, ConnectPlan(request_with_devices=True, prepare_transport=True)),
        (False, AuthKind.REQUEST, ConnectPlan(request_with_devices=False, prepare_transport=True)),
        # the caller's handler runs after the devices, as before; the transport still prepares
        (True, AuthKind.CUSTOM, ConnectPlan(request_with_devices=False, prepare_transport=True)),
        # connect(reply): nothing to wait for, nothing to prepare
        (True, AuthKind.NONE, ConnectPlan(request_with_devices=False, prepare_transport=False)),
    ],
)
def test_which_steps_overlap(devices: bool, auth: AuthKind, plan: ConnectPlan) -> None:
    assert plan_connect(devices_pending=devices, auth=auth) == plan


def target(bundle: Any, **options: Any) -> Any:
    return resolve_target(bundle, default_trickle=True, **options)


def test_a_prepared_peer_connection_serves_only_the_same_ice_config() -> None:
    reply = {"sessionId": "s1", "start_endpoint": START}
    plain = prepared_config(None, None, screen_share=False)
    assert plain == PeerConfig(ice_servers=[], ice_trickle=True, screen_share=False)
    assert reusable(plain, target(reply), screen_share=False)
    assert reusable(plain, target({**reply, "iceConfig": {"iceServers": []}}), False)
    # the start reply brings ICE servers the prepared connection did not use: never reused
    assert not reusable(plain, target({**reply, "iceConfig": {"iceServers": STUN}}), False)
    assert not reusable(plain, target({"offer_url": "/o", "ice_servers": STUN}), False)
    # ...unless the option fixed them (the option wins over the reply, here and in the target)
    fixed = prepared_config(STUN, None, screen_share=False)
    assert reusable(
        fixed, target({**reply, "iceConfig": {"iceServers": []}}, ice_servers=STUN), False
    )
    # the trickle choice and the transceivers must match too
    assert not reusable(plain, target({**reply, "ice_trickle": False}), False)
    gathered = prepared_config(None, False, screen_share=False)
    assert reusable(gathered, target(reply, ice_trickle=False), False)
    assert not reusable(plain, target(reply), screen_share=True)


class GatedTransport(MemoryTransport):
    """Devices that open when told (or fail), and a record of what the client asked for."""

    def __init__(self, bot: FakeBot) -> None:
        super().__init__(bot=bot)
        self.devices_open = asyncio.Event()
        self.device_failure: Exception | None = None
        self.granted = True
        self.calls: list[str] = []

    async def devices_granted(self) -> bool:
        return self.granted

    async def init_devices(self) -> None:
        self.calls.append("devices")
        self.state = TransportState.INITIALIZING
        await self.devices_open.wait()
        if self.device_failure is not None:
            raise self.device_failure
        self.calls.append("devices open")
        self.state = TransportState.INITIALIZED

    def prepare_connect(self) -> None:
        self.calls.append("prepare")

    def drop_prepared(self) -> None:
        self.calls.append("drop")

    async def connect(self, auth_bundle: Any, abort: AbortSignal) -> None:
        self.calls.append("connect")
        await super().connect(auth_bundle, abort)


@pytest.fixture
def gated() -> GatedTransport:
    return GatedTransport(FakeBot())


def client_on(gated: GatedTransport, http: FakeHTTP, **kwargs: Any) -> RTVIClient:
    return RTVIClient(transport=gated, http=http, timeout=WAIT, **kwargs)


async def test_the_start_request_goes_out_while_the_devices_open(
    gated: GatedTransport, http: FakeHTTP
) -> None:
    http.responder = lambda req: json_response({"sessionId": "s1"})
    seen: list[str] = []
    client = client_on(
        gated,
        http,
        callbacks={
            "on_transport_state_changed": lambda s: seen.append(str(s)),
            "on_bot_started": lambda reply: seen.append("bot started"),
        },
    )
    task = asyncio.ensure_future(client.start_bot_and_connect(START, {"x": 1}))
    await asyncio.wait_for(http.started.wait(), WAIT)
    assert gated.calls == ["devices"]  # sent before the devices are open
    assert client.state == TransportState.INITIALIZING
    gated.devices_open.set()
    assert (await asyncio.wait_for(task, WAIT))["version"] == "1.0.0"
    # the transport prepared once the devices were open, then connected
    assert gated.calls[:4] == ["devices", "devices open", "prepare", "connect"]
    # what a caller sees keeps its order: on_bot_started after authenticating
    assert seen == [
        "initializing",
        "initialized",
        "authenticating",
        "bot started",
        "connecting",
        "connected",
        "ready",
    ]
    assert gated.auth_bundle["sessionId"] == "s1"


async def test_devices_not_granted_yet_hold_the_request_until_they_are_open(
    gated: GatedTransport, http: FakeHTTP
) -> None:
    """A permission prompt may take seconds or be refused: the request waits, as before."""
    assert send_before_devices(True) and not send_before_devices(False)
    http.responder = lambda req: json_response({"sessionId": "s1"})
    gated.granted = False
    client = client_on(gated, http)
    task = asyncio.ensure_future(client.start_bot_and_connect(START))
    for _ in range(20):
        await asyncio.sleep(0)
    assert http.requests == [] and gated.calls == ["devices"]
    gated.devices_open.set()
    await asyncio.wait_for(task, WAIT)
    assert len(http.requests) == 1


async def test_a_refused_prompt_asks_nothing_of_the_server(
    gated: GatedTransport, http: FakeHTTP
) -> None:
    gated.granted = False
    gated.device_failure = DeviceError(["mic"], "permissions", "blocked")
    gated.devices_open.set()
    client = client_on(gated, http)
    with pytest.raises(DeviceError):
        await client.start_bot_and_connect(START)
    assert http.requests == []


async def test_the_0x_connect_request_overlaps_too_but_not_a_custom_handler(
    gated: GatedTransport, http: FakeHTTP
) -> None:
    http.responder = lambda req: json_response({"offer_url": "memory://1"})
    client = client_on(gated, http, params=RTVIClientParams(base_url="http://bots.example"))
    task = asyncio.ensure_future(client.connect())
    await asyncio.wait_for(http.started.wait(), WAIT)
    assert gated.calls == ["devices"]
    gated.devices_open.set()
    await asyncio.wait_for(task, WAIT)
    await client.disconnect()

    handled: list[list[str]] = []
    other = GatedTransport(FakeBot())
    other.devices_open.set()

    def handler(params: Any, timeout: Any, abort: AbortSignal) -> Any:
        handled.append(list(other.calls))
        return {"offer_url": "memory://2"}

    custom = client_on(other, FakeHTTP(), custom_connect_handler=handler)
    await custom.connect()
    assert handled == [["devices", "devices open", "prepare"]]  # after the devices, as before


async def test_devices_failing_abort_the_request_and_raise_as_before(
    gated: GatedTransport, http: FakeHTTP
) -> None:
    cancelled = asyncio.Event()

    async def hang(req: Recorded) -> Any:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return json_response({"sessionId": "s1"})  # pragma: no cover

    http.responder = hang
    started: list[Any] = []
    client = client_on(gated, http, callbacks={"on_bot_started": started.append})
    task = asyncio.ensure_future(client.start_bot_and_connect(START))
    await asyncio.wait_for(http.started.wait(), WAIT)
    gated.device_failure = DeviceError(["mic"], "permissions", "blocked")
    gated.devices_open.set()
    with pytest.raises(DeviceError, match="blocked"):
        await asyncio.wait_for(task, WAIT)
    await asyncio.wait_for(cancelled.wait(), WAIT)  # the request was aborted
    assert client.state == TransportState.ERROR
    assert started == [] and client.start_reply is None  # its reply, if any, is not used
    assert "connect" not in gated.calls and gated.calls[-1] == "drop"


async def test_a_failed_request_drops_what_was_prepared(
    gated: GatedTransport, http: FakeHTTP
) -> None:
    http.responder = lambda req: json_response({"error": "no"}, status=500)
    gated.devices_open.set()
    client = client_on(gated, http)
    with pytest.raises(StartBotError):
        await client.start_bot_and_connect(START)
    assert gated.calls == ["devices", "devices open", "prepare", "drop"]
