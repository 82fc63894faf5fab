"""Build the fast boot: memory snapshot, trimmed stdlib, precompressed runtime (`make setup` runs it).

Usage: `.venv/bin/python tools/build_boot.py [--out build/boot] [--force]`. Idempotent: when
`build/boot/manifest.json` already matches the current sources and Pyodide build it only checks
the precompressed files. Takes ~15-25 s on two cores from scratch (node: two Pyodide starts and
the snapshot; brotli quality 11 for the big files adds ~30 s). What it writes and how the server uses it:
`server/pyrtvi_server/boot.py`.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT))

from pyrtvi_server.boot import (  # noqa: E402
    BUILD_FILES,
    BUILD_FORMAT,
    PACKAGES,
    PARTS,
    SNAPSHOT_WORKER,
    discover_modules,
    package_hash,
    part_bounds,
    part_names,
    whole_file,
)
from pyrtvi_server.runtime import Runtime  # noqa: E402
from pyrtvi_server.static import (  # noqa: E402
    COMPRESSIBLE,
    MIN_COMPRESS_BYTES,
    content_tag,
    precompressed_forms,
)

from tools.strip_source import strip_checked  # noqa: E402

#: Stdlib modules kept whatever modulefinder says: what PyScript's JS side runs in Python, and
#: what a page commonly imports lazily (codecs by name).
STDLIB_KEEP = (
    "encodings/__init__",
    "encodings/aliases",
    "encodings/ascii",
    "encodings/latin_1",
    "encodings/utf_8",
    "encodings/utf_8_sig",
    "encodings/utf_16",
    "encodings/utf_16_le",
    "encodings/utf_16_be",
    "encodings/utf_32",
    "encodings/idna",
    "encodings/punycode",
    "encodings/unicode_escape",
    "encodings/raw_unicode_escape",
    "encodings/charmap",
    "encodings/cp1252",
    "encodings/cp437",
    "encodings/base64_codec",
    "encodings/hex_codec",
    "_pyodide",
    "pyodide",
    "_sysconfigdata__emscripten_wasm32-emscripten",
    "sitecustomize",
    "site",
)
#: Never followed: developer tools, process pools, servers and mail protocols, which the static
#: import graph reaches (e.g. asyncio → concurrent.futures → multiprocessing) but a browser page
#: does not run. An embedding page that needs one asks for the full stdlib (see docs/embedding.md).
STDLIB_EXCLUDE = (
    "unittest",
    "doctest",
    "pdb",
    "bdb",
    "pydoc",
    "pydoc_data",
    "multiprocessing",
    "xmlrpc",
    "_pyrepl",
    "idlelib",
    "tkinter",
    "turtle",
    "turtledemo",
    "lib2to3",
    "ensurepip",
    "venv",
    "test",
    "curses",
    "dbm",
    "mailbox",
    "smtplib",
    "imaplib",
    "poplib",
    "ftplib",
    "nntplib",
    "pickletools",
    "profile",
    "cProfile",
    "pstats",
    "trace",
    "tabnanny",
    "wsgiref",
    "http.server",
    "socketserver",
    "concurrent.futures.process",
    "concurrent.interpreters",
    "sqlite3",
    "webbrowser",
    "cmd",
    "pyclbr",
    "timeit",
    "zipapp",
    "compileall",
    "py_compile",
)
#: Stdlib modules imported in the snapshot besides what our modules import: what PyScript's own
#: start imports (its `pyscript` package, and zipfile's codec when it unpacks an archive).
SNAPSHOT_STDLIB = ("html", "html.entities", "encodings.cp437")
#: What the shipped snapshot imports of ours (with everything these import): what the console
#: needs to draw and take input, and what an embedding page starts with. Our other modules (the
#: console's panels built after ready, transports and helpers a page may import) come from
#: the package zips, which the page fetches once it is idle, or at once when one of them is
#: imported before (interpreter.mjs).
SNAPSHOT_ENTRIES = (
    "rtvi",
    "rtvi.embedding",
    "rtvi.http.fetch",  # (the client's HTTP in the browser: imported when it is constructed)
    "rtvi.transports.small_webrtc",
    "rtvi.transports.websocket.transport",  # (the console's other transport, a remembered setting)
    "pyrtvi_page.console",
    "pyrtvi_page.start",  # (draws nothing until its start() is called)
)
#: Imported by PyScript/Pyodide at boot but not found statically (by name or from JS).
ENTRY_MODULES = ("pyodide", "_pyodide", "pyodide.ffi", "pyodide.code", "pyodide.webloop", "shutil")
#: Brotli: the best quality with a 16 MB window for the big files (wasm, snapshot: -10 % against
#: quality 9, ~25 s each, on the two cores at once), quality 9 for the rest.
BROTLI_BIG = 1 << 20


def compress(source: Path, target: Path) -> None:
    """`target`.gz (level 9) and `target`.br (node's brotli) when smaller than the source, then
    `target`.etag: the source's ETag, what the server checks before it serves them."""
    body = source.read_bytes()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.with_name(target.name + ".etag").unlink(missing_ok=True)
    gz = gzip.compress(body, compresslevel=9, mtime=0)
    if len(gz) < len(body):
        _write(target.with_name(target.name + ".gz"), gz)
    quality, window = (11, 24) if len(body) >= BROTLI_BIG else (9, 22)
    script = (
        "const z=require('zlib'),fs=require('fs'),k=z.constants;const b=fs.readFileSync(process.argv[1]);"
        f"const c=z.brotliCompressSync(b,{{params:{{[k.BROTLI_PARAM_QUALITY]:{quality},"
        f"[k.BROTLI_PARAM_LGWIN]:{window},[k.BROTLI_PARAM_SIZE_HINT]:b.length}}}});"
        "if(c.length<b.length)fs.writeFileSync(process.argv[2],c);"
    )
    br = target.with_name(target.name + ".br")
    subprocess.run(["node", "-e", script, str(source), str(br) + ".tmp"], check=True)
    if Path(str(br) + ".tmp").exists():
        os.replace(str(br) + ".tmp", br)
    _write(target.with_name(target.name + ".etag"), content_tag(body).encode())


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def fresh(source: Path, target: Path) -> bool:
    """Whether the compressed forms of `source` are of its current bytes (see
    static.precompressed_forms): a reinstalled runtime with the same bytes is not redone. Forms
    of an older build (no `.etag`) that are at least as new as the source are adopted: their
    `.etag` is written."""
    tag = content_tag(source.read_bytes())
    if not precompressed_forms(target, tag, source.stat().st_mtime):
        return False
    made_from = target.with_name(target.name + ".etag")
    if not made_from.exists():
        _write(made_from, tag.encode())
    return True


def write_parts(whole: Path, directory: Path, name: str) -> list[Path]:
    """`whole` cut in its PARTS (`directory`/part<i>/`name`), each rewritten only if it changed."""
    data = whole.read_bytes()
    paths = []
    for relative, (start, end) in zip(
        part_names(name), part_bounds(len(data), PARTS[name]), strict=True
    ):
        path = directory / relative
        if not path.is_file() or path.read_bytes() != data[start:end]:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write(path, data[start:end])
        paths.append(path)
    return paths


def adopt_forms(part: Path, out: Path, key: str) -> None:
    """Copies the compressed forms of the same part from an earlier build's directory when they
    are of the same bytes (the wasm's parts change only with the runtime, not with the key):
    quality 11 over the 9.6 MB wasm takes ~40 s of CPU."""
    if fresh(part, part):
        return
    relative = part.relative_to(out / key)
    for other in out.iterdir():
        earlier = other / relative
        if other.name in {key, "precompressed"} or not earlier.is_file():
            continue
        if earlier.read_bytes() == part.read_bytes() and fresh(earlier, earlier):
            for suffix in (".br", ".gz", ".etag"):
                side = earlier.with_name(earlier.name + suffix)
                if side.is_file():
                    shutil.copyfile(side, part.with_name(part.name + suffix))
            return


def runtime_files(runtime: Runtime, out: Path) -> list[tuple[Path, Path]]:
    """(source, precompressed target) for every compressible runtime file PyScript/Pyodide load."""
    pairs = []
    for directory, mount in (
        (runtime.pyodide_dir, f"pyodide/{runtime.pyodide_version}"),
        (runtime.pyscript_dir, f"pyscript/{runtime.pyscript_version}"),
    ):
        for path in sorted(directory.iterdir()):
            if (
                path.is_file()
                and path.suffix in COMPRESSIBLE
                and path.suffix != ".map"
                and path.stat().st_size >= MIN_COMPRESS_BYTES
            ):
                pairs.append((path, out / "precompressed" / mount / path.name))
    return pairs


def build_key(package: str) -> str:
    """The build's URL key: the package hash and this tooling (a changed build is a new URL)."""
    digest = hashlib.blake2b(package.encode(), digest_size=10)
    for tool in (
        Path(__file__),
        ROOT / "tools" / "boot_snapshot.mjs",
        ROOT / "tools" / "strip_source.py",
    ):
        digest.update(tool.read_bytes())
    return digest.hexdigest()


def build(
    out: Path, force: bool, bare: bool = False, modules: list[str] | None = None
) -> dict[str, object]:
    web = ROOT / "web"
    runtime = Runtime.locate(ROOT / "node_modules")
    package = package_hash(web, runtime)
    key = build_key(package)
    manifest_path = out / "manifest.json"
    current: dict[str, object] = {}
    if manifest_path.exists() and not force:
        current = json.loads(manifest_path.read_text())
    jobs = runtime_files(runtime, out)
    if current.get("key") != key or current.get("format") != BUILD_FORMAT:
        current = make_snapshot(out, runtime, key, package, bare, modules)
    jobs += [(out / key / n, out / key / n) for n in BUILD_FILES]
    if current.get("snapshot"):
        parts = [
            part
            for name in PARTS
            for part in write_parts(whole_file(name, out / key, runtime), out / key, name)
        ]
        jobs += [(part, part) for part in parts]
        for stale in (out / key).glob("part*/*"):  # of another PARTS
            if stale not in parts and stale.with_name(stale.stem) not in parts:
                stale.unlink()
        if not force:
            for part in parts:
                adopt_forms(part, out, key)
    todo = [(s, t) for s, t in jobs if s.exists() and (force or not fresh(s, t))]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda pair: compress(*pair), todo))
    for stale in out.iterdir():
        if stale.is_dir() and stale.name not in {key, "precompressed"}:
            shutil.rmtree(stale)
    return current


