"""Runtime serving for the fast boot: precompressed files by Accept-Encoding, keyed boot URLs."""

from __future__ import annotations

import gzip
import hashlib
import html
import io
import json
import re
import zipfile

import httpx
import pytest
from pyrtvi_server.app import CONSOLE_SKIPPED_PLUGINS
from pyrtvi_server.boot import BootBuild
from pyrtvi_server.runtime import Runtime
from pyrtvi_testing.processes import LiveServer

from tests.conftest import ROOT

RUNTIME = Runtime.locate(ROOT / "node_modules")
WASM = f"/runtime/pyodide/{RUNTIME.pyodide_version}/pyodide.asm.wasm"


def build() -> BootBuild:
    found = BootBuild.load(ROOT / "build" / "boot", ROOT / "web", RUNTIME)
    assert found is not None, "no boot build for these sources: run `make setup`"
    return found


@pytest.fixture
def client(page_server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=page_server.url, timeout=30)


@pytest.mark.parametrize(
    ("accept", "coding"),
    [("gzip, deflate, br, zstd", "br"), ("gzip", "gzip"), ("br;q=0, gzip", "gzip"), ("", None)],
)
def test_wasm_in_the_best_coding_accepted(client: httpx.Client, accept: str, coding: str) -> None:
    raw = (RUNTIME.pyodide_dir / "pyodide.asm.wasm").read_bytes()
    with client.stream("GET", WASM, headers={"Accept-Encoding": accept or "identity"}) as r:
        assert r.status_code == 200
        assert r.headers.get("content-encoding") == coding
        assert r.headers["cache-control"].endswith("immutable")
        body = r.read()  # httpx decodes gzip (and br only with a brotli package: not checked)
    if coding in {None, "gzip"}:
        assert body == raw
    if coding == "gzip":
        assert len(gzip.compress(raw, 9)) >= int(r.headers["content-length"]) * 0.99


def test_config_names_the_current_build(client: httpx.Client) -> None:
    """The suite's servers run in the shipped mode (SUITE_BOOT); every mode can be asked for."""
    current = build()
    key = current.key
    config = client.get("/pyscript.json").json()
    assert config["interpreter"].endswith(f"/runtime/boot/{key}/interpreter.mjs?boot=shipped")
    module = client.get(config["interpreter"])
    assert module.status_code == 200
    assert module.headers["content-type"].startswith("text/javascript")
    shipped = boot_config(module.text)
    assert (shipped["snapshot"], shipped["local"]) == ("snapshot.bin", None)
    local_url = client.get("/pyscript.json?boot=local").json()["interpreter"]
    assert local_url.endswith("?boot=local")
    local = boot_config(client.get(local_url).text)
    assert local["snapshot"] is None and local["stdlib"] == "python_stdlib.zip"
    assert local["local"] == {
        "cache": "pyrtvi-boot",
        "snapshot": "local-snapshot.rtvi.bin",
        "worker": "snapshot_worker.mjs",
        "modules": [m for m in current.imported if m.startswith("rtvi")],
        "stdlibImports": list(current.stdlib_imports),
    }
    # The console's own entry, with its package's modules too.
    console = boot_config(client.get(local_url + "&packages=pyrtvi_page").text)["local"]
    assert console["snapshot"] == "local-snapshot.rtvi+pyrtvi_page.bin"  # type: ignore[index]
    assert console["modules"] == list(current.imported)  # type: ignore[index]
    assert current.stdlib_imports, "the build records what PyScript's start imports"
    trimmed = boot_config(
        client.get(client.get("/pyscript.json?boot=trimmed").json()["interpreter"]).text
    )
    assert (trimmed["snapshot"], trimmed["local"], trimmed["stdlib"]) == (
        None,
        None,
        "python_stdlib.zip",
    )
    plain = client.get("/pyscript.json?boot=plain").json()["interpreter"]
    assert "/runtime/boot/plain-" in plain
    assert boot_config(client.get(plain).text)["stdlib"] is None
    bad = client.get("/pyscript.json?boot=turbo")
    assert bad.status_code == 400 and "boot must be" in bad.json()["detail"]
    bad = client.get(f"/runtime/boot/{key}/interpreter.mjs?boot=turbo")
    assert bad.status_code == 400 and "boot must be" in bad.json()["detail"]


