"""The page boots Python offline from the local runtime, or shows why it could not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route, expect
from pyrtvi_server.boot import PARTS, BootBuild, discover_modules, part_bounds, part_names
from pyrtvi_server.runtime import Runtime
from pyrtvi_testing.processes import LiveServer

from tests.conftest import ROOT, browser_config

VERSION = Runtime.locate(ROOT / "node_modules").pyodide_version


def test_page_boots_python_offline(page: Page, page_server: LiveServer) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    response = page.goto(page_server.url + "/")
    # The page says it is loading until boot.js follows the downloads (a moment, or less).
    assert response is not None and 'id="boot-text">Loading' in response.text()
    expect(page.locator("html")).to_have_attribute(
        "data-boot", "ready", timeout=browser_config.BOOT_TIMEOUT_MS
    )
    expect(page.locator("#boot-text")).to_contain_text("Python 3.14")
    expect(page.locator("#boot-error")).to_be_hidden()
    assert page.evaluate("document.querySelector('#boot-progress').value") == 5
    # Everything came from this server: the runtime, the stdlib and the client package (after a
    # snapshot boot, the package's files come once the page is idle).
    for _ in range(100):
        if page_server.url + "/py/rtvi.zip" in requested:
            break
        page.wait_for_timeout(100)
    paths = {url.removeprefix(page_server.url) for url in requested}
    assert any(p.endswith("/pyodide.asm.wasm") for p in paths), paths
    assert "/py/rtvi.zip" in paths
    assert all(url.startswith(page_server.url) for url in requested), requested


def test_broken_runtime_path_shows_an_error(page: Page, page_server: LiveServer) -> None:
    def missing(route: Route) -> None:
        route.fulfill(status=404, body="gone")

    page.route("**/pyodide.mjs", missing)
    page.goto(page_server.url + "/")
    expect(page.locator("html")).to_have_attribute(
        "data-boot", "error", timeout=browser_config.BOOT_TIMEOUT_MS
    )
    expect(page.locator("#boot-text")).to_have_text("Python failed to load.")
    expect(page.locator("#boot-error")).to_be_visible()
    expect(page.locator("#boot-error")).not_to_be_empty()


def test_python_error_in_page_code_is_shown(page: Page, page_server: LiveServer) -> None:
    def broken_main(route: Route) -> None:
        route.fulfill(body="raise RuntimeError('boom in main.py')", content_type="text/plain")

    page.route("**/app/main.py", broken_main)
    page.goto(page_server.url + "/")
    expect(page.locator("html")).to_have_attribute(
        "data-boot", "error", timeout=browser_config.BOOT_TIMEOUT_MS
    )
    expect(page.locator("#boot-error")).to_contain_text("boom in main.py")


def test_broken_package_zip_fails_a_plain_boot(page: Page, page_server: LiveServer) -> None:
    """Without the snapshot, rtvi must be unpacked before any page code: a broken zip is an error."""
    page.route("**/snapshot.bin", lambda route: route.fulfill(status=404, body="gone"))
    page.route("**/py/rtvi.zip", lambda route: route.fulfill(status=500, body="boom"))
    page.goto(page_server.url + "/")
    expect(page.locator("html")).to_have_attribute(
        "data-boot", "error", timeout=browser_config.BOOT_TIMEOUT_MS
    )
    expect(page.locator("#boot-error")).to_contain_text("/py/rtvi.zip")


def test_offhost_requests_are_blocked_and_recorded(
    page: Page, page_server: LiveServer, offhost_guard: list[str]
) -> None:
    page.goto(page_server.url + "/health")
    outcome = page.evaluate(
        """() => fetch('http://pyrtvi-offhost.invalid/x', {mode: 'no-cors'})
              .then(() => 'loaded', (error) => 'blocked: ' + error.message)"""
    )
    assert outcome.startswith("blocked"), outcome
    assert offhost_guard == ["http://pyrtvi-offhost.invalid/x"]
    offhost_guard.clear()  # recorded as expected: don't fail this test at teardown


# --- the fast boot: memory snapshot and trimmed stdlib (tools/build_boot.py) ----------------
# page_server boots in the "shipped" mode (the default; tests/conftest.py: SUITE_BOOT); the
# "local" mode has its own section below.


def current_build() -> BootBuild:
    runtime = Runtime.locate(ROOT / "node_modules")
    build = BootBuild.load(ROOT / "build" / "boot", ROOT / "web", runtime)
    assert build is not None, "no boot build for these sources: run `make setup`"
    assert build.snapshot, "the boot build has no snapshot"
    return build


def boot_info(page: Page) -> dict[str, Any]:
    expect(page.locator("html")).to_have_attribute(
        "data-boot", "ready", timeout=browser_config.BOOT_TIMEOUT_MS
    )
    return dict(page.evaluate("window.pyrtviBootInfo"))


#: Init script: the page's boot state when PyScript had run its scripts (main.py).
BOOT_AT_ALL_DONE_JS = """addEventListener("py:all-done", () => {
  window.__bootAtAllDone = document.documentElement.dataset.boot;
});"""


def test_console_boots_from_the_snapshot(page: Page, page_server: LiveServer) -> None:
    build = current_build()
    # The build accounted for every module of both packages that it discovered on disk: in the
    # snapshot (what the console needs to draw and take input), or left for later (issue 25,
    # third round: imported from the package zips once the page is idle, e.g. the panels that
    # show what a session brings).
    found = set(build.imported) | set(build.later) | set(build.skipped)
    assert set(discover_modules(ROOT / "web")) == found
    assert "rtvi.client" in build.imported, build.skipped
    assert {"pyrtvi_page.metrics", "pyrtvi_page.actions"} <= set(build.later), build.later
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.add_init_script(BOOT_AT_ALL_DONE_JS)
    page.goto(page_server.url + "/")
    info = boot_info(page)
    assert (info["mode"], info["source"], info["reason"]) == ("snapshot", "shipped", None), info
    expect(page.locator("#boot-error")).to_be_hidden()
    # The console started as soon as Python was restored (its data-pyrtvi-start), before
    # PyScript ran main.py, whose start() then found it built: one start, one client.
    expect(page.locator("html")).to_have_attribute("data-pyrtvi-started", "early")
    page.wait_for_function("window.__bootAtAllDone !== undefined")
    assert page.evaluate("window.__bootAtAllDone") == "ready"
    assert page.evaluate("performance.getEntriesByName('pyrtvi:main').length") == 1
    # The rest of the stdlib comes once the page is idle, not on the boot's path (nothing of
    # the console's start imports from it: no synchronous fetch).
    page.wait_for_function("performance.getEntriesByName('pyrtvi:stdlib-rest').length > 0")
    assert page.evaluate("performance.getEntriesByName('pyrtvi:fetch-now').length") == 0
    paths = {url.removeprefix(page_server.url) for url in requested}
    # The snapshot and the wasm as their parts (boot.PARTS), not whole.
    assert build.parts
    parts = {f"/runtime/boot/{build.key}/{part}" for name in PARTS for part in part_names(name)}
    assert parts <= paths, paths
    assert not any(path.endswith(("/snapshot.bin", "/pyodide.asm.wasm")) for path in paths - parts)
    # The stdlib zip without what the snapshot imported, not the whole trimmed one.
    assert f"/runtime/boot/{build.key}/python_stdlib_rest.zip" in paths
    assert not any(path.endswith("/python_stdlib.zip") for path in paths), paths
    # What the snapshot holds is really there: imported before PyScript ran any of our code.
    assert set(build.imported) <= set(info["modules"]), info
    assert "pyrtvi_page.console" in info["modules"], info
    assert not set(build.later) & set(info["modules"]), info
    # The later panels, built once their modules' files came (without a synchronous fetch).
    expect(page.locator("#metrics p.hint")).to_be_visible()
    assert page.evaluate("performance.getEntriesByName('pyrtvi:fetch-now').length") == 0


def test_missing_snapshot_boots_plain(page: Page, page_server: LiveServer) -> None:
    current_build()
    page.route("**/snapshot.bin", lambda route: route.fulfill(status=404, body="gone"))
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(page_server.url + "/")
    info = boot_info(page)
    assert info["mode"] == "plain" and "404" in info["reason"], info
    expect(page.locator("#boot-error")).to_be_hidden()
    expect(page.locator("#boot-text")).to_contain_text("Python 3.14")
    # The refused build is not trusted further: the full stdlib from the runtime.
    assert any(url.endswith(f"/runtime/pyodide/{VERSION}/python_stdlib.zip") for url in requested)


def empty_pack(size: int, length: int = 16) -> bytes:
    """A snapshot pack (tools/boot_snapshot.mjs) of `size` zero bytes, `length` bytes long: no
    runs, or (to be that long) one run of zeros at the start."""
    if length == 16:
        return b"PYRS" + b"".join(n.to_bytes(4, "little") for n in (1, size, 0))
    header = b"".join(n.to_bytes(4, "little") for n in (1, size, 1, 0, length - 24))
    return b"PYRS" + header + bytes(length - 24)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("zeros", "magic"),  # a well-formed pack, but Pyodide refuses what it holds
        ("other size", "4096 bytes, the build made"),
        ("garbage", "not a pyrtvi snapshot pack"),
    ],
)
def test_refused_snapshot_boots_plain(
    page: Page, page_server: LiveServer, body: str, reason: str
) -> None:
    """Bytes that are not our snapshot: Pyodide or we refuse them, and the page boots plain."""
    build = current_build()
    length = (build.directory / "snapshot.bin").stat().st_size
    data = {
        "zeros": empty_pack(build.snapshot_size, length),  # as long as the build's
        "other size": empty_pack(4096),
        "garbage": b"\0" * 4096,
    }[body]
    # In parts (boot.PARTS), each part the bytes of its range in the build's pack.
    spans = dict(
        zip(part_names("snapshot.bin"), part_bounds(length, PARTS["snapshot.bin"]), strict=True)
    )

    def serve(route: Route) -> None:
        part = "/".join(route.request.url.split("/")[-2:])
        start, end = spans.get(part, (0, len(data)))
        route.fulfill(status=200, body=data[start:end], content_type="x/y")

    page.route("**/snapshot.bin", serve)
    page.goto(page_server.url + "/")
    info = boot_info(page)
    assert info["mode"] == "plain" and reason in info["reason"], info
    expect(page.locator("#boot-error")).to_be_hidden()
    expect(page.locator("#boot-text")).to_contain_text("Python 3.14")


def test_stale_build_boots_plain(page: Page, server_factory: Any, tmp_path: Path) -> None:
    """A build made for other sources (its package hash differs) is not served at all."""
    build = current_build()
    stale = tmp_path / "boot"
    shutil.copytree(ROOT / "build" / "boot", stale, symlinks=True)
    manifest = json.loads((stale / "manifest.json").read_text())
    manifest["package_hash"] = "0" * 20
    (stale / "manifest.json").write_text(json.dumps(manifest))
    server = server_factory("--bot", "none", env={"PYRTVI_BOOT_DIR": str(stale)})
    config = httpx.get(server.url + "/pyscript.json").json()
    assert "/runtime/boot/plain-" in config["interpreter"], config
    assert httpx.get(f"{server.url}/runtime/boot/{build.key}/snapshot.bin").status_code == 404
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(server.url + "/")
    assert boot_info(page) == {"mode": "plain", "source": None, "reason": None, "modules": []}
    assert not any("snapshot.bin" in url for url in requested), requested


TRIMMED_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>trimmed stdlib</title>
<script type="module" src="/pyscript/core.js"></script></head>
<body><output id="result">loading</output>
<script type="py" config='__CONFIG__'>
import importlib, json
from pyscript import document
failed = {}
for name in __MODULES__:
    try:
        importlib.import_module(name)
    except BaseException as error:
        failed[name] = repr(error)
document.querySelector("#result").textContent = json.dumps(failed)
</script></body></html>"""


