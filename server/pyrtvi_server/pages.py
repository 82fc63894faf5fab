"""The page and what it loads: the console, `/pyscript.json`, the interpreter module and the fast
boot's files, our packages as zips, and the pinned Pyodide/PyScript runtime directories."""

from __future__ import annotations

import asyncio
import html
import json
import re
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from pyrtvi_server.boot import (
    BOOT_MODES,
    BUILD_FILES,
    KEPT_CACHE,
    KEPT_COOKIE,
    KEPT_ENTRIES,
    PARTS,
    SNAPSHOT_WORKER,
    BootBuild,
    interpreter_module,
    part_names,
    part_spans,
    plain_key,
    whole_file,
)
from pyrtvi_server.config import Settings
from pyrtvi_server.runtime import Runtime
from pyrtvi_server.static import (
    IMMUTABLE,
    REVALIDATE,
    Asset,
    AssetCache,
    AssetDirectory,
    PackageZips,
    asset_response,
    build_asset,
    json_error,
    version_tag,
)
from pyrtvi_server.urls import app_url, mount_path

#: PyScript's plugins that the console does not use. PyScript imports every plugin not refused
#: in the config before it starts the interpreter: each is a request on the critical path, and
#: on HTTP/1.1 they queue for the connections that the runtime downloads hold. `error` stays (it
#: shows Python errors, which boot.js reports). Embedding pages (`/pyscript.json`) keep them all:
#: they may use `<script type="py-editor">` or `terminal`.
CONSOLE_SKIPPED_PLUGINS = ("deprecations-manager", "donkey", "py-editor", "py-game", "py-terminal")
GET = ["GET", "HEAD"]
#: `{{V:style.css}}` in a page: the version query of one of `web/app/`'s files.
VERSIONED = re.compile(r"\{\{V:([\w.-]+)\}\}")


def pyscript_config(
    interpreter_url: str, origin: str = "", skip_plugins: tuple[str, ...] = ()
) -> dict[str, object]:
    """PyScript config: our interpreter module (it also brings our packages, see interpreter.mjs).

    ``origin`` (e.g. ``http://127.0.0.1:8000``) makes the URLs absolute, so that a page on
    another origin that uses this config loads everything from this server. ``skip_plugins``:
    PyScript plugins not loaded at all.
    """
    config: dict[str, object] = {"interpreter": f"{origin}{interpreter_url}"}
    if skip_plugins:
        config["plugins"] = [f"!{name}" for name in skip_plugins]
    return config


#: In the console's HTML when the browser has the kept copies (KEPT_COOKIE): their reads from
#: Cache Storage start with the page, as the preloads do on a first visit, instead of once the
#: interpreter module runs (which takes them over: `pyrtviKeptReads`, checked there). Each is one
#: `caches.match` naming the cache: `caches.open` first is one more round trip to the browser's
#: storage (the copies matched at ~85-110 ms instead of ~120-150 on a later visit here).
KEPT_READS = """<script>
  self.pyrtviKeptReads = self.caches && WebAssembly.compileStreaming && (() => {
    const quiet = (promise) => (promise.catch(() => {}), promise);
    const match = (url) => quiet(caches.match(url, { cacheName: %(cache)s }));
    const snapshot = quiet(match(%(snapshot)s).then((r) => r && r.arrayBuffer()));
    const wasm = quiet(match(%(wasm)s).then((r) => r && {
      module: quiet(WebAssembly.compileStreaming(r.clone())), bytes: quiet(r.arrayBuffer()),
    }));
    return { snapshot, wasm };
  })();
  </script>"""


#: The console's PyScript core script tag, and what a later visit (the kept copies) has instead:
#: the module preloaded, and imported by the interpreter module once the console's early start
#: (`data-pyrtvi-start`) is done. On a later visit Python is restored from local copies in
#: ~0.3 s, and PyScript's own start before it calls loadPyodide() (its core evaluated, its
#: config, plugins and custom types) took the main thread from the copies' reads then (bench.boot:
#: the snapshot in ~85 ms later); the console needs none of it to start. A first visit keeps the
#: script: PyScript starts while the runtime downloads.
PYSCRIPT_CORE = re.compile(r'<script type="module" src="([^"]*/core\.js)"></script>')
PYSCRIPT_AFTER_START = r'<link rel="modulepreload" href="\1" data-pyrtvi-pyscript>'

