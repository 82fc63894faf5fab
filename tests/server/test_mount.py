"""pyrtvi mounted in another app (`pyrtvi_server.mount`): every URL it hands out carries the
prefix, its lifespan runs with the parent's, and a mount whose lifespan never ran says so."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urljoin, urlsplit

import pytest
from pyrtvi_server import create_app, mount
from pyrtvi_server.config import Settings
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from bench.fake_upstream import FakeUpstream

PREFIX = "/rtvi"
ORIGIN = "http://testserver"


def settings_for(upstream: FakeUpstream, **overrides: object) -> Settings:
    return Settings(bot_mode="url", bot_url=upstream.url, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def client(upstream: FakeUpstream) -> Iterator[TestClient]:
    """A parent Starlette app with pyrtvi mounted at /rtvi, its lifespan running."""
    parent = Starlette()
    mount(parent, PREFIX, settings_for(upstream))
    with TestClient(parent) as client:
        yield client


def page_urls(html: str) -> list[str]:
    """Every URL the console page names: `href`/`src` attributes and its PyScript config's."""
    urls = re.findall(r'(?:href|src)="([^"]+)"', html)
    config = re.search(r'<script type="py" config="([^"]+)"', html)
    assert config, html
    raw = config.group(1).replace("&quot;", '"').replace("&#x27;", "'").replace("&amp;", "&")
    urls.append(json.loads(raw)["interpreter"])
    return [url.replace("&amp;", "&") for url in urls if not url.startswith(("data:", "#"))]


def test_the_page_names_only_prefixed_urls_and_each_is_served(client: TestClient) -> None:
    page = client.get(PREFIX + "/")
    assert page.status_code == 200
    assert f'data-pyrtvi-base="{PREFIX}"' in page.text
    urls = page_urls(page.text)
    assert len(urls) >= 8, urls
    for url in urls:
        assert url.startswith(PREFIX + "/"), url
        assert client.get(url).status_code == 200, url


def test_pyscript_config_and_the_interpreter_module_resolve_under_the_prefix(
    client: TestClient,
) -> None:
    config = client.get(PREFIX + "/pyscript.json").json()
    interpreter = config["interpreter"]
    assert interpreter.startswith(f"{ORIGIN}{PREFIX}/runtime/boot/"), interpreter
    module = client.get(interpreter)
    assert module.status_code == 200
    # Its own URLs are relative to where it is served: they land under the prefix too.
    relative = re.findall(r'"(\.\./[^"]+)"', module.text)
    assert relative, module.text[:500]
    for url in relative:
        resolved = urljoin(interpreter, url)
        assert urlsplit(resolved).path.startswith(PREFIX + "/"), resolved
        if not resolved.endswith("/"):
            assert client.get(resolved).status_code == 200, resolved


def test_the_stable_core_js_url_redirects_under_the_prefix(client: TestClient) -> None:
    reply = client.get(PREFIX + "/pyscript/core.js", follow_redirects=False)
    assert reply.status_code == 307
    assert reply.headers["location"].startswith(PREFIX + "/runtime/pyscript/")
    assert client.get(reply.headers["location"]).status_code == 200


def test_connect_hands_out_a_prefixed_offer_url(client: TestClient) -> None:
    bundle = client.post(PREFIX + "/connect", json={}).json()
    session = bundle["session_id"]
    assert bundle["offer_url"] == f"{ORIGIN}{PREFIX}/sessions/{session}/offer"
    offer = {"sdp": "v=0\r\noffer", "type": "offer"}
    answer = client.post(bundle["offer_url"], json=offer)
    assert answer.status_code == 200, answer.text
    assert answer.json()["type"] == "answer"
    runner = client.post(PREFIX + "/start", json={}).json()
    path = f"{PREFIX}/sessions/{runner['sessionId']}/api/offer"
    assert client.post(path, json=offer).json()["type"] == "answer"


