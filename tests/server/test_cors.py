"""CORS on the RTVI endpoints: preflights and actual cross-origin requests, allowed and refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pyrtvi_testing.processes import LiveServer

from bench.fake_upstream import FakeUpstream

ALLOWED = "http://app.example:5173"
OTHER = "https://evil.example"
PATHS = ["/connect", "/action", "/sessions/abc/offer"]


@pytest.fixture(scope="module")
def server(server_factory: Any, upstream: FakeUpstream) -> LiveServer:
    return server_factory(  # type: ignore[no-any-return]
        "--bot", "url", "--bot-url", upstream.url, "--allowed-origin", ALLOWED + "/"
    )


@pytest.fixture(scope="module")
def narrow_server(server_factory: Any, upstream: FakeUpstream) -> LiveServer:
    """Allowed origin from the environment, request headers narrowed to a configured list."""
    env = {"PYRTVI_ALLOWED_ORIGINS": ALLOWED, "PYRTVI_ALLOWED_HEADERS": "X-Api-Key, X-Trace"}
    return server_factory("--bot", "url", "--bot-url", upstream.url, env=env)  # type: ignore[no-any-return]


@pytest.fixture
def client(server: LiveServer, upstream: FakeUpstream) -> Iterator[httpx.Client]:
    upstream.requests.clear()
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def preflight(
    client: httpx.Client, path: str, origin: str, method: str = "POST", headers: str = ""
) -> httpx.Response:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        request_headers["Access-Control-Request-Headers"] = headers
    return client.options(path, headers=request_headers)


@pytest.mark.parametrize("path", PATHS)
def test_preflight_allowed_origin(client: httpx.Client, path: str) -> None:
    response = preflight(client, path, ALLOWED, headers="content-type,x-custom-auth")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed_headers = response.headers["access-control-allow-headers"].split(", ")
    assert {"content-type", "x-custom-auth"} <= set(allowed_headers)
    assert "access-control-allow-credentials" not in response.headers
    assert "Origin" in response.headers["vary"]


def test_preflight_patch_for_trickle_ice(client: httpx.Client) -> None:
    response = preflight(client, "/sessions/abc/offer", ALLOWED, method="PATCH")
    assert response.status_code == 204
    assert "PATCH" in response.headers["access-control-allow-methods"]
    refused = preflight(client, "/connect", ALLOWED, method="PATCH")
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("origin", [OTHER, "null", "http://app.example:5174", "http://app.example"])
def test_preflight_refused_for_other_origins(client: httpx.Client, path: str, origin: str) -> None:
    response = preflight(client, path, origin, headers="content-type")
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    assert response.json()["error"] == "CORS preflight refused"


def test_private_network_preflight(client: httpx.Client) -> None:
    response = client.options(
        "/connect",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-private-network"] == "true"


def test_cross_origin_post_allowed(client: httpx.Client, upstream: FakeUpstream) -> None:
    response = client.post("/connect", json={}, headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    # The offer URL is absolute, so the page on the other origin can post its offer there.
    offer_url = response.json()["offer_url"]
    assert offer_url.startswith(str(client.base_url))
    answer = client.post(
        offer_url, json={"sdp": "v=0", "type": "offer"}, headers={"Origin": ALLOWED}
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ALLOWED


def test_cross_origin_errors_are_readable(client: httpx.Client) -> None:
    """Error answers carry the CORS header too, so the page can show their message."""
    response = client.post(
        "/connect", content=b"{bad", headers={"Origin": ALLOWED, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["access-control-allow-origin"] == ALLOWED


def test_cross_origin_streaming_action(client: httpx.Client) -> None:
    body = {"actions": [{"id": "1", "type": "action", "data": {"service": "s", "action": "a"}}]}
    response = client.post("/action", json=body, headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED


@pytest.mark.parametrize("path", PATHS)
def test_cross_origin_post_refused(client: httpx.Client, upstream: FakeUpstream, path: str) -> None:
    response = client.post(path, json={}, headers={"Origin": OTHER})
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    assert "evil.example" in response.json()["detail"]
    assert not upstream.requests, "a refused origin must not start anything"


def test_same_origin_always_allowed(client: httpx.Client, server: LiveServer) -> None:
    for origin in (server.url, f"http://localhost:{server.port}"):
        host = origin.split("//")[1]
        response = client.post("/connect", json={}, headers={"Origin": origin, "Host": host})
        assert response.status_code == 200, (origin, response.text)


def test_no_origin_header_is_not_cors(client: httpx.Client) -> None:
    """curl and server-to-server callers send no Origin: plain requests, no CORS headers."""
    response = client.post("/connect", json={})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_default_is_same_origin_only(page_server: LiveServer) -> None:
    """Without configured origins every cross-origin caller is refused (here: --bot none)."""
    with httpx.Client(base_url=page_server.url, timeout=30) as c:
        assert preflight(c, "/connect", ALLOWED).status_code == 403
        refused = c.post("/connect", json={}, headers={"Origin": ALLOWED})
        assert refused.status_code == 403
        assert "access-control-allow-origin" not in refused.headers
        same = c.post("/connect", json={}, headers={"Origin": page_server.url})
        assert same.status_code == 503  # reached the endpoint: no bot in this mode


def test_static_files_keep_their_public_cors(client: httpx.Client) -> None:
    response = client.get("/pyscript.json", headers={"Origin": OTHER})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


def test_configured_header_list(narrow_server: LiveServer) -> None:
    with httpx.Client(base_url=narrow_server.url, timeout=30) as c:
        ok = preflight(c, "/connect", ALLOWED, headers="Content-Type, X-Api-Key")
        assert ok.status_code == 204
        assert ok.headers["access-control-allow-origin"] == ALLOWED
        refused = preflight(c, "/connect", ALLOWED, headers="content-type, x-other")
        assert refused.status_code == 403
        assert "x-other" in refused.json()["detail"]
        assert "access-control-allow-origin" not in refused.headers
