"""The fast boot: what `tools/build_boot.py` builds and how the server chooses what to serve.

The build (run by `make setup`) writes under `build/boot/`:

- `<key>/snapshot.bin`: the shipped mode's Pyodide memory snapshot, with the modules of the
  client package and the page package that the console needs to draw and take input (and an
  embedding page to start) already imported (tools/build_boot.py's SNAPSHOT_ENTRIES; the others
  come from the package zips after ready, `later`), made in node with the runtime served here
  (the default mode; the local mode makes one in the visitor's browser instead, with every
  module, with snapshot_worker.mjs, after a plain first visit; see interpreter.mjs).
  Packed (runs of zeros left out; `snapshot_size` is the unpacked length), and its first
  `snapshot_delta` bytes of memory are stored XORed with the memory the wasm binary gives at
  instantiation (its data segments): the page restores them from that memory, so the static
  data does not travel twice (wasm and snapshot). Free heap memory is zeroed before;
- `<key>/python_stdlib.zip`: the stdlib trimmed to what those modules, PyScript and Pyodide import,
  without docstrings and comments (tools/strip_source.py; every line where it was), stored
  uncompressed inside, so that brotli over the whole file compresses better;
- `<key>/python_stdlib_rest.zip`: the same without the files the snapshot has already imported
  (the snapshot boot's stdlib: those modules are in memory; a traceback through one of them
  shows no source line). Not on the boot's path: the page fetches it once it has started and is
  idle, or at once (a synchronous request) when one of its modules is imported before;
- `<key>/part<i>/snapshot.bin`, `<key>/part<i>/pyodide.asm.wasm`: the shipped snapshot and the
  wasm cut in PARTS byte ranges, each compressed on its own: a first visit requests them all at
  once (the wasm's joined in order for its streaming compile, the snapshot's unpacked each as
  it arrives: interpreter.mjs), since one request of a 2.8 MB brotli body got about half the
  link here (see PARTS). The server serves each part from the whole file; the
  build keeps the parts' bytes only to compress them (the wheel carries their forms alone);
- `<key>/pyscript_pyc.zip`: PyScript's own `pyscript` package compiled to checked-hash `.pyc`
  files, unpacked by the interpreter module so that PyScript's start does not compile it;
- `precompressed/<mount>/<file>.br|.gz`: the runtime files compressed once, at the best level;
- `manifest.json`, written last: the key, the package hash it was built for, what was imported
  and what was left out (and why).

`<key>` is derived from the Pyodide build and the package hash, so every file under it is served
immutable. The server compares the manifest's package hash with the sources it serves now: a
stale or missing build means a plain boot (full stdlib, no snapshot), never a wrong one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from pyrtvi_server.runtime import Runtime
from pyrtvi_server.static import browser_source

BUILD_FORMAT = 5
#: Boot modes: where the snapshot comes from (interpreter.mjs): made in the visitor's browser
#: after a plain first visit, or shipped from the build; `trimmed`: no snapshot, trimmed stdlib;
#: `plain`: Pyodide as it comes (no build used).
BOOT_MODES = ("local", "shipped", "trimmed", "plain")
#: Cache Storage name of the local snapshot (one entry: the current build's).
LOCAL_CACHE = "pyrtvi-boot"
#: Cache Storage name of the shipped mode's kept copies (the snapshot and the wasm, decoded,
#: stored after a first visit for the later ones; entries named under the build's URL).
KEPT_CACHE = "pyrtvi-boot-kept"
#: The cookie a page sets once its kept copies are stored (the build's key), and clears when it
#: finds one missing or wrong: the console's HTML then leaves out their preloads (pages.py).
KEPT_COOKIE = "pyrtvi-kept"
#: The kept copies' Cache Storage entries, relative to the build's URL.
KEPT_ENTRIES = {"snapshot": "kept/snapshot.bin", "wasm": "kept/pyodide.asm.wasm"}
#: The big files of a shipped boot, each cut in this many byte ranges of equal length (to a byte),
#: `<key>/part<i>/<name>`, that a first visit requests at once. Chromium here gave one request
#: of the 2.8 MB wasm brotli body ~26 Mbit/s of the `cable` link's 50 (its reads are decoded and
#: handed on one after another, and the link idles meanwhile): the wasm and the snapshot as two
#: requests took 1.28 s on that link, as 2 + 2 1.07 s, as 3 + 3 1.02 s. The wasm gets more of
#: them: it arrives ~0.25 s before the snapshot's last byte and is instantiated and linked
#: meanwhile (4 + 2: ready ~36 ms sooner than 3 + 2; see docs/benchmarks.md). Six in all: HTTP/1.1
#: gives a host six connections, and what the boot needs besides is requested before them.
PARTS = {"pyodide.asm.wasm": 4, "snapshot.bin": 2}
#: The files of a build, served under `/runtime/boot/<key>/` (immutable).
BUILD_FILES = ("snapshot.bin", "python_stdlib.zip", "python_stdlib_rest.zip", "pyscript_pyc.zip")
#: The packages whose modules the snapshot imports: (package dir under web/, import name).
PACKAGES = (("rtvi", "rtvi"), ("app/pyrtvi_page", "pyrtvi_page"))
INTERPRETER_TEMPLATE = Path(__file__).with_name("interpreter.mjs")
#: Makes a snapshot: imported by the build (node) and run as the page's Worker (local snapshot).
SNAPSHOT_WORKER = Path(__file__).with_name("snapshot_worker.mjs")
BUILD_ID = re.compile(rb'BUILD_ID:"([0-9a-f]{16,})"')


def package_files(web_dir: Path) -> list[tuple[str, Path]]:
    """Every source file of the packages PyScript unpacks onto sys.path, as (relative name, path);
    not the CPython-only ones (`static.CPYTHON_ONLY`)."""
    found = []
    for relative, name in PACKAGES:
        root = web_dir / relative
        for path in sorted(root.rglob("*.py")):
            named = f"{name}/{path.relative_to(root).as_posix()}"
            if "__pycache__" not in path.parts and browser_source(named):
                found.append((named, path))
    return found


def discover_modules(web_dir: Path) -> list[str]:
    """Dotted names of every module of the packages, found on disk (not a fixed list)."""
    modules = []
    for relative, _ in package_files(web_dir):
        parts = relative.removesuffix(".py").split("/")
        if parts[-1] == "__init__":
            parts.pop()
        modules.append(".".join(parts))
    return modules


def pyodide_build_id(runtime: Runtime) -> str:
    """Pyodide's BUILD_ID (a snapshot only loads into the build that made it)."""
    match = BUILD_ID.search((runtime.pyodide_dir / "pyodide.mjs").read_bytes())
    return match.group(1).decode() if match else runtime.pyodide_version