#: PyScript reads a config for each of its two interpreter types, and imports every plugin that
#: a type's config does not refuse: the console's `<script type="py">` refuses them, but without
#: an `<mpy-config>` the MicroPython type imported all of them anyway (five modules before
#: PyScript's start, and their hooks). The console has no MicroPython script: the same plugins
#: refused there too.
MPY_CONFIG = "<mpy-config hidden>%s</mpy-config>"


class PageRoutes:
    """The page's and the runtime's routes, over one asset cache."""

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self.settings = settings
        self.runtime = runtime
        self.cache = AssetCache()
        self.zips = PackageZips()
        self.web = settings.web_dir
        #: Our packages served as `/py/<name>.zip`.
        self.packages = {"rtvi": self.web / "rtvi", "pyrtvi_page": self.web / "app" / "pyrtvi_page"}
        self.plain = plain_key(runtime)
        #: PyScript's core chunk and error plugin: imported by core.js before it starts Python.
        self.pyscript_chunks = runtime.pyscript_chunks()
        precompressed = settings.boot_dir / "precompressed"
        self.pyodide_files = AssetDirectory(
            runtime.pyodide_dir,
            self.cache,
            IMMUTABLE,
            precompressed / "pyodide" / runtime.pyodide_version,
        )
        self.pyscript_files = AssetDirectory(
            runtime.pyscript_dir,
            self.cache,
            IMMUTABLE,
            precompressed / "pyscript" / runtime.pyscript_version,
        )

    def routes(self) -> list[BaseRoute]:
        web = self.web
        routes: list[BaseRoute] = [
            Route("/", self.index, methods=GET),
            Route("/pyscript.json", self.config, methods=GET),
            Route("/py/{name}.zip", self.client_zip, methods=GET),
            Route("/runtime/boot/{key}/interpreter.mjs", self.interpreter, methods=GET),
            Route(f"/runtime/boot/{{key}}/{SNAPSHOT_WORKER.name}", self.worker, methods=GET),
            Route("/runtime/boot/{key}/{name}", self.boot_file, methods=GET),
            Route("/runtime/boot/{key}/part{index:int}/{name}", self.boot_part, methods=GET),
            Route("/pyscript/core.js", self.pyscript_core, methods=GET),
            Mount(self.runtime.pyodide_url, app=self.pyodide_files),
            Mount(self.runtime.pyscript_url, app=self.pyscript_files),
            Mount("/app", app=AssetDirectory(web / "app", self.cache, REVALIDATE)),
        ]
        if (web / "examples").is_dir():
            examples = AssetDirectory(web / "examples", self.cache, REVALIDATE)
            routes.append(Mount("/examples", app=examples))
        return routes

    async def warm(self) -> None:
        """Compress the big runtime files ahead of the first visitor (in threads), and read the
        parts a first visit requests at once (a part read then: its first byte ~0.5 s late)."""
        await asyncio.gather(
            asyncio.to_thread(self.pyodide_files.warm),
            asyncio.to_thread(self.pyscript_files.warm),
            asyncio.to_thread(self.warm_parts),
        )

    def warm_parts(self) -> None:
        build = self.current_build()
        if build is not None and build.parts:
            for name in PARTS:
                for index in range(PARTS[name]):
                    self.part_asset(build, name, index)

    def part_asset(self, build: BootBuild, name: str, index: int) -> Asset:
        """A part of the snapshot or of the wasm, from the whole file (with the build's forms
        of that part, by their `.etag`)."""
        whole = whole_file(name, build.directory, self.runtime)
        span = part_spans(name, build.directory, self.runtime)[index]
        return self.cache.get(whole, build.directory / part_names(name)[index], span)

    # -- what the URLs name ---------------------------------------------------------------------

    def current_build(self, mode: str | None = None) -> BootBuild | None:
        """The setup's boot build if it matches the sources served now (else a plain boot)."""
        if self.settings.boot == "plain" or mode == "plain":
            return None
        return BootBuild.load(self.settings.boot_dir, self.web, self.runtime)

    def boot_path(self, build: BootBuild | None) -> str:
        return f"/runtime/boot/{build.key if build else self.plain}"

    def interpreter_url(
        self, build: BootBuild | None, mode: str | None = None, packages: tuple[str, ...] = ()
    ) -> str:
        """`?boot=`: the boot mode (BOOT_MODES; always in the URL, which is cached immutable:
        a server restarted in another mode serves another URL); `?packages=`: more of our
        packages than `rtvi` (the console also needs `pyrtvi_page`)."""
        query = {}
        if build is not None:
            query["boot"] = mode or self.settings.boot
        if packages:
            query["packages"] = ",".join(packages)
        url = f"{self.boot_path(build)}/interpreter.mjs"
        return url + ("?" + urlencode(query, safe=",") if query else "")

    def preload_links(
        self, build: BootBuild | None, interpreter: str, prefix: str = "", kept: bool = False
    ) -> str:
        """Hints so that every download the boot needs starts with the page, not when PyScript,
        Pyodide or our interpreter module asks for it (`prefix`: the mount path, which
        `interpreter` already carries). Each is fetched later with `fetch(url)` (same-origin
        credentials), which the `crossorigin` preloads match, so nothing travels twice. The
        interpreter module is also run at once (an async module script: PyScript's import of the
        same URL gets the same module), so that the wasm's compile and the snapshot's unpacking
        start with the page, not after PyScript's own start.

        The small files come first (PyScript's modules, ours, PyScript's `.pyc`, `main.py`):
        with HTTP/1.1's six connections per host, the wasm and the snapshot (five requests in
        parts) hold most of them for most of the boot, and what is requested after them may
        wait for a free one.

        `kept`: this browser keeps decoded copies of the wasm and the snapshot (the shipped
        mode's `KEPT_COOKIE`): they are not preloaded (a read of the HTTP cache's brotli bytes
        that the page would not use); the interpreter module fetches them if a copy is gone.
        Their reads and the interpreter module are then in the head's start (`kept_head`).
        """
        pyodide = prefix + self.runtime.pyodide_url
        links = [
            f'<link rel="modulepreload" href="{prefix}{self.runtime.pyscript_url}/{name}">'
            for name in self.pyscript_chunks
        ]
        shipped = self.shipped(build)
        kept = kept and shipped
        links.append(f'<link rel="modulepreload" href="{html.escape(interpreter)}">')
        if not kept:
            # Evaluated as soon as it is in, not when PyScript imports it (the same module): it
            # starts compiling the wasm and reading the snapshot while PyScript starts.
            links.append(f'<script type="module" async src="{html.escape(interpreter)}"></script>')
        links += [
            f'<link rel="modulepreload" href="{pyodide}/pyodide.mjs">',
            f'<link rel="modulepreload" href="{pyodide}/pyodide.asm.mjs">',
        ]
        base = prefix + self.boot_path(build)
        # The small files first: they take a connection for a moment (see above).
        fetched = [f"{base}/pyscript_pyc.zip"] if build and build.pyscript_pyc else []
        fetched.append(f"{prefix}/app/main.py")  # PyScript fetches it once Python is up
        # The big files (not the rest of the stdlib in the shipped mode: it is fetched once the
        # page is idle); the wasm and the snapshot in their parts, the wasm's first (boot.PARTS).
        big = [f"{pyodide}/pyodide.asm.wasm"]
        if build and shipped and build.parts:
            big = [f"{base}/{part}" for name in PARTS for part in part_names(name)]
        elif build and shipped:
            big.append(f"{base}/snapshot.bin")
        if not kept:
            fetched += big
        if build and not shipped and build.stdlib:
            # The local mode's first visit needs it, and so does a boot from the local snapshot.
            fetched.append(f"{base}/python_stdlib.zip")
        if not (build and shipped and not build.skipped):
            # A plain boot unpacks our packages before any page code (a complete shipped
            # snapshot has their modules and fetches them when the page is idle).
            fetched += [f"{prefix}/py/{name}.zip" for name in self.packages]
        links += [f'<link rel="preload" href="{url}" as="fetch" crossorigin>' for url in fetched]
        return "\n  ".join(links)

    def shipped(self, build: BootBuild | None) -> bool:
        """Whether pages boot from `build`'s shipped snapshot."""
        return bool(build and build.snapshot and self.settings.boot == "shipped")

    def kept_head(self, build: BootBuild, interpreter: str, prefix: str = "") -> str:
        """The head's start for a browser with the kept copies: their reads (KEPT_READS), then
        the interpreter module as the first of the page's module scripts (deferred: it runs
        when the HTML is parsed, before PyScript's core; an async one ran after it, ~30 ms
        later on a warm visit here). On a first visit it stays async: it comes from the
        network, and PyScript's core must not wait for it."""
        base = prefix + self.boot_path(build)
        values = {name: json.dumps(f"{base}/{entry}") for name, entry in KEPT_ENTRIES.items()}
        reads = KEPT_READS % {**values, "cache": json.dumps(KEPT_CACHE)}
        return f'{reads}\n  <script type="module" src="{html.escape(interpreter)}"></script>'

    def render_page(self, name: str, prefix: str = "", kept: str | None = None) -> Asset:
        """An HTML page with the runtime URLs filled in (they carry the pinned versions), under
        `prefix` (the mount path: `{{BASE}}` in the page); `kept`: the build key of the kept
        copies this browser says it has (`KEPT_COOKIE`)."""
        raw = self.cache.get(self.web / name)
        build = self.current_build()
        has_kept = build is not None and kept == build.key
        interpreter = prefix + self.interpreter_url(build, packages=("pyrtvi_page",))
        config = pyscript_config(interpreter, skip_plugins=CONSOLE_SKIPPED_PLUGINS)
        page = (
            VERSIONED.sub(self.versioned, raw.body.decode())
            .replace("{{BASE}}", html.escape(prefix, quote=True))
            .replace("{{PYSCRIPT_URL}}", prefix + self.runtime.pyscript_url)
            .replace("{{PYODIDE_URL}}", prefix + self.runtime.pyodide_url)
            .replace("{{PRELOAD}}", self.preload_links(build, interpreter, prefix, has_kept))
            .replace("{{PAGE_CONFIG}}", html.escape(json.dumps(config), quote=True))
        )
        if has_kept and build is not None and self.shipped(build):
            # PyScript's core: loaded with the page, run by the interpreter module once the
            # console has started (PYSCRIPT_AFTER_START).
            page = PYSCRIPT_CORE.sub(PYSCRIPT_AFTER_START, page)
            # Before the stylesheet, which holds back the classic scripts after it.
            heads = ('<link rel="stylesheet"', "<script", "</head>")
            at = min(page.find(tag) for tag in heads if tag in page)
            page = page[:at] + self.kept_head(build, interpreter, prefix) + "\n  " + page[at:]
        refused = {"plugins": config["plugins"]}
        page = page.replace("</body>", MPY_CONFIG % html.escape(json.dumps(refused)) + "\n</body>")
        return build_asset(page.encode(), ".html")

    def versioned(self, match: re.Match[str]) -> str:
        """`{{V:name}}` in a page: `?v=` and the hash of `web/app/<name>`, a URL served
        immutable (no revalidation on later visits; a changed file is a new URL)."""
        return "?v=" + version_tag(self.cache.get(self.web / "app" / match.group(1)))

    def keyed_build(self, key: str) -> tuple[bool, BootBuild | None]:
        """Whether `key` names the plain boot or the current build; the current build."""
        build = self.current_build()
        return key == self.plain or (build is not None and key == build.key), build

    # -- endpoints ------------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        kept = request.cookies.get(KEPT_COOKIE)
        page = self.render_page("index.html", mount_path(request.scope), kept)
        response = asset_response(request, page, REVALIDATE)
        response.headers["Vary"] = "Accept-Encoding, Cookie"  # the preloads follow KEPT_COOKIE
        return response

    async def config(self, request: Request) -> Response:
        """`/pyscript.json`: the fast boot for embedding pages. `?boot=`: `fast` (the server's
        mode), or one of BOOT_MODES: e.g. `plain`, the full stdlib without a snapshot (a page
        that imports stdlib modules the build left out)."""
        origin = app_url(self.settings, request)
        headers = {"Cache-Control": REVALIDATE, "Vary": "Host"}
        mode = request.query_params.get("boot", "fast")
        if mode == "fast":
            mode = self.settings.boot
        if mode not in BOOT_MODES:
            return json_error(400, "bad request", f"boot must be fast, {', '.join(BOOT_MODES)}")
        url = self.interpreter_url(self.current_build(mode), mode)
        response = JSONResponse(pyscript_config(url, origin), headers=headers)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    async def pyscript_core(self, request: Request) -> Response:
        """A stable URL for embedding pages: redirects to the pinned, versioned PyScript."""
        headers = {"Cache-Control": REVALIDATE, "Access-Control-Allow-Origin": "*"}
        url = f"{mount_path(request.scope)}{self.runtime.pyscript_url}/core.js"
        return RedirectResponse(url, 307, headers=headers)

    async def interpreter(self, request: Request) -> Response:
        """Our interpreter module for one boot key (the current build's, or the plain one)."""
        key = request.path_params["key"]
        known, build = self.keyed_build(key)
        if not known:
            return json_error(404, "not found", f"unknown or stale boot build {key}")
        mode = request.query_params.get("boot", self.settings.boot)
        if mode not in BOOT_MODES:
            return json_error(400, "bad request", f"boot must be one of {', '.join(BOOT_MODES)}")
        wanted = ["rtvi", *request.query_params.get("packages", "").split(",")]
        names = list(dict.fromkeys(name for name in wanted if name))
        unknown = [name for name in names if name not in self.packages]
        if unknown:
            return json_error(400, "bad request", f"unknown packages: {', '.join(unknown)}")
        build = build if key != self.plain else None
        body = interpreter_module(self.runtime, build, mode=mode, packages=names)
        return asset_response(request, build_asset(body.encode(), ".mjs"), IMMUTABLE)

    async def worker(self, request: Request) -> Response:
        """The local snapshot's Worker (same for every build; keyed so that it is immutable)."""
        key = request.path_params["key"]
        if not self.keyed_build(key)[0]:
            return json_error(404, "not found", f"unknown or stale boot build {key}")
        return asset_response(request, self.cache.get(SNAPSHOT_WORKER), IMMUTABLE)

    async def boot_file(self, request: Request) -> Response:
        """The snapshot and the stdlib zips of the current build (immutable: keyed)."""
        build = self.current_build()
        name = request.path_params["name"]
        if (
            build is None
            or request.path_params["key"] != build.key
            or name not in BUILD_FILES
            or not (build.directory / name).is_file()
        ):
            return json_error(404, "not found", request.url.path)
        path = build.directory / name
        asset = await asyncio.to_thread(self.cache.get, path, path)
        return asset_response(request, asset, IMMUTABLE)

    async def boot_part(self, request: Request) -> Response:
        """A part of the shipped snapshot or of the wasm (boot.PARTS; immutable: keyed)."""
        build = self.current_build()
        name, index = request.path_params["name"], request.path_params["index"]
        if (
            not 0 <= index < PARTS.get(name, 0)
            or build is None
            or not build.parts
            or request.path_params["key"] != build.key
        ):
            return json_error(404, "not found", request.url.path)
        asset = await asyncio.to_thread(self.part_asset, build, name, index)
        return asset_response(request, asset, IMMUTABLE)

    async def client_zip(self, request: Request) -> Response:
        package = self.packages.get(request.path_params["name"])
        if package is None:
            return json_error(404, "not found", request.url.path)
        asset = await asyncio.to_thread(self.zips.get, package)
        return asset_response(request, asset, REVALIDATE)