def test_the_snapshot_worker_is_served_per_build(client: httpx.Client) -> None:
    key = build().key
    worker = client.get(f"/runtime/boot/{key}/snapshot_worker.mjs")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"].endswith("immutable")
    assert "export function pack(" in worker.text
    assert client.get("/runtime/boot/0000/snapshot_worker.mjs").status_code == 404


def test_unknown_boot_keys_and_files_are_404(client: httpx.Client) -> None:
    key = build().key
    assert client.get("/runtime/boot/0000/interpreter.mjs").status_code == 404
    assert client.get("/runtime/boot/0000/snapshot.bin").status_code == 404
    assert client.get(f"/runtime/boot/{key}/manifest.json").status_code == 404
    assert client.get(f"/runtime/boot/{key}/../manifest.json").status_code == 404
    assert client.head(f"/runtime/boot/{key}/snapshot.bin").status_code == 200


def test_console_preloads_pyscripts_own_modules_first(client: httpx.Client) -> None:
    """PyScript's core chunk and error plugin are hinted before the big runtime downloads, and
    the console refuses the plugins it does not use (embedding pages keep them all)."""
    chunks = RUNTIME.pyscript_chunks()
    assert len(chunks) == 2 and chunks[0].startswith("core-") and chunks[1].startswith("error-")
    page = client.get("/").text
    links = re.findall(r'<link rel="(?:module)?preload" href="([^"]+)"', page)
    pyscript = [f"{RUNTIME.pyscript_url}/{name}" for name in chunks]
    assert links[:2] == pyscript, links
    assert links.index(WASM) > 1
    for url in pyscript:
        assert client.get(url).status_code == 200
    attribute = re.search(r'<script type="py" config="([^"]+)"', page)
    assert attribute is not None
    config = json.loads(html.unescape(attribute.group(1)))
    assert config["plugins"] == [f"!{name}" for name in CONSOLE_SKIPPED_PLUGINS]
    assert "error" not in CONSOLE_SKIPPED_PLUGINS
    assert "plugins" not in client.get("/pyscript.json").json()


def test_the_console_requests_what_its_boot_needs_from_the_html(client: httpx.Client) -> None:
    """Issue 25: every download of the default (shipped) boot is hinted in the HTML, the lock
    file comes inside the interpreter module, and the page's own assets are versioned URLs
    served immutable (no revalidation on a later visit)."""
    assert not any(path.suffix == ".whl" for path in RUNTIME.pyodide_dir.iterdir())
    key = build().key
    page = client.get("/").text
    links = re.findall(r'<link rel="(?:module)?preload" href="([^"]+)"', page)
    for needed in (
        WASM,
        f"/runtime/boot/{key}/snapshot.bin",
        f"/runtime/boot/{key}/pyscript_pyc.zip",
        "/app/main.py",
    ):
        assert needed in links, (needed, links)
    # Issue 25, third round: the rest of the stdlib is fetched once the page is idle.
    assert f"/runtime/boot/{key}/python_stdlib_rest.zip" not in links, links
    assert not any(link.startswith("/py/") for link in links), links  # after the boot
    console = next(link for link in links if "interpreter.mjs" in link)
    boot = boot_config(client.get(html.unescape(console)).text)
    lock = json.loads(str(boot["lockFile"]))
    # Without its packages: the runtime served has none of their wheels.
    assert lock["packages"] == {} and lock["info"]["abi_version"]
    for name in ("style.css", "boot.js", "theme.js"):
        match = re.search(rf'"(/app/{re.escape(name)}\?v=[0-9a-f]+)"', page)
        assert match is not None, name
        assert client.get(match.group(1)).headers["cache-control"].endswith("immutable")
        assert client.get(f"/app/{name}").headers["cache-control"] == "no-cache"
        assert client.get(f"/app/{name}?v=0").headers["cache-control"] == "no-cache"


def boot_config(module: str) -> dict[str, object]:
    """The BOOT object the server baked into an interpreter module."""
    match = re.search(r"^const BOOT = (\{.*\});$", module, re.MULTILINE)
    assert match is not None, module[:500]
    return dict(json.loads(match.group(1)))