#: The shipped snapshot's code objects keep their line numbers but not their column ranges
#: (boot_snapshot.mjs: LINE_NUMBERS_ONLY): ~9 % fewer brotli bytes to download.
LINE_NUMBERS_ONLY = True

#: The shipped snapshot imports our packages without docstrings and comments (every line where
#: it was, as the stdlib travels): their code objects carry no docstrings. The page's copies of
#: the sources (for tracebacks: the same line numbers) and the local snapshot keep them.
STRIP_PACKAGES = True


def snapshot_packages(web: Path, tmp: Path) -> dict[str, str]:
    """Our packages' directories as the snapshot imports them: stripped copies in `tmp`."""
    if not STRIP_PACKAGES:
        return {name: str(web / relative) for relative, name in PACKAGES}
    copies = {}
    for relative, name in PACKAGES:
        root = web / relative
        for path in root.rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            copy = tmp / "packages" / name / path.relative_to(root)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(strip_checked(path.read_text()))
        copies[name] = str(tmp / "packages" / name)
    return copies


def make_snapshot(
    out: Path,
    runtime: Runtime,
    key: str,
    package: str,
    bare: bool = False,
    only: list[str] | None = None,
) -> dict[str, object]:
    web = ROOT / "web"
    target = out / key
    target.mkdir(parents=True, exist_ok=True)
    discovered = [] if bare else discover_modules(web)
    modules = [] if bare else list(SNAPSHOT_ENTRIES) if only is None else only
    with tempfile.TemporaryDirectory() as tmp:
        job = {
            "pyodide_dir": str(runtime.pyodide_dir),
            "stdlib_full": str(runtime.pyodide_dir / "python_stdlib.zip"),
            "packages": snapshot_packages(web, Path(tmp)),
            "extra_packages": {
                "pyscript": str(runtime.pyscript_dir.parent / "src" / "stdlib" / "pyscript"),
            },
            "scripts": [str(web / "app" / "main.py")],
            "entry_modules": list(ENTRY_MODULES),
            "stdlib_keep": list(STDLIB_KEEP),
            "stdlib_exclude": list(STDLIB_EXCLUDE),
            "strip_source": str(ROOT / "tools" / "strip_source.py"),
            "snapshot_worker": str(SNAPSHOT_WORKER),
            "strip_skip": ["_pyodide/", "pyodide/"],
            "modules": modules,
            "line_numbers_only": LINE_NUMBERS_ONLY,
            # The trimmed stdlib serves every module of ours, in the snapshot or not.
            "finder_modules": discovered if only is None else modules,
            "stdlib_out": str(target / "python_stdlib.zip"),
            "stdlib_rest_out": str(target / "python_stdlib_rest.zip"),
            "stdlib_imports": [] if bare else list(SNAPSHOT_STDLIB),
            "pyscript_artifact": str(
                runtime.pyscript_dir.parent / "src" / "stdlib" / "pyscript.js"
            ),
            "pyscript_pyc_out": str(target / "pyscript_pyc.zip"),
            "snapshot_out": str(target / "snapshot.bin"),
            "report_out": str(Path(tmp) / "report.json"),
        }
        (Path(tmp) / "job.json").write_text(json.dumps(job))
        subprocess.run(
            ["node", str(ROOT / "tools" / "boot_snapshot.mjs"), str(Path(tmp) / "job.json")],
            check=True,
        )
        report = json.loads((Path(tmp) / "report.json").read_text())
    manifest = {
        "format": BUILD_FORMAT,
        "key": key,
        "package_hash": package,
        "pyodide": runtime.pyodide_version,
        "snapshot": report["snapshot_error"] is None,
        "snapshot_error": report["snapshot_error"],
        "snapshot_size": report.get("snapshot_size"),
        "snapshot_delta": report.get("snapshot_delta"),
        "zeroed": report.get("zeroed"),
        "discovered": discovered,
        # Every module of ours in the snapshot (the entries and what they import), and those the
        # page imports from the package zips.
        "imported": report["in_memory"],
        "later": sorted(set(discovered) - set(report["in_memory"]) - set(report["skipped"])),
        "skipped": report["skipped"],
        "stdlib": report["stdlib"],
        "stdlib_unstripped": report["stdlib_unstripped"],
        "stdlib_in_snapshot": report["stdlib_loaded"],
        "stdlib_imports": [] if bare else list(SNAPSHOT_STDLIB),
    }
    _write(out / "manifest.json", json.dumps(manifest, indent=1).encode())
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "boot")
    parser.add_argument("--force", action="store_true", help="rebuild everything")
    parser.add_argument(
        "--bare",
        action="store_true",
        help="the floor: a snapshot of Pyodide alone, nothing of ours imported (use another --out)",
    )
    parser.add_argument(
        "--modules",
        help="measure: a snapshot importing only these modules (comma-separated; use another --out)",
    )
    args = parser.parse_args(argv)
    only = args.modules.split(",") if args.modules is not None else None
    t0 = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    measuring = args.bare or only is not None
    if measuring and args.out.resolve() == (ROOT / "build" / "boot").resolve():
        parser.error("--bare and --modules need their own --out (the server serves build/boot)")
    manifest = build(args.out, args.force or measuring, args.bare, only)
    skipped: dict[str, str] = dict(manifest.get("skipped") or {})  # type: ignore[call-overload]
    imported: list[str] = list(manifest.get("imported") or [])  # type: ignore[call-overload]
    stdlib: list[str] = list(manifest.get("stdlib") or [])  # type: ignore[call-overload]
    print(
        f"boot build {manifest['key']}: {len(imported)} modules in the snapshot, "
        f"{len(skipped)} left out, {len(stdlib)} stdlib files ({time.monotonic() - t0:.1f} s)"
    )
    for name, why in skipped.items():
        print(f"  left out of the snapshot: {name}: {why}")
    if manifest.get("snapshot_error"):
        print(f"  no snapshot: {manifest['snapshot_error']}")


if __name__ == "__main__":
    main()