def page_result(page: Page, server: LiveServer, html: str) -> str:
    """Serves `html` at a test URL of `server`, opens it: what its Python put in `#result`."""
    page.route(
        "**/__test_page__.html", lambda route: route.fulfill(body=html, content_type="text/html")
    )
    page.goto(server.url + "/__test_page__.html")
    result = page.locator("#result")
    expect(result).not_to_have_text("loading", timeout=browser_config.BOOT_TIMEOUT_MS)
    return result.text_content() or ""


def test_trimmed_stdlib_imports_every_module(page: Page, page_server: LiveServer) -> None:
    """Without the snapshot, on the trimmed stdlib: every module of ours imports in the page."""
    build = current_build()
    config = httpx.get(page_server.url + "/pyscript.json?boot=trimmed").json()
    assert config["interpreter"].endswith(f"/runtime/boot/{build.key}/interpreter.mjs?boot=trimmed")
    config["interpreter"] += "&packages=pyrtvi_page"
    modules = discover_modules(ROOT / "web")
    html = TRIMMED_PAGE.replace("__CONFIG__", json.dumps(config)).replace(
        "__MODULES__", repr(modules)
    )
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    assert json.loads(page_result(page, page_server, html)) == {}
    assert page.evaluate("window.pyrtviBootInfo") == {
        "mode": "plain",
        "source": None,
        "reason": None,
        "modules": [],
    }
    assert any(url.endswith(f"/runtime/boot/{build.key}/python_stdlib.zip") for url in requested)
    assert not any("snapshot.bin" in url for url in requested)


