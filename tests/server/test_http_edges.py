"""Who a client is and what a request head may be (issue 26, items 3 and 4), on a real
`pyrtvi serve`: `X-Forwarded-For` believed from listed proxies only; one request-header limit
whatever the packets (431, JSON); malformed HTTP answered in JSON."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import httpx
import pytest
from pyrtvi_testing.processes import LiveServer

from bench.fake_upstream import FakeUpstream

LIMIT = 16 * 1024


@pytest.fixture(scope="module")
def plain(server_factory: Any, upstream: FakeUpstream) -> LiveServer:
    """Default settings: no forwarded header is believed."""
    env = {"PYRTVI_CLIENT_MAX_PENDING": "2"}
    return server_factory("--bot-url", upstream.url, env=env)  # type: ignore[no-any-return]


def exchange(server: LiveServer, chunks: list[bytes]) -> tuple[int, dict[str, str], bytes]:
    """Send `chunks` one write each (a pause between), read the whole answer."""
    with socket.create_connection(("127.0.0.1", server.port), 10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except OSError:
                break  # answered and closed before the rest
            if len(chunks) > 1:
                time.sleep(0.02)
        data = b""
        while block := sock.recv(65536):
            data += block
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def request_with_headers(size: int) -> bytes:
    """A `GET /health` whose head is `size` bytes long."""
    start = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: "
    end = b"\r\n\r\n"
    return start + b"a" * (size - len(start) - len(end)) + end


def assert_json(status: int, headers: dict[str, str], body: bytes, expected: int) -> None:
    assert status == expected, body
    assert headers["content-type"] == "application/json", headers
    assert set(json.loads(body)) == {"error", "detail"}


@pytest.mark.parametrize("pieces", [1, 10])
def test_request_headers_over_the_limit_are_431_however_they_arrive(
    plain: LiveServer, pieces: int
) -> None:
    for size in (LIMIT + 1, 20 * 1024, 100 * 1024):
        data = request_with_headers(size)
        step = -(-len(data) // pieces)
        chunks = [data[i : i + step] for i in range(0, len(data), step)]
        status, headers, body = exchange(plain, chunks)
        assert_json(status, headers, body, 431)
        assert str(LIMIT) in json.loads(body)["detail"]
    # At the limit: served, in one write or in ten.
    data = request_with_headers(LIMIT)
    status, _, _ = exchange(plain, [data])
    assert status == 200
    status, _, _ = exchange(plain, [data[i : i + 1700] for i in range(0, len(data), 1700)])
    assert status == 200


@pytest.mark.parametrize(
    "data",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"POST /connect HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    ],
)
def test_malformed_http_is_answered_in_json(plain: LiveServer, data: bytes) -> None:
    status, headers, body = exchange(plain, [data])
    assert_json(status, headers, body, 400)


def test_forwarded_for_is_not_believed_by_default(plain: LiveServer) -> None:
    """Any local process could otherwise pick its own client address (uvicorn's default
    trusts 127.0.0.1): here every request counts as 127.0.0.1's, whatever it claims."""
    with httpx.Client(base_url=plain.url, timeout=30) as client:
        answers = [
            client.post("/connect", json={}, headers={"X-Forwarded-For": f"198.51.100.{n}"})
            for n in range(3)
        ]
    assert [a.status_code for a in answers] == [200, 200, 429]
