"""The pure checks behind the reliability suite: strict JSON, secret matching, the ICE candidate
policy and the `/connect` admission arithmetic (no processes; the HTTP behaviour is in
test_reliability.py)."""

from __future__ import annotations

import json

import pytest
from pyrtvi_server.config import server_config_options
from pyrtvi_server.guard import MAX_DEPTH, CandidatePolicy, Secrets, loads_json
from pyrtvi_server.limits import ConnectLimits
from pyrtvi_server.upstream import ProxyError


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ('{"x": NaN}', "NaN"),
        ("[Infinity]", "Infinity"),
        ('{"x": -1e400}', "out of range"),
        ('["\\udc00"]', "surrogate"),
        ('{"\\ud800x": 1}', "surrogate"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "levels"),
        ("[" * 100_000 + "]" * 100_000, "levels"),
    ],
)
def test_loads_json_refuses(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        loads_json(raw.encode())


def test_loads_json_accepts_what_is_usable() -> None:
    text = '{"a": [1, 2.5, -0.0, 1e300, "é😀", {"b": null}], "c": true}'
    assert loads_json(text.encode()) == json.loads(text)
    assert loads_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


def test_secrets_from_config() -> None:
    secrets = Secrets.from_config(
        {"request_data": {"api_key": "sk-abcdef12", "n": 12345678}, "services": {"tts": "espeak"}},
        {"Authorization": "Bearer tok-0123456789"},
    )
    assert secrets.found_in("echo: SK-ABCDEF12")  # case-insensitive
    assert secrets.found_in("token tok-0123456789 is bad")  # the token of "Bearer …" alone
    assert not secrets.found_in("espeak is not a voice")  # too short to be a secret
    assert not secrets.found_in("port 12345678")  # numbers are not secrets
    quoted = Secrets(['pass"word\\1'])
    assert quoted.found_in(json.dumps({"echo": 'pass"word\\1'}))  # as JSON escapes it
    assert not Secrets([])


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.10.1", "link-local"),
        ("fe80::1", "link-local"),
        ("239.1.1.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("10.0.0.5", None),
        ("203.0.113.9", None),
        ("8.8.8.8", None),
        ("abc-123.local", None),
    ],
)
def test_candidate_policy_default(address: str, refused: str | None) -> None:
    line = f"candidate:842163049 1 udp 1677729535 {address} 50000 typ srflx raddr 0.0.0.0 rport 0"
    why = CandidatePolicy().refusal(line)
    assert (why is None) if refused is None else (why is not None and refused in why)


def test_candidate_policy_configured() -> None:
    line = "a=candidate:1 1 udp 1 127.0.0.1 9 typ host"
    assert CandidatePolicy(["loopback"]).refusal(line) is None
    assert CandidatePolicy([]).refusal("candidate:1 1 udp 1 192.168.0.2 9 typ host")
    assert CandidatePolicy().refusal("") is None  # end of candidates
    assert CandidatePolicy().refusal("candidate:garbage") == "not an ICE candidate line"
    with pytest.raises(ValueError, match="unknown"):
        CandidatePolicy(["everything"])


def test_filter_sdp_keeps_the_rest() -> None:
    sdp = "v=0\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\na=mid:0\r\n"
    kept, dropped = CandidatePolicy().filter_sdp(sdp)
    assert kept == "v=0\r\na=mid:0\r\n" and len(dropped) == 1


def test_admission() -> None:
    limits = ConnectLimits(max_pending=2, per_minute=60, burst=3, window=30, max_total=3)
    for _ in range(2):
        limits.admit("a", active=0, now=100.0)
        limits.started("a", now=100.0)
    with pytest.raises(ProxyError) as pending:
        limits.admit("a", active=0, now=101.0)
    assert pending.value.status == 429 and pending.value.headers["Retry-After"] == "29"
    limits.admit("b", active=0, now=101.0)
    limits.started("b", now=101.0)
    with pytest.raises(ProxyError) as full:  # three started in the window: the global cap
        limits.admit("c", active=0, now=102.0)
    assert full.value.status == 503 and full.value.headers["Retry-After"]
    assert limits.refused_client == 1 and limits.refused_global == 1
    limits.admit("a", active=0, now=131.0)  # the window has passed
    with pytest.raises(ProxyError) as busy:  # the bot's own count decides too
        limits.admit("d", active=3, now=131.0)
    assert busy.value.status == 503


def test_connect_rate() -> None:
    limits = ConnectLimits(max_pending=100, per_minute=6, burst=2, window=30, max_total=100)
    limits.admit("a", active=0, now=0.0)
    limits.admit("a", active=0, now=0.0)
    with pytest.raises(ProxyError) as fast:
        limits.admit("a", active=0, now=1.0)
    assert fast.value.status == 429 and fast.value.headers["Retry-After"] == "9"
    limits.admit("a", active=0, now=10.5)  # one token back after 10 s


def test_server_config_options_are_the_operators_pairs() -> None:
    extra = {
        "config": [{"service": "llm", "options": [{"name": "messages", "value": []}]}],
        "body": {"config": [{"service": "tts", "options": [{"name": "voice", "value": "x"}]}]},
    }
    assert server_config_options(extra) == [("llm", "messages"), ("tts", "voice")]
    assert server_config_options({"api_key": "k"}) == []
    assert server_config_options({"config": "nonsense", "body": []}) == []