def stdlib_modules(build: BootBuild) -> list[str]:
    """Dotted names of the stdlib files the build kept (the trimmed stdlib)."""
    names = []
    for file in json.loads((ROOT / "build" / "boot" / "manifest.json").read_text())["stdlib"]:
        if file.endswith(".py") and "-" not in file:
            parts = file.removesuffix(".py").split("/")
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(set(names))


def import_in_page(
    page: Page, server: LiveServer, config: dict[str, Any], modules: list[str]
) -> dict[str, str]:
    """Imports `modules` in a page booted with `config`: {module: error} of those that failed."""
    html = TRIMMED_PAGE.replace("__CONFIG__", json.dumps(config)).replace(
        "__MODULES__", repr(modules)
    )
    return dict(json.loads(page_result(page, server, html)))


def test_snapshot_boot_imports_what_the_full_stdlib_imports(
    page: Page, page_server: LiveServer
) -> None:
    """With the snapshot (its stdlib zip holds only what the snapshot did not import), every
    stdlib module the build kept imports exactly as on the full stdlib without a snapshot."""
    modules = stdlib_modules(current_build())
    fast = httpx.get(page_server.url + "/pyscript.json").json()
    failed_fast = import_in_page(page, page_server, fast, modules)
    assert page.evaluate("window.pyrtviBootInfo")["mode"] == "snapshot"
    plain = httpx.get(page_server.url + "/pyscript.json?boot=plain").json()
    failed_plain = import_in_page(page, page_server, plain, modules)
    assert page.evaluate("window.pyrtviBootInfo")["mode"] == "plain"
    assert len(modules) > 150
    # Only what cannot run here at all (win32 modules, ...), the same on both boots.
    assert failed_fast.keys() == failed_plain.keys(), (failed_fast, failed_plain)
    assert len(failed_plain) < 5, failed_plain


