"""The WebSocket transport's pure parts in CPython: the reconnect policy and URL resolution."""

from __future__ import annotations

import asyncio

import pytest
from rtvi import RTVIClient
from rtvi.errors import TransportStartError, UnsupportedFeatureError
from rtvi.transports.reconnect import ReconnectAttempts, reconnect
from rtvi.transports.websocket import ReconnectPolicy, WebSocketTransport


def run_failing(attempts: ReconnectAttempts) -> tuple[list[float], int, str]:
    """Run the shared reconnect as the WebSocket does (wait first); every rebuild fails."""
    sleeps: list[float] = []
    calls = 0

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def rebuild() -> None:
        nonlocal calls
        calls += 1
        raise TransportStartError("the WebSocket closed with code 1006")

    result = asyncio.run(reconnect(attempts, rebuild, sleep=sleep, wait_first=True))
    assert result.gave_up
    return sleeps, calls, result.reason


def test_policy_backs_off_then_gives_up_and_starts_over_after_success() -> None:
    attempts = ReconnectAttempts(ReconnectPolicy(attempts=3, delay=0.5, max_delay=1.5))
    sleeps, calls, reason = run_failing(attempts)
    assert (sleeps, calls) == ([0.5, 1.0, 1.5], 3)
    assert reason == "gave up after 3 reconnect attempts"
    attempts.reset()
    assert ReconnectPolicy(attempts=3, delay=0.5, max_delay=1.5).delay_before(1) == 0.5
    assert run_failing(attempts)[0][0] == 0.5
    assert run_failing(ReconnectAttempts(ReconnectPolicy(attempts=0)))[:2] == ([], 0)
    with pytest.raises(ValueError):
        ReconnectPolicy(delay=2, max_delay=1)


@pytest.mark.parametrize(
    ("code", "final"), [(1000, True), (4404, True), (1008, True), (1006, False)]
)
def test_policy_final_closes(code: int, final: bool) -> None:
    assert ReconnectPolicy.is_final(code) is final


def transport(base_url: str | None, **options: object) -> WebSocketTransport:
    ws = WebSocketTransport(**options)  # type: ignore[arg-type]
    RTVIClient(transport=ws, params={"base_url": base_url})
    return ws


def test_url_from_bundle_option_base_and_token() -> None:
    ws = transport("http://127.0.0.1:8000/api/")
    assert ws.resolve_url({"ws_url": "ws://h:1/ws"}) == "ws://h:1/ws"
    assert ws.resolve_url({"wsUrl": "/sessions/s/ws", "token": "a b"}) == (
        "ws://127.0.0.1:8000/sessions/s/ws?token=a+b"
    )
    assert transport("https://x.test").resolve_url({"wsUrl": "ws?k=1", "token": "t"}) == (
        "wss://x.test/ws?k=1&token=t"
    )
    direct = transport(None, ws_url="ws://127.0.0.1:7860/ws")
    assert direct.resolve_url(None) == "ws://127.0.0.1:7860/ws"
    with pytest.raises(TransportStartError, match="no WebSocket URL"):
        transport("http://h").resolve_url({})
    with pytest.raises(TransportStartError, match="not a WebSocket URL"):
        transport("http://h").resolve_url({"ws_url": "ftp://h/ws"})


def test_camera_and_screen_are_unsupported_and_options_checked() -> None:
    ws = transport(None, ws_url="ws://h/ws")
    with pytest.raises(UnsupportedFeatureError):
        ws.enable_cam(True)
    with pytest.raises(UnsupportedFeatureError):
        ws.enable_screen_share(True)
    ws.enable_cam(False)
    assert ws.is_cam_enabled is False
    with pytest.raises(ValueError):
        WebSocketTransport(sample_rate=0)


def test_target_resolution_is_a_pure_rule() -> None:
    from rtvi.transports.websocket.target import NoWebSocketURLError, resolve_ws_url

    assert resolve_ws_url({"ws_url": "/ws"}, option=None, base="https://h/app/") == "wss://h/ws"
    assert resolve_ws_url({}, option="ws://o/ws", base=None) == "ws://o/ws"
    assert resolve_ws_url({"wsUrl": "ws://b/ws"}, option="ws://o/ws", base=None) == "ws://b/ws"
    assert resolve_ws_url({"ws_url": "ws://b/ws?a=1", "token": "t"}, option=None, base=None) == (
        "ws://b/ws?a=1&token=t"
    )
    with pytest.raises(NoWebSocketURLError):
        resolve_ws_url({"ws_url": ""}, option=None, base="http://h")
