"""The relay's pure parts (`pyrtvi_server.wsrelay`): sessions, rate bucket, the bot's wsUrl."""

from __future__ import annotations

import pytest
from pyrtvi_server.upstream import ProxyError, UpstreamReply
from pyrtvi_server.wsrelay import (
    MAX_REASON_BYTES,
    Refusal,
    RelayLimits,
    Sessions,
    TokenBucket,
    bot_ws_url,
    reason_text,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def reply(body: bytes) -> UpstreamReply:
    return UpstreamReply(200, "application/json", body)


def test_bot_ws_url_takes_wsurl_or_ws_url_and_appends_the_token() -> None:
    assert bot_ws_url(reply(b'{"wsUrl": "ws://h:1/ws-client", "token": null}')) == (
        "ws://h:1/ws-client"
    )
    assert (
        bot_ws_url(reply(b'{"ws_url": "wss://h/x?a=1", "token": "t"}')) == "wss://h/x?a=1&token=t"
    )


@pytest.mark.parametrize(
    "body", [b'{"sessionId": "abc"}', b'{"wsUrl": "http://h/x"}', b'{"wsUrl": 3}', b"[]", b"{"]
)
def test_a_start_reply_without_a_ws_url_is_a_502(body: bytes) -> None:
    with pytest.raises(ProxyError) as caught:
        bot_ws_url(reply(body))
    assert caught.value.status == 502
    assert "no WebSocket sessions" in str(caught.value.detail)


def test_sessions_claim_once_at_a_time_and_expire() -> None:
    clock = Clock()
    sessions = Sessions(RelayLimits(session_ttl=10), clock)
    session_id = sessions.issue("ws://bot/ws-client", {})
    target = sessions.claim(session_id)
    assert target.url == "ws://bot/ws-client"
    with pytest.raises(Refusal) as busy:
        sessions.claim(session_id)
    assert busy.value.code == 4409
    sessions.release(target)
    assert sessions.claim(session_id) is target  # a reconnect within the lifetime
    sessions.release(target)
    clock.now = 11
    with pytest.raises(Refusal) as gone:
        sessions.claim(session_id)
    assert gone.value.code == 4404


@pytest.mark.parametrize("session_id", ["nope", "../x", ""])
def test_unknown_or_malformed_sessions_are_refused(session_id: str) -> None:
    with pytest.raises(Refusal) as caught:
        Sessions(RelayLimits()).claim(session_id)
    assert caught.value.code == 4404


def test_sessions_are_bounded_oldest_first() -> None:
    sessions = Sessions(RelayLimits(max_sessions=2))
    first, *_ = [sessions.issue(f"ws://bot/{i}", {}) for i in range(3)]
    with pytest.raises(Refusal):
        sessions.claim(first)


def test_token_bucket_allows_the_burst_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now = 0.1
    assert bucket.take() and not bucket.take()


def test_reason_text_fits_a_close_frame() -> None:
    long = "é" * 200
    assert len(reason_text(long).encode()) <= MAX_REASON_BYTES
    assert reason_text("short") == "short"