SOURCES_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>package sources</title>
<script type="module" src="/pyscript/core.js"></script></head>
<body><output id="result">loading</output>
<script type="py" config="/pyscript.json">
import asyncio, importlib, linecache, os, sys
from pyscript import document
import rtvi.client

async def main():
    first = "rtvi.client" in sys.modules and not os.path.exists(rtvi.client.__file__)
    importlib.import_module("rtvi.ui_agent.dom")  # not in the snapshot: it waits for its zip
    for _ in range(200):  # the files come when the page is idle
        if os.path.exists(rtvi.client.__file__):
            break
        await asyncio.sleep(0.05)
    linecache.checkcache()
    line = linecache.getline(rtvi.client.__file__, 1)
    document.querySelector("#result").textContent = f"{first}|{line.strip()}"

asyncio.ensure_future(main())
</script></body></html>"""


def test_snapshot_boot_unpacks_package_sources_after_ready(
    page: Page, page_server: LiveServer
) -> None:
    """With the snapshot our modules are in memory before the zips arrive; their files follow
    (for tracebacks), and a failing zip then is no boot error."""
    first_line = (ROOT / "web" / "rtvi" / "client.py").read_text().splitlines()[0].strip()
    assert page_result(page, page_server, SOURCES_PAGE) == f"True|{first_line}"
    assert page.evaluate("window.pyrtviBootInfo")["mode"] == "snapshot"
    assert "rtvi.ui_agent.dom" in current_build().later
    assert page.evaluate("performance.getEntriesByName('pyrtvi:fetch-now').length") >= 1
    # The console, its zips refused: Python boots from the snapshot all the same.
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text))
    page.route("**/py/*.zip", lambda route: route.fulfill(status=500, body="boom"))
    page.goto(page_server.url + "/")
    info = boot_info(page)
    assert info["mode"] == "snapshot", info
    for _ in range(100):
        if any("package sources not unpacked" in text for text in warnings):
            break
        page.wait_for_timeout(100)
    assert any("/py/rtvi.zip: HTTP 500" in text for text in warnings), warnings
    expect(page.locator("#boot-error")).to_be_hidden()
    expect(page.locator("html")).to_have_attribute("data-boot", "ready")


PYC_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>pyscript bytecode</title>
<script type="module" src="/pyscript/core.js"></script></head>
<body><output id="result">loading</output>
<script type="py" config="/pyscript.json">
import importlib.util, json, pathlib, sys
from pyscript import document
found = {}
for source in sorted(pathlib.Path(sys.modules["pyscript"].__file__).parent.glob("*.py")):
    cached = pathlib.Path(importlib.util.cache_from_source(str(source)))
    pyc = cached.read_bytes() if cached.exists() else b""
    flags = int.from_bytes(pyc[4:8], "little") if pyc else None
    fresh = pyc[8:16] == importlib.util.source_hash(source.read_bytes())
    found[source.name] = [flags, fresh]
document.querySelector("#result").textContent = json.dumps(found)
</script></body></html>"""