def test_websocket_sessions_get_a_prefixed_relay_url(client: TestClient) -> None:
    started = client.post(PREFIX + "/start", json={"transport": "websocket"}).json()
    assert re.fullmatch(rf"ws://testserver{PREFIX}/sessions/[\w-]+/ws", started["wsUrl"]), started
    bundle = client.post(PREFIX + "/connect", json={"transport": "websocket"}).json()
    assert bundle["ws_url"] == f"ws://testserver{PREFIX}/sessions/{bundle['session_id']}/ws"


def test_the_public_url_gets_the_prefix(upstream: FakeUpstream) -> None:
    parent = Starlette()
    mount(parent, PREFIX, settings_for(upstream, public_url="https://example.com"))
    with TestClient(parent) as client:
        bundle = client.post(PREFIX + "/connect", json={}).json()
        config = client.get(PREFIX + "/pyscript.json").json()
    assert bundle["offer_url"].startswith(f"https://example.com{PREFIX}/sessions/")
    assert config["interpreter"].startswith(f"https://example.com{PREFIX}/runtime/boot/")


def test_cors_holds_under_the_prefix(upstream: FakeUpstream) -> None:
    parent = Starlette()
    allowed = "http://app.example"
    mount(parent, PREFIX, settings_for(upstream, allowed_origins=(allowed,)))
    with TestClient(parent) as client:
        refused = client.post(
            PREFIX + "/connect", json={}, headers={"Origin": "http://evil.example"}
        )
        assert refused.status_code == 403
        assert refused.json()["error"] == "cross-origin request refused"
        preflight = client.options(
            PREFIX + "/connect",
            headers={"Origin": allowed, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == allowed
        reply = client.post(PREFIX + "/connect", json={}, headers={"Origin": allowed})
        assert reply.status_code == 200
        assert reply.headers["access-control-allow-origin"] == allowed


def test_the_parents_lifespan_runs_too(upstream: FakeUpstream) -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, str]]:
        events.append("parent up")
        yield {"from_parent": "yes"}
        events.append("parent down")

    parent = Starlette(lifespan=lifespan)
    mount(parent, PREFIX, settings_for(upstream))
    with TestClient(parent) as client:
        assert client.get(PREFIX + "/health").json()["bot"]["mode"] == "url"
        assert events == ["parent up"]
    assert events == ["parent up", "parent down"]


def test_a_mount_whose_lifespan_never_ran_gives_one_clear_error(upstream: FakeUpstream) -> None:
    parent = Starlette(routes=[Mount(PREFIX, app=create_app(settings_for(upstream)))])
    with TestClient(parent) as client:
        for path in ("/", "/pyscript.json", "/health"):
            reply = client.post(PREFIX + "/connect") if path == "/" else client.get(PREFIX + path)
            assert reply.status_code == 503, reply.text
            body = reply.json()
            assert body["error"] == "pyrtvi not started"
            assert "pyrtvi_server.mount" in body["detail"]
        assert client.get(PREFIX + "/").status_code == 503


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("rtvi", "must start with '/'"),
        ("/rtvi/", "must not end with '/'"),
        ("/", "must not end with '/'"),
        ("/rt vi", "letters, digits"),
        ("/{name}", "letters, digits"),
    ],
)
def test_a_bad_mount_path_is_refused_at_start(upstream: FakeUpstream, path: str, says: str) -> None:
    parent = Starlette()
    with pytest.raises(ValueError, match=re.escape(says)):
        mount(parent, path, settings_for(upstream))
    assert parent.routes == []


def test_bad_settings_are_refused_at_start(upstream: FakeUpstream) -> None:
    with pytest.raises(ValueError, match="bot URL must start with http"):
        mount(Starlette(), PREFIX, Settings(bot_mode="url", bot_url="localhost:7860"))
    with pytest.raises(ValueError, match="wildcard origin"):
        mount(Starlette(), PREFIX, bot_url=upstream.url, allowed_origins=("*",))