def test_the_shipped_boot_names_its_kept_copies(client: httpx.Client) -> None:
    """The interpreter module carries what a kept copy must be (the build's files: length and
    SHA-256); the console's HTML, for a browser that says it keeps them (its cookie, this
    build's key), reads them from the page instead of preloading the files, and varies so."""
    current = build()
    console = next(
        link
        for link in re.findall(r'href="([^"]+)"', client.get("/").text)
        if "interpreter.mjs" in link
    )
    kept = boot_config(client.get(html.unescape(console)).text)["kept"]
    assert isinstance(kept, dict)
    snapshot = (current.directory / "snapshot.bin").read_bytes()
    assert kept["snapshot"]["bytes"] == len(snapshot)
    assert kept["snapshot"]["sha256"] == hashlib.sha256(snapshot).hexdigest()
    wasm = (RUNTIME.pyodide_dir / "pyodide.asm.wasm").read_bytes()
    assert (kept["wasm"]["bytes"], kept["wasm"]["type"]) == (len(wasm), "application/wasm")
    assert kept["key"] == current.key and kept["cookie"] == "pyrtvi-kept"
    plain = client.get(client.get("/pyscript.json?boot=plain").json()["interpreter"]).text
    assert boot_config(plain)["kept"] is None
    for cookie, has_kept in (("", False), ("0" * 20, False), (current.key, True)):
        response = client.get("/", headers={"Cookie": f"pyrtvi-kept={cookie}"})
        assert response.headers["vary"] == "Accept-Encoding, Cookie"
        links = re.findall(r'<link rel="(?:module)?preload" href="([^"]+)"', response.text)
        assert (WASM in links, f"/runtime/boot/{current.key}/snapshot.bin" in links) == (
            not has_kept,
            not has_kept,
        ), links
        assert (f'"/runtime/boot/{current.key}/kept/snapshot.bin"' in response.text) is has_kept
        # The rest of the stdlib is fetched once the page is idle, in either case.
        assert f"/runtime/boot/{current.key}/python_stdlib_rest.zip" not in links


def test_the_interpreter_module_brings_our_packages(client: httpx.Client) -> None:
    """PyScript's config names no files: the interpreter module unpacks our zips itself (after the
    boot when the snapshot holds every module of them), and the console asks for its own too."""
    current = build()
    config = client.get("/pyscript.json").json()
    assert set(config) == {"interpreter"}, config
    boot = boot_config(client.get(config["interpreter"]).text)
    assert boot["packages"] == ["../../../py/rtvi.zip"]
    assert boot["packagesInSnapshot"] is (current.snapshot and not current.skipped)
    for path in boot["packages"]:  # type: ignore[attr-defined]
        url = httpx.URL(config["interpreter"]).join(path)
        assert client.get(str(url)).headers["content-type"] == "application/zip"
    plain = boot_config(
        client.get(client.get("/pyscript.json?boot=plain").json()["interpreter"]).text
    )
    assert plain["packages"] == ["../../../py/rtvi.zip"] and plain["packagesInSnapshot"] is False
    page = client.get("/").text
    attribute = re.search(r'<script type="py" config="([^"]+)"', page)
    assert attribute is not None
    console = json.loads(html.unescape(attribute.group(1)))["interpreter"]
    assert console.endswith("/interpreter.mjs?boot=shipped&packages=pyrtvi_page")
    assert f'<link rel="modulepreload" href="{html.escape(console)}">' in page  # the same URL
    assert boot_config(client.get(console).text)["packages"] == [
        "../../../py/rtvi.zip",
        "../../../py/pyrtvi_page.zip",
    ]
    bad = client.get(f"/runtime/boot/{current.key}/interpreter.mjs?packages=rtvi,os")
    assert bad.status_code == 400 and "unknown packages: os" in bad.json()["detail"]


def test_package_zips_are_stored_and_compressed_whole(client: httpx.Client) -> None:
    """Entries stored, the whole zip brotli- or gzip-compressed on the wire, ETag revalidated."""
    for coding in ("br", "gzip"):
        response = client.get("/py/rtvi.zip", headers={"Accept-Encoding": coding})
        assert response.status_code == 200
        assert response.headers["content-encoding"] == coding
        archive = zipfile.ZipFile(io.BytesIO(response.content))  # httpx decoded it
        assert "rtvi/client.py" in archive.namelist()
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
        assert int(response.headers["content-length"]) < len(response.content) * 0.35
    etag = response.headers["etag"]
    again = client.get("/py/rtvi.zip", headers={"If-None-Match": etag})
    assert again.status_code == 304