def test_pyscripts_own_package_comes_compiled(page: Page, page_server: LiveServer) -> None:
    """PyScript writes its `pyscript` sources at every start; the build's checked-hash .pyc files
    beside them match those sources (so Python loads them instead of compiling)."""
    found = json.loads(page_result(page, page_server, PYC_PAGE))
    assert "__init__.py" in found and "web.py" in found, found
    # flags 0b11: hash-based and checked; and the hash is the one of the source PyScript wrote.
    assert {name: value for name, value in found.items() if value != [3, True]} == {}


# --- the shipped mode's kept copies: later visits read the snapshot and the wasm decoded --------


def kept_state(page: Page, state: str) -> dict[str, Any]:
    """Waits for `data-pyrtvi-kept` to be `state`; what became of the kept copies."""
    return settled(page, state, "data-pyrtvi-kept", "kept")


KEPT_JS = """async () => {
  const cache = await caches.open("pyrtvi-boot-kept");
  const entries = {};
  for (const request of await cache.keys()) {
    const response = await cache.match(request);
    entries[new URL(request.url).pathname] = (await response.arrayBuffer()).byteLength;
  }
  return entries;
}"""

#: Replaces the kept snapshot by zeros of its length, and flips the kept wasm's last byte (in its
#: data section: it still compiles; only its SHA-256, computed in the hash Worker, tells).
SPOIL_KEPT_JS = """async ([snapshot, wasm, size]) => {
  const cache = await caches.open("pyrtvi-boot-kept");
  await cache.put(snapshot, new Response(new Uint8Array(size)));
  const bytes = new Uint8Array(await (await cache.match(wasm)).arrayBuffer());
  bytes[bytes.length - 1] ^= 0xff;
  await cache.put(wasm, new Response(bytes, { headers: { "content-type": "application/wasm" } }));
}"""