def part_bounds(size: int, count: int) -> list[tuple[int, int]]:
    """The byte ranges `[start, end)` of a file of `size` bytes cut in `count` parts (PARTS)."""
    return [(size * i // count, size * (i + 1) // count) for i in range(count)]


def part_names(name: str) -> list[str]:
    """The parts of one of PARTS' files, relative to the build's directory (and URL)."""
    return [f"part{i}/{name}" for i in range(PARTS[name])]


def whole_file(name: str, directory: Path, runtime: Runtime) -> Path:
    """The file of PARTS named `name`: the wasm (the runtime's) or the build's snapshot."""
    return runtime.pyodide_dir / name if name == "pyodide.asm.wasm" else directory / name


def part_spans(name: str, directory: Path, runtime: Runtime) -> list[tuple[int, int]]:
    """The byte ranges of the parts of one of PARTS' files (the build's in `directory`)."""
    return part_bounds(whole_file(name, directory, runtime).stat().st_size, PARTS[name])


def has_parts(directory: Path, name: str) -> bool:
    """Whether the build cut `name` in parts: the server serves each from the whole file (a
    slice, boot.part_bounds) with the compressed forms the build made of it (checked by their
    `.etag` when served: the wheel carries the forms, not the parts' bytes)."""
    return all((directory / f"{part}.etag").is_file() for part in part_names(name))


def package_hash(web_dir: Path, runtime: Runtime) -> str:
    """Hash of what a snapshot depends on: the sources, the Pyodide build, the interpreter module."""
    digest = hashlib.blake2b(digest_size=10)
    digest.update(f"{BUILD_FORMAT}\0{pyodide_build_id(runtime)}\0".encode())
    digest.update(INTERPRETER_TEMPLATE.read_bytes() + SNAPSHOT_WORKER.read_bytes())
    for relative, path in package_files(web_dir):
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def packed_size(path: Path) -> int | None:
    """The unpacked length a snapshot pack announces (see tools/boot_snapshot.mjs), or None."""
    try:
        with path.open("rb") as file:
            head = file.read(16)
    except OSError:
        return None
    if len(head) < 16 or head[:4] != b"PYRS" or int.from_bytes(head[4:8], "little") != 1:
        return None
    return int.from_bytes(head[8:12], "little")


@dataclass(frozen=True)
class BootBuild:
    """A build found on disk, checked against the sources currently served."""

    key: str
    directory: Path
    snapshot: bool
    stdlib: bool
    #: Length of snapshot.bin, and how much of its memory is stored XORed (see the module doc).
    snapshot_size: int = 0
    snapshot_delta: int = 0
    #: The trimmed stdlib without what the snapshot imported (the snapshot boot's stdlib).
    stdlib_rest: bool = False
    #: PyScript's own package, compiled.
    pyscript_pyc: bool = False
    imported: tuple[str, ...] = ()
    #: Modules of ours not in the shipped snapshot: imported from the package zips.
    later: tuple[str, ...] = ()
    skipped: dict[str, str] = field(default_factory=dict)
    #: Stdlib modules the snapshot imports besides ours (what PyScript's start imports).
    stdlib_imports: tuple[str, ...] = ()
    #: The modules of python_stdlib_rest.zip (dotted names): a snapshot boot fetches that zip
    #: once the page is idle, or at once when one of them is imported before (interpreter.mjs).
    stdlib_rest_modules: tuple[str, ...] = ()
    #: The snapshot and the wasm are also there in parts (PARTS).
    parts: bool = False

    @classmethod
    def load(cls, build_dir: Path, web_dir: Path, runtime: Runtime) -> BootBuild | None:
        """The build in `build_dir` if it matches the current sources, else None (plain boot)."""
        try:
            manifest = json.loads((build_dir / "manifest.json").read_text())
        except (OSError, ValueError):
            return None
        if manifest.get("format") != BUILD_FORMAT:
            return None
        if manifest.get("package_hash") != package_hash(web_dir, runtime):
            return None
        key = str(manifest["key"])
        directory = build_dir / key
        snapshot = directory / "snapshot.bin"
        size = manifest.get("snapshot_size")
        delta = manifest.get("snapshot_delta")
        usable = (
            bool(manifest.get("snapshot"))
            and isinstance(size, int)
            and isinstance(delta, int)
            and packed_size(snapshot) == size
        )
        return cls(
            key=key,
            directory=directory,
            snapshot=usable,
            snapshot_size=int(size) if usable else 0,
            snapshot_delta=int(delta) if usable else 0,
            stdlib=(directory / "python_stdlib.zip").is_file(),
            stdlib_rest=usable and (directory / "python_stdlib_rest.zip").is_file(),
            pyscript_pyc=(directory / "pyscript_pyc.zip").is_file(),
            imported=tuple(manifest.get("imported", ())),
            later=tuple(manifest.get("later", ())),
            skipped=dict(manifest.get("skipped", {})),
            stdlib_imports=tuple(manifest.get("stdlib_imports", ())),
            stdlib_rest_modules=module_names(
                set(manifest.get("stdlib", ())) - set(manifest.get("stdlib_in_snapshot", ()))
            ),
            parts=usable and all(has_parts(directory, name) for name in PARTS),
        )


def module_names(files: set[str]) -> tuple[str, ...]:
    """Dotted module names of a zip's `.py` files (`json/__init__.py` is `json`)."""
    names = set()
    for name in files:
        if name.endswith(".py"):
            names.add(name.removesuffix(".py").removesuffix("/__init__").replace("/", "."))
    return tuple(sorted(names))


def interpreter_module(
    runtime: Runtime,
    build: BootBuild | None,
    *,
    mode: str = "local",
    packages: list[str] | tuple[str, ...] = ("rtvi",),
) -> str:
    """Our interpreter module for PyScript's `interpreter` config: wraps Pyodide's loadPyodide
    and unpacks our `packages` (served as `/py/<name>.zip`) onto sys.path. `mode`: one of
    BOOT_MODES (without a build every mode is plain).

    Served under `/runtime/boot/<key>/`, so the paths in it are relative to that directory.
    """
    pyodide = f"../../pyodide/{runtime.pyodide_version}/"
    shipped = bool(build and build.snapshot and mode == "shipped")
    local = None
    if build and build.snapshot and build.stdlib and mode == "local":
        local = {
            "cache": LOCAL_CACHE,
            # The Cache Storage entry's URL (never fetched): one per build and package set, so
            # that the console and an embedding page of one origin each keep their own.
            "snapshot": f"local-snapshot.{'+'.join(packages)}.bin",
            "worker": SNAPSHOT_WORKER.name,
            "modules": [m for m in build.imported if m.partition(".")[0] in packages],
            "stdlibImports": list(build.stdlib_imports),
        }
    config = {
        "index": pyodide,
        "snapshot": "snapshot.bin" if shipped else None,
        "snapshotSize": build.snapshot_size if build and shipped else 0,
        "snapshotDelta": build.snapshot_delta if build and shipped else 0,
        # The snapshot and the wasm as their parts (PARTS), requested at once: the wasm's joined
        # in order, the snapshot's unpacked each as it comes (its byte range in the pack).
        "parts": parts_config(runtime, build) if build and shipped and build.parts else None,
        "stdlib": "python_stdlib.zip" if build and build.stdlib and mode != "plain" else None,
        "stdlibSnapshot": "python_stdlib_rest.zip"
        if build and shipped and build.stdlib_rest
        else None,
        # Its modules: it is fetched after the page's start, or when one of them is imported.
        "stdlibRest": list(build.stdlib_rest_modules) if build and shipped else [],
        "local": local,
        "packages": [f"../../../py/{name}.zip" for name in packages],
        "pyscriptBytecode": "pyscript_pyc.zip" if build and build.pyscript_pyc else None,
        # Every module of our packages imported at the build (in the snapshot, or `packagesLater`:
        # from the zips, unpacked when the page is idle or when one is imported before).
        "packagesInSnapshot": bool(build and shipped and not build.skipped),
        "packagesLater": [m for m in build.later if m.partition(".")[0] in packages]
        if build and (shipped or local)
        else [],
        "kept": kept_copies(runtime, build) if build and shipped else None,
        # Pyodide's package index, handed to loadPyodide instead of a request of its own.
        "lockFile": lock_file(runtime),
    }
    return (
        INTERPRETER_TEMPLATE.read_text()
        .replace("__PYODIDE_MJS__", json.dumps(pyodide + "pyodide.mjs"))
        .replace("__BOOT_CONFIG__", json.dumps(config))
    )


def parts_config(runtime: Runtime, build: BootBuild) -> dict[str, list[dict[str, object]]]:
    """Each of PARTS' files: its parts' URLs (relative to the interpreter module) and ranges."""
    return {
        name: [
            {"url": url, "start": start, "end": end}
            for url, (start, end) in zip(
                part_names(name), part_spans(name, build.directory, runtime), strict=True
            )
        ]
        for name in PARTS
    }


def kept_copies(runtime: Runtime, build: BootBuild) -> dict[str, object]:
    """The shipped mode's kept copies (interpreter.mjs): what a first visit stores in Cache
    Storage once it is idle, decoded, for the later visits to read instead of the HTTP cache
    (which keeps the brotli bytes and decodes them at every read). Each names the file it copies
    (relative to the interpreter module), its Cache Storage entry (under the build's URL: a new
    build never reads an older build's copy), and the length and SHA-256 that a copy must have
    to be used (else the page reads the file as on a first visit)."""

    def item(source: str, path: Path, entry: str, media_type: str) -> dict[str, object]:
        size, sha256 = file_digest(path)
        return {
            "source": source,
            # What a first visit fetched instead (PARTS): read back from the HTTP cache, joined.
            "parts": part_names(path.name) if build.parts else None,
            "entry": entry,
            "bytes": size,
            "sha256": sha256,
            "type": media_type,
        }

    pyodide = f"../../pyodide/{runtime.pyodide_version}/"
    return {
        "cache": KEPT_CACHE,
        "cookie": KEPT_COOKIE,
        "key": build.key,
        "snapshot": item(
            "snapshot.bin",
            build.directory / "snapshot.bin",
            KEPT_ENTRIES["snapshot"],
            "application/octet-stream",
        ),
        "wasm": item(
            pyodide + "pyodide.asm.wasm",
            runtime.pyodide_dir / "pyodide.asm.wasm",
            KEPT_ENTRIES["wasm"],
            "application/wasm",
        ),
    }


def file_digest(path: Path) -> tuple[int, str]:
    """`path`'s length and SHA-256 (hex), computed once per version of the file."""
    stat = path.stat()
    return _digest(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _digest(path: Path, mtime_ns: int, size: int) -> tuple[int, str]:
    data = path.read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


def lock_file(runtime: Runtime) -> str | None:
    """Pyodide's package index for loadPyodide, without its packages: the npm runtime served
    here carries none of their wheels (a `loadPackage` would only fetch a missing file), so the
    page needs neither the 114 kB `pyodide-lock.json` nor its request. None without one (Pyodide
    then fetches whatever it finds)."""
    path = runtime.pyodide_dir / "pyodide-lock.json"
    try:
        info = json.loads(path.read_text())["info"]
    except (OSError, ValueError, KeyError):
        return None
    return json.dumps({"info": info, "packages": {}})


def plain_key(runtime: Runtime) -> str:
    """The key of the plain boot (no build): Pyodide build and interpreter module."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(pyodide_build_id(runtime).encode() + INTERPRETER_TEMPLATE.read_bytes())
    digest.update(SNAPSHOT_WORKER.read_bytes())
    return "plain-" + digest.hexdigest()
