"""Static files: the page, the pinned Pyodide/PyScript runtime, and the client package as a zip.

Starlette's StaticFiles has no compression and no per-mount cache policy, and GZipMiddleware would
recompress the 9.6 MB wasm on every request. This module compresses each compressible file once,
keeps the gzip bytes in memory keyed by (path, mtime, size), and sets caching per mount:
versioned runtime files are immutable, the page and the client package revalidate.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import mimetypes
import threading
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import brotli
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
#: Worth compressing: text and wasm. Zips and images already are compressed.
COMPRESSIBLE = {".js", ".mjs", ".wasm", ".json", ".css", ".html", ".py", ".map", ".txt", ".toml"}
MIN_COMPRESS_BYTES = 1024

mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/x-python", ".py")
mimetypes.add_type("application/toml", ".toml")
mimetypes.add_type("application/json", ".map")  # source maps


#: A byte range `[start, end)` of a file.
Span = tuple[int, int]


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    etag: str
    media_type: str
    brotli: bytes | None = None


def build_asset(
    body: bytes, suffix: str, gzipped: bytes | None = None, etag: str | None = None
) -> Asset:
    """`body` as an asset of a file with `suffix`: its media type, ETag (`etag`: its
    content_tag, when known) and (when worth it) gzip (`gzipped`: the build's, else made here)."""
    gz = gzipped
    if gz is None and suffix in COMPRESSIBLE and len(body) >= MIN_COMPRESS_BYTES:
        gz = gzip.compress(body, compresslevel=6, mtime=0)
        if len(gz) >= len(body):
            gz = None
    media_type = mimetypes.guess_type("x" + suffix)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type.endswith(("json", "javascript")):
        media_type += "; charset=utf-8"
    return Asset(body, gz, etag or content_tag(body), media_type)


def content_tag(body: bytes) -> str:
    """The ETag of a file's bytes. tools/build_boot.py writes it beside the forms it compresses
    (`<name>.etag`): they are used while the file has those bytes, whatever its mtime."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def precompressed_forms(target: Path, etag: str, mtime: float) -> dict[str, bytes]:
    """The `.br`/`.gz` forms of a file (`target`: their path without the suffix) that are of its
    current bytes: those the build's `.etag` says were made from bytes with `etag`; without an
    `.etag` (an older build), those at least as new as the file (`mtime`). A reinstall that
    rewrites the runtime's files with the same bytes and newer times keeps them (by times alone
    the wasm would travel gzipped on the fly, 0.8 MB more than its brotli form)."""
    try:
        made_from: str | None = target.with_name(target.name + ".etag").read_text().strip()
    except OSError:
        made_from = None
    found = {}
    for suffix in (".br", ".gz"):
        side = target.with_name(target.name + suffix)
        if not side.is_file():
            continue
        if made_from == etag if made_from is not None else side.stat().st_mtime >= mtime:
            found[suffix] = side.read_bytes()
    return found


class AssetCache:
    """Reads files once per (mtime, size) and keeps their gzip form; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._assets: dict[tuple[Path, Span | None], tuple[tuple[float, int], Asset]] = {}

    def get(self, path: Path, precompressed: Path | None = None, span: Span | None = None) -> Asset:
        """The file's asset; `precompressed` (a path without suffix) names its .br/.gz forms,
        made at setup (tools/build_boot.py), used when made from its bytes (precompressed_forms).
        `span` (start, end): the asset is those bytes of the file (a part, boot.PARTS)."""
        stat = path.stat()
        key = (stat.st_mtime, stat.st_size)
        with self._lock:
            cached = self._assets.get((path, span))
        if cached and cached[0] == key:
            return cached[1]
        with path.open("rb") as file:
            if span:
                file.seek(span[0])
            body = file.read(span[1] - span[0] if span else -1)
        etag = content_tag(body)
        found = {}
        if precompressed is not None:
            found = precompressed_forms(precompressed, etag, stat.st_mtime)
        asset = build_asset(body, path.suffix, found.get(".gz"), etag)
        if found:
            asset = dataclasses.replace(asset, brotli=found.get(".br"))
        with self._lock:
            self._assets[(path, span)] = (key, asset)
        return asset


def version_tag(asset: Asset) -> str:
    """The `?v=` that makes a URL of this asset immutable (see AssetDirectory)."""
    return asset.etag.strip('"')