def test_a_later_visit_restores_from_the_kept_copies(page: Page, page_server: LiveServer) -> None:
    """The first visit stores the snapshot and the wasm in Cache Storage once idle; the next one
    boots from them (no preload of theirs in the HTML, no request); wrong copies are not used:
    that visit reads the files from the server, boots all the same and keeps them again."""
    build = current_build()
    runtime = Runtime.locate(ROOT / "node_modules")
    kept = f"/runtime/boot/{build.key}/kept/"
    sizes = {
        kept + "snapshot.bin": (build.directory / "snapshot.bin").stat().st_size,
        kept + "pyodide.asm.wasm": (runtime.pyodide_dir / "pyodide.asm.wasm").stat().st_size,
    }
    page.goto(page_server.url + "/")
    info = boot_info(page)
    assert (info["mode"], info["source"]) == ("snapshot", "shipped"), info
    assert kept_state(page, "stored")["stored"] == ["snapshot", "wasm"]
    assert page.evaluate(KEPT_JS) == sizes
    assert page.evaluate("document.cookie") == f"pyrtvi-kept={build.key}"
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.add_init_script(BOOT_AT_ALL_DONE_JS)
    html = page.goto(page.url)
    assert html is not None and "pyrtviKeptReads" in html.text()
    assert 'snapshot.bin" as="fetch"' not in html.text()
    info = boot_info(page)
    assert (info["mode"], info["source"], info["reason"]) == ("snapshot", "shipped", None), info
    assert set(build.imported) <= set(info["modules"]), info
    assert kept_state(page, "used") == {"state": "used"}
    # PyScript's core comes after the console's start on such a visit, and still runs main.py.
    assert "data-pyrtvi-pyscript" in html.text()
    page.wait_for_function("window.__bootAtAllDone !== undefined")
    assert page.evaluate("window.__bootAtAllDone") == "ready"
    expect(page.locator(".py-error")).to_have_count(0)
    assert not any(url.endswith(("/snapshot.bin", "/pyodide.asm.wasm")) for url in requested)
    # Wrong copies: the snapshot's other bytes of its length, the wasm's with one byte changed.
    page.evaluate(
        SPOIL_KEPT_JS,
        [
            page_server.url + kept + "snapshot.bin",
            page_server.url + kept + "pyodide.asm.wasm",
            sizes[kept + "snapshot.bin"],
        ],
    )
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text))
    requested.clear()
    page.goto(page.url)
    info = boot_info(page)
    assert (info["mode"], info["source"], info["reason"]) == ("snapshot", "shipped", None), info
    expect(page.locator("#boot-error")).to_be_hidden()
    assert any(url.endswith("/snapshot.bin") for url in requested), requested
    assert any(url.endswith("/pyodide.asm.wasm") for url in requested), requested
    assert sum("pyrtvi: kept copy not used" in text for text in warnings) == 2, warnings
    assert any("wasm: not the build's" in text for text in warnings), warnings  # by its hash
    assert kept_state(page, "stored")["stored"] == ["snapshot", "wasm"]
    assert page.evaluate(KEPT_JS) == sizes


def test_a_later_visit_writes_the_kept_snapshot_as_the_full_copy_would(
    page: Page, page_server: LiveServer
) -> None:
    """A later visit writes the kept snapshot straight into the wasm memory (no unpacked copy
    for Pyodide to copy again): its check mode then makes the full copy on the same page, as
    the other path does, and compares: every byte of the memory and the header is the same."""
    build = current_build()
    page.goto(page_server.url + "/")
    assert boot_info(page)["source"] == "shipped"
    assert kept_state(page, "stored")["stored"] == ["snapshot", "wasm"]
    page.add_init_script("globalThis.pyrtviRestoreCheck = true")
    page.goto(page.url)
    info = boot_info(page)
    assert (info["mode"], info["source"], info["reason"]) == ("snapshot", "shipped", None), info
    assert kept_state(page, "used") == {"state": "used"}
    check = page.evaluate("globalThis.pyrtviRestoreCheck")
    assert check["same"] is True, check
    assert check["bytes"] == build.snapshot_size - build.snapshot_size % 65536, check


