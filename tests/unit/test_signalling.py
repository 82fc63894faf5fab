"""SmallWebRTC signalling rules, pure: target, offer, answer, trickle, data-channel text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rtvi.errors import TransportStartError
from rtvi.start import START_ENDPOINT_KEY
from rtvi.transports.small_webrtc.signalling import (
    Inbound,
    InboundKind,
    TrickleQueue,
    candidate_entry,
    classify,
    derive_offer_url,
    keepalive_text,
    offer_body,
    parse_answer,
    resolve_target,
    track_status_text,
    trickle_body,
)

STUN = {"urls": "stun:stun.example:3478"}


@pytest.mark.parametrize(
    "bundle",
    [
        {"offer_url": "/a", "ice_servers": [STUN], "session_id": "s1", "ice_trickle": True},
        {"offerUrl": "/a", "iceServers": [STUN], "sessionId": "s1", "iceTrickle": True},
        {
            "webrtc_url": "/a",
            "iceConfig": {"iceServers": [STUN]},
            "session_id": "s1",
            "ice_trickle": 1,
        },
        {"webrtcUrl": "/a", "ice_servers": [STUN], "sessionId": "s1", "ice_trickle": True},
    ],
)
def test_the_bundle_spellings_resolve_alike(bundle: dict[str, Any]) -> None:
    target = resolve_target(bundle)
    assert (target.offer_url, target.ice_servers, target.ice_trickle, target.session_id) == (
        "/a",
        [STUN],
        True,
        "s1",
    )


def test_options_fill_in_and_win() -> None:
    target = resolve_target(
        {"offer_url": "/bundle", "ice_servers": [STUN], "ice_trickle": True, "session_id": 7},
        offer_url="/option",
        ice_servers=[],
        ice_trickle=False,
        request_data={"voice": "en"},
    )
    assert target.offer_url == "/bundle"  # the bundle's URL is the session's
    assert target.ice_servers == [] and target.ice_trickle is False
    assert target.request_data == {"voice": "en"} and target.session_id == "7"
    direct = resolve_target(None, offer_url="/option")
    assert (direct.offer_url, direct.ice_servers, direct.ice_trickle) == ("/option", [], False)


def test_request_data_of_the_client_goes_with_a_direct_offer_only() -> None:
    assert resolve_target({}, offer_url="/o", direct_request_data={"a": 1}).request_data == {"a": 1}
    assert resolve_target({}, offer_url="/o", direct_request_data={}).request_data is None
    bundle = {"offer_url": "/o"}
    assert resolve_target(bundle, direct_request_data={"a": 1}).request_data is None
    chosen = resolve_target({}, offer_url="/o", request_data={"b": 2}, direct_request_data={"a": 1})
    assert chosen.request_data == {"b": 2}


@pytest.mark.parametrize(
    ("bundle", "message"),
    [
        ({}, "no offer URL"),
        ({"offer_url": 42}, "no offer URL"),
        ({"offer_url": "/o", "ice_servers": "stun:x"}, "ice_servers must be a list"),
        ({"offer_url": "/o", "ice_servers": ["stun:x"]}, "ice_servers must be a list"),
    ],
)
def test_unusable_bundles_are_transport_start_errors(bundle: dict[str, Any], message: str) -> None:
    with pytest.raises(TransportStartError, match=message):
        resolve_target(bundle)


def test_offer_body() -> None:
    assert offer_body("v=0", "offer", pc_id=None, restart_pc=False) == {
        "sdp": "v=0",
        "type": "offer",
        "pc_id": None,
        "restart_pc": False,
    }
    body = offer_body("v=0", "offer", pc_id="pc1", restart_pc=True, request_data={"x": 1})
    assert body["pc_id"] == "pc1" and body["restart_pc"] is True and body["requestData"] == {"x": 1}


def test_parse_answer() -> None:
    answer = parse_answer({"sdp": "v=0", "type": "answer", "pc_id": "pc1"})
    assert (answer.sdp, answer.pc_id) == ("v=0", "pc1")
    assert parse_answer({"sdp": "v=0"}).pc_id is None
    assert parse_answer({"sdp": "v=0", "pc_id": ""}).pc_id is None


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (None, "the offer endpoint sent no SDP answer"),
        ([], "the offer endpoint sent no SDP answer"),
        ({"type": "answer"}, "the offer endpoint sent no SDP answer"),
        ({"sdp": 1}, "the offer endpoint sent no SDP answer"),
        ({"sdp": "v=0", "type": "offer"}, "expected an SDP answer, got 'offer'"),
    ],
)
def test_bad_answers(reply: Any, message: str) -> None:
    with pytest.raises(TransportStartError) as caught:
        parse_answer(reply)
    assert caught.value.message == message


def test_candidates_wait_for_the_answer_and_the_pc_id() -> None:
    queue = TrickleQueue()
    first = candidate_entry("candidate:1 1 udp 1 10.0.0.1 5000 typ host", "0", 0)
    assert first == {
        "candidate": "candidate:1 1 udp 1 10.0.0.1 5000 typ host",
        "sdp_mid": "0",
        "sdp_mline_index": 0,
    }
    queue.add(first)
    assert queue.take("pc1") is None  # the answer is not in yet
    queue.open()
    assert queue.take(None) is None  # no pc_id: the bot could not place them
    assert queue.take("pc1") == [first]
    assert queue.take("pc1") is None  # sent: nothing left
    second = candidate_entry("candidate:2", None, None)
    assert second is not None
    queue.add(second)
    assert queue.take("pc1") == [second]
    assert trickle_body("pc1", [second]) == {"pc_id": "pc1", "candidates": [second]}


def test_the_end_of_candidates_marker_is_not_sent() -> None:
    assert candidate_entry("", "0", 0) is None


RTVI = {"label": "rtvi-ai", "type": "bot-ready", "id": "1", "data": {}}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (json.dumps(RTVI), Inbound(InboundKind.RTVI, RTVI)),
        (
            '{"type": "signalling", "message": {"type": "renegotiate"}}',
            Inbound(InboundKind.RENEGOTIATE),
        ),
        ('{"type": "signalling", "message": {"type": "peerLeft"}}', Inbound(InboundKind.PEER_LEFT)),
    ],
)
def test_classify_what_matters(data: str, expected: Inbound) -> None:
    assert classify(data) == expected


@pytest.mark.parametrize(
    ("data", "note"),
    [
        (b"\x00\x01", "binary"),
        ("garbage", "non-JSON"),
        ("ping: 1", "non-JSON"),
        ("[1, 2]", "not an object"),
        ('{"foo": 1}', "non-RTVI"),
        ('{"label": "other", "type": "x"}', "non-RTVI"),
        ('{"type": "signalling", "message": {"type": "other"}}', "signalling message"),
        ('{"type": "signalling", "message": "renegotiate"}', "signalling message"),
    ],
)
def test_classify_ignores_the_rest(data: object, note: str) -> None:
    inbound = classify(data)
    assert inbound.kind is InboundKind.IGNORED and inbound.message is None
    assert note in inbound.note


def test_outgoing_texts() -> None:
    assert json.loads(track_status_text("screen", True)) == {
        "type": "signalling",
        "message": {"type": "trackStatus", "receiver_index": 2, "enabled": True},
    }
    assert json.loads(track_status_text("audio", False))["message"]["receiver_index"] == 0
    assert json.loads(track_status_text("video", True))["message"]["receiver_index"] == 1
    assert keepalive_text(1234) == "ping: 1234"


# --- the offer URL of a runner session (start_bot / start_bot_and_connect) --------------------


@pytest.mark.parametrize(
    ("endpoint", "template", "expected"),
    [
        ("http://h:7860/start", None, "http://h:7860/sessions/s1/api/offer"),
        ("http://h:7860/start/", None, "http://h:7860/sessions/s1/api/offer"),
        (
            "https://api.example/v1/agent/start?x=1",
            None,
            "https://api.example/v1/agent/sessions/s1/api/offer",
        ),
        ("/start", None, "/sessions/s1/api/offer"),
        ("http://h/begin", "{start_endpoint}/{session_id}/offer", "http://h/begin/s1/offer"),
        ("http://h/start", "{base}/webrtc/{session_id}", "http://h/webrtc/s1"),
    ],
)
def test_offer_url_derived_from_the_start_endpoint(
    endpoint: str, template: str | None, expected: str
) -> None:
    assert derive_offer_url(endpoint, "s1", template) == expected


def test_offer_url_derivation_refuses_what_it_cannot_guess() -> None:
    with pytest.raises(TransportStartError, match="offer_url_template"):
        derive_offer_url("http://h/begin", "s1")
    with pytest.raises(TransportStartError, match="bad offer_url_template"):
        derive_offer_url("http://h/start", "s1", "{nope}")


def test_a_start_reply_resolves_to_its_session_offer_url() -> None:
    reply = {
        "sessionId": "s1",
        "iceConfig": {"iceServers": [STUN]},
        START_ENDPOINT_KEY: "http://h:7860/start",
    }
    target = resolve_target(reply, direct_request_data={"ignored": True})
    assert target.offer_url == "http://h:7860/sessions/s1/api/offer"
    assert target.ice_servers == [STUN] and target.session_id == "s1"
    assert target.request_data is None  # the runner has the body from /start
    custom = resolve_target(reply, offer_url_template="{base}/s/{session_id}")
    assert custom.offer_url == "http://h:7860/s/s1"
    with pytest.raises(TransportStartError, match="sessionId"):
        resolve_target({"sessionId": "s1"})  # no start endpoint known: no way to derive