def asset_response(request: Request, asset: Asset, cache_control: str) -> Response:
    headers = {
        "Cache-Control": cache_control,
        "ETag": asset.etag,
        "Vary": "Accept-Encoding",
        # Runtime files are public; cross-origin embedders load them as module scripts.
        "Access-Control-Allow-Origin": "*",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    body = asset.body
    accepted = _accepted_encodings(request.headers.get("accept-encoding", ""))
    if asset.brotli is not None and "br" in accepted:
        body = asset.brotli
        headers["Content-Encoding"] = "br"
    elif asset.gzipped is not None and "gzip" in accepted:
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(status_code=200, headers=headers, media_type=asset.media_type)
    return Response(body, headers=headers, media_type=asset.media_type)


def _accepted_encodings(header: str) -> set[str]:
    """Codings the client accepts (`q=0` excluded)."""
    accepted = set()
    for item in header.lower().split(","):
        name, _, params = item.strip().partition(";")
        if params.strip().replace(" ", "") in {"q=0", "q=0.0", "q=0.00", "q=0.000"}:
            continue
        if name:
            accepted.add(name.strip())
    return accepted


class AssetDirectory:
    """ASGI app serving one directory with a fixed cache policy; refuses path traversal."""

    def __init__(
        self,
        directory: Path,
        cache: AssetCache,
        cache_control: str,
        precompressed: Path | None = None,
    ) -> None:
        self.directory = directory.resolve()
        self.cache = cache
        self.cache_control = cache_control
        #: Where tools/build_boot.py put this directory's .br/.gz files (same relative paths).
        self.precompressed = precompressed

    def asset(self, path: Path) -> Asset:
        side = None
        if self.precompressed is not None:
            side = self.precompressed / path.relative_to(self.directory)
        return self.cache.get(path, side)

    def resolve(self, relative: str) -> Path | None:
        candidate = (self.directory / relative.lstrip("/")).resolve()
        if not candidate.is_relative_to(self.directory) or not candidate.is_file():
            return None
        return candidate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response: Response
        relative = scope.get("path", "")[len(scope.get("root_path", "")) :]
        if request.method not in {"GET", "HEAD"}:
            response = json_error(
                405, "method not allowed", "use GET or HEAD", {"Allow": "GET, HEAD"}
            )
        elif "\x00" in relative:
            response = json_error(400, "invalid path", "a path may not contain a NUL byte")
        else:
            path = self.resolve(relative)
            if path is None:
                response = json_error(404, "not found", f"no file {scope.get('path', '')!r}")
            else:
                asset = self.asset(path)
                policy = self.cache_control
                if request.query_params.get("v") == version_tag(asset):
                    policy = IMMUTABLE  # a versioned URL (a page names the file so): never stale
                response = asset_response(request, asset, policy)
        await response(scope, receive, send)

    def warm(self, suffixes: tuple[str, ...] = (".wasm", ".mjs", ".js")) -> None:
        """Compress the big runtime files ahead of the first visitor."""
        for path in self.directory.iterdir():
            if path.is_file() and path.suffix in suffixes:
                self.asset(path)


def json_error(
    status: int, error: str, detail: str, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


#: Folders of our packages that run only in CPython (they need `websockets`): never sent to the
#: browser, neither in the package zips nor in the boot snapshot (`boot.package_files`).
CPYTHON_ONLY = ("rtvi/transports/python_websocket/",)


def browser_source(relative: str) -> bool:
    """Whether a package file, named from the packages' folder (`rtvi/client.py`), goes to the
    browser."""
    return not relative.startswith(CPYTHON_ONLY)


def package_zip(package_dir: Path) -> bytes:
    """Zip a Python package (sources only) so PyScript can unpack it onto the page's sys.path.

    Entries are stored, not deflated: the whole zip is then compressed for the wire (brotli
    over all the sources at once is ~40 % smaller than per-file deflate). Zipping keeps the page
    to one request and avoids micropip (not in the npm runtime).
    """
    buffer = io.BytesIO()
    root = package_dir.parent
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in _package_sources(package_dir):
            info = zipfile.ZipInfo(str(path.relative_to(root)), date_time=(2020, 1, 1, 0, 0, 0))
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _package_sources(package_dir: Path) -> list[Path]:
    return [
        path
        for path in sorted(package_dir.rglob("*"))
        if path.is_file()
        and path.suffix in {".py", ".typed", ".json"}
        and "__pycache__" not in path.parts
        and browser_source(path.relative_to(package_dir.parent).as_posix())
    ]


class PackageZips:
    """Each package's zip as an asset (brotli 11 and gzip 9), rebuilt when a source changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._zips: dict[Path, tuple[tuple[tuple[str, float, int], ...], Asset]] = {}

    def get(self, package_dir: Path) -> Asset:
        stamp = tuple(
            (str(p), p.stat().st_mtime, p.stat().st_size) for p in _package_sources(package_dir)
        )
        with self._lock:
            cached = self._zips.get(package_dir)
        if cached and cached[0] == stamp:
            return cached[1]
        body = package_zip(package_dir)
        asset = dataclasses.replace(
            build_asset(body, ".zip"),
            gzipped=gzip.compress(body, compresslevel=9, mtime=0),
            brotli=brotli.compress(body, quality=11),
        )
        with self._lock:
            self._zips[package_dir] = (stamp, asset)
        return asset