def test_kept_copies_wait_for_the_call_to_end(page: Page, page_server: LiveServer) -> None:
    """The copies are stored between calls only (`pyrtvi.callActive`, which the client calls
    from `connect()` to disconnected): never while one takes the CPU."""
    page.goto(page_server.url + "/")
    assert boot_info(page)["source"] == "shipped"
    page.evaluate("pyrtvi.callActive('a call', true)")
    page.wait_for_function(
        "() => window.pyrtviBootInfo.kept.call === true", timeout=browser_config.BOOT_TIMEOUT_MS
    )
    expect(page.locator("html")).to_have_attribute("data-pyrtvi-kept", "waiting")
    assert page.evaluate(KEPT_JS) == {}
    page.evaluate("pyrtvi.callActive('a call', false)")
    facts = kept_state(page, "stored")
    assert (facts["stored"], facts["call"]) == (["snapshot", "wasm"], False), facts


def test_kept_copies_that_cannot_be_stored_leave_the_page_working(
    page: Page, page_server: LiveServer
) -> None:
    """Cache Storage refusing the copies (here: over quota) is a warning, not an error."""
    page.add_init_script(
        "Cache.prototype.put = () => Promise.reject(new DOMException('full', 'QuotaExceededError'))"
    )
    page.goto(page_server.url + "/")
    assert boot_info(page)["source"] == "shipped"
    assert "full" in kept_state(page, "failed")["error"]
    expect(page.locator("#boot-error")).to_be_hidden()
    expect(page.locator("html")).to_have_attribute("data-boot", "ready")
    assert page.evaluate("document.cookie") == ""


# --- the local mode: a plain first visit, then the browser's own snapshot -----------------------


def settled(
    page: Page, state: str, attribute: str = "data-pyrtvi-snapshot", facts: str = "local"
) -> dict[str, Any]:
    """Waits for `data-pyrtvi-snapshot` (or `attribute`) to be `state`; the local snapshot's
    facts (or `pyrtviBootInfo[facts]`)."""
    expect(page.locator("html")).to_have_attribute(
        attribute, state, timeout=browser_config.BOOT_TIMEOUT_MS
    )
    return dict(page.evaluate(f"window.pyrtviBootInfo.{facts}"))


CACHE_JS = """async () => {
  const cache = await caches.open("pyrtvi-boot");
  const entries = {};
  for (const request of await cache.keys()) {
    const response = await cache.match(request);
    entries[request.url] = {
      bytes: (await response.arrayBuffer()).byteLength,
      refused: response.headers.get("x-pyrtvi-refused"),
    };
  }
  return entries;
}"""


def test_first_visit_boots_plain_and_the_next_from_its_own_snapshot(
    page: Page, local_boot_server: LiveServer
) -> None:
    build = current_build()
    server = local_boot_server
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(server.url + "/")
    info = boot_info(page)
    assert (info["mode"], info["source"], info["reason"]) == ("plain", None, None), info
    # The smallest download: the trimmed stdlib, no snapshot from the server.
    paths = {url.removeprefix(server.url) for url in requested}
    assert f"/runtime/boot/{build.key}/python_stdlib.zip" in paths, paths
    assert not any("snapshot.bin" in path for path in paths), paths
    made = settled(page, "stored")
    assert made["imported"] == len(build.imported) and made["skipped"] == {}, made
    entry = f"{server.url}/runtime/boot/{build.key}/local-snapshot.rtvi+pyrtvi_page.bin"
    assert page.evaluate(CACHE_JS) == {entry: {"bytes": made["bytes"], "refused": None}}
    # The next visit: Python from the browser's snapshot (the suite's routing turns the HTTP
    # cache off, so the runtime files are fetched again here; bench.boot shows warm transfer).
    requested.clear()
    page.goto(page.url)
    info = boot_info(page)
    assert (info["mode"], info["source"], info["reason"]) == ("snapshot", "local", None), info
    assert set(build.imported) <= set(info["modules"]), info
    settled(page, "used")
    assert not any(url.endswith(("/snapshot_worker.mjs", "snapshot.bin")) for url in requested)
    expect(page.locator("#boot-error")).to_be_hidden()
    expect(page.locator("#boot-text")).to_contain_text("Python 3.14")


def put_stored(page: Page, server: LiveServer, url: str, body: bytes, size: int) -> None:
    """Writes a Cache Storage entry as the Worker would (same origin as the page)."""
    page.goto(server.url + "/health")
    page.evaluate(
        """async ([url, body, size]) => {
          const cache = await caches.open("pyrtvi-boot");
          const headers = { "x-pyrtvi-snapshot-size": String(size), "x-pyrtvi-complete": "1" };
          await cache.put(url, new Response(new Uint8Array(body), { headers }));
        }""",
        [url, list(body), size],
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [("zeros", "magic"), ("garbage", "not a pyrtvi snapshot pack")],
)
def test_refused_local_snapshot_is_marked_and_not_made_again(
    page: Page, local_boot_server: LiveServer, body: str, reason: str
) -> None:
    """A stored snapshot that fails: this boot is plain (full stdlib), the entry is marked, and
    the later visits boot plain without a Worker until the build changes."""
    build = current_build()
    server = local_boot_server
    entry = f"{server.url}/runtime/boot/{build.key}/local-snapshot.rtvi+pyrtvi_page.bin"
    data = {"zeros": empty_pack(build.snapshot_size), "garbage": b"\1" * 64}[body]
    put_stored(page, server, entry, data, build.snapshot_size)
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text))
    page.goto(server.url + "/")
    info = boot_info(page)
    assert info["mode"] == "plain" and reason in info["reason"], info
    assert reason in settled(page, "refused")["error"]
    assert any("pyrtvi: plain boot" in text for text in warnings), warnings
    for _ in range(50):  # the mark is written without waiting
        if page.evaluate(CACHE_JS)[entry]["refused"]:
            break
        page.wait_for_timeout(100)
    assert reason in page.evaluate(CACHE_JS)[entry]["refused"]
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(page.url)
    info = boot_info(page)
    assert (info["mode"], info["reason"]) == ("plain", None), info
    assert reason in settled(page, "refused")["error"]
    page.wait_for_timeout(1000)  # (a Worker would start once the page is idle)
    assert not any(url.endswith("/snapshot_worker.mjs") for url in requested), requested
    expect(page.locator("#boot-error")).to_be_hidden()


def test_an_older_builds_local_snapshot_is_replaced(
    page: Page, local_boot_server: LiveServer
) -> None:
    """The console's snapshot replaces an older build's, and keeps the embed page's of this one."""
    build = current_build()
    server = local_boot_server
    old = f"{server.url}/runtime/boot/0123456789abcdef0123/local-snapshot.rtvi+pyrtvi_page.bin"
    put_stored(page, server, old, b"old", 3)
    embed = f"{server.url}/runtime/boot/{build.key}/local-snapshot.rtvi.bin"
    put_stored(page, server, embed, b"embed", 5)
    page.goto(server.url + "/")
    assert boot_info(page)["mode"] == "plain"
    settled(page, "stored")
    current = f"{server.url}/runtime/boot/{build.key}/local-snapshot.rtvi+pyrtvi_page.bin"
    assert sorted(page.evaluate(CACHE_JS)) == sorted([current, embed])


def test_a_failing_worker_leaves_the_page_working(
    page: Page, local_boot_server: LiveServer
) -> None:
    """No snapshot for the next visit (here: its Worker is not served) is a warning, not an
    error: the page stays ready, and the next visit boots plain and tries again."""
    page.route("**/snapshot_worker.mjs", lambda route: route.fulfill(status=404, body="gone"))
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text))
    page.goto(local_boot_server.url + "/")
    assert boot_info(page)["mode"] == "plain"
    settled(page, "failed")
    assert any("no local snapshot for the next visit" in text for text in warnings), warnings
    expect(page.locator("#boot-error")).to_be_hidden()
    expect(page.locator("html")).to_have_attribute("data-boot", "ready")
    page.unroute("**/snapshot_worker.mjs")
    page.goto(page.url)
    assert boot_info(page)["mode"] == "plain"
    settled(page, "stored")
