"""The fast boot's build: modules found on disk, a key that changes with any source, the pack."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import zipfile
from pathlib import Path

from pyrtvi_server.boot import (
    PARTS,
    BootBuild,
    discover_modules,
    package_hash,
    part_bounds,
    part_names,
)
from pyrtvi_server.runtime import Runtime
from pyrtvi_server.static import AssetCache, package_zip

from tests.conftest import ROOT
from tools import build_boot

RUNTIME = Runtime.locate(ROOT / "node_modules")


def copy_web(tmp_path: Path) -> Path:
    web = tmp_path / "web"
    shutil.copytree(ROOT / "web", web, ignore=shutil.ignore_patterns("__pycache__"))
    return web


def test_modules_are_discovered_not_listed(tmp_path: Path) -> None:
    web = copy_web(tmp_path)
    modules = discover_modules(web)
    assert {"rtvi", "rtvi.client", "pyrtvi_page", "pyrtvi_page.console"} <= set(modules)
    (web / "rtvi" / "transports" / "brand_new.py").write_text("X = 1\n")
    (web / "app" / "pyrtvi_page" / "panel").mkdir()
    (web / "app" / "pyrtvi_page" / "panel" / "__init__.py").write_text("")
    found = set(discover_modules(web))
    assert {"rtvi.transports.brand_new", "pyrtvi_page.panel"} <= found


def test_hash_changes_with_any_package_source(tmp_path: Path) -> None:
    web = copy_web(tmp_path)
    before = package_hash(web, RUNTIME)
    assert package_hash(web, RUNTIME) == before
    (web / "app" / "main.py").write_text("# main.py is not in the snapshot\n")
    assert package_hash(web, RUNTIME) == before
    path = web / "app" / "pyrtvi_page" / "model.py"
    path.write_text(path.read_text() + "\n# changed\n")
    assert package_hash(web, RUNTIME) != before


def test_the_cpython_transport_is_not_sent_to_the_browser(tmp_path: Path) -> None:
    """`rtvi.transports.python_websocket` (CPython, `websockets`) is in no module list, hash,
    snapshot or package zip of the browser's."""
    web = copy_web(tmp_path)
    modules = discover_modules(web)
    assert "rtvi.transports.websocket" in modules
    assert not [m for m in modules if "python_websocket" in m], modules
    zipped = zipfile.ZipFile(io.BytesIO(package_zip(web / "rtvi"))).namelist()
    assert "rtvi/transports/websocket/protobuf.py" in zipped
    assert not [name for name in zipped if "python_websocket" in name], zipped
    before = package_hash(web, RUNTIME)
    (web / "rtvi" / "transports" / "python_websocket" / "audio.py").write_text("# changed\n")
    assert package_hash(web, RUNTIME) == before
    manifest = ROOT / "build" / "boot" / "manifest.json"
    built = json.loads(manifest.read_text()) if manifest.exists() else {}
    if built.get("package_hash") == package_hash(ROOT / "web", RUNTIME):  # a current build
        assert not [m for m in built["imported"] if "python_websocket" in m]


def unpack(pack: bytes) -> bytes:
    """The snapshot a pack holds (the format of tools/boot_snapshot.mjs, checked as the page does)."""
    magic, version, size, count = struct.unpack_from("<4sIII", pack)
    assert (magic, version) == (b"PYRS", 1)
    out = bytearray(size)
    at, end = 16 + 8 * count, 0
    for i in range(count):
        offset, length = struct.unpack_from("<II", pack, 16 + 8 * i)
        assert offset >= end and length > 0  # in order, not overlapping
        out[offset : offset + length] = pack[at : at + length]
        at, end = at + length, offset + length
    assert at == len(pack) and end <= size
    return bytes(out)


def test_the_setup_build_packs_a_pyodide_snapshot() -> None:
    """`make setup`'s build: the pack unpacks to the announced length and Pyodide's own header."""
    build = BootBuild.load(ROOT / "build" / "boot", ROOT / "web", RUNTIME)
    assert build is not None and build.snapshot, "run `make setup` first"
    pack = (build.directory / "snapshot.bin").read_bytes()
    snapshot = unpack(pack)
    assert len(snapshot) == build.snapshot_size
    assert snapshot[:4] == b"\0snp"  # Pyodide's snapshot magic number
    header = struct.unpack_from("<I", snapshot, 4)[0]
    assert b'"hiwireKeys"' in snapshot[16:header]
    # Only the static region is XORed: it ends where the heap begins, well inside the memory.
    assert 0 < build.snapshot_delta < len(snapshot) - header
    assert len(pack) < len(snapshot) / 2


def test_a_pack_that_disagrees_with_its_manifest_is_not_used(tmp_path: Path) -> None:
    source = ROOT / "build" / "boot"
    boot = tmp_path / "boot"
    shutil.copytree(source, boot, ignore=shutil.ignore_patterns("precompressed", "*.br", "*.gz"))
    build = BootBuild.load(boot, ROOT / "web", RUNTIME)
    assert build is not None and build.snapshot
    manifest = json.loads((boot / "manifest.json").read_text())
    manifest["snapshot_size"] += 16
    (boot / "manifest.json").write_text(json.dumps(manifest))
    build = BootBuild.load(boot, ROOT / "web", RUNTIME)
    assert build is not None and not build.snapshot and build.snapshot_size == 0
    (build.directory / "snapshot.bin").write_bytes(b"\0snp" + bytes(60))  # Pyodide's, unpacked
    manifest["snapshot_size"] = 64
    (boot / "manifest.json").write_text(json.dumps(manifest))
    build = BootBuild.load(boot, ROOT / "web", RUNTIME)
    assert build is not None and not build.snapshot


def test_precompressed_forms_follow_the_bytes_not_the_file_times(tmp_path: Path) -> None:
    """The build's .br/.gz of a runtime file are served while the file has the bytes they were
    made from (its `.etag`), also after a reinstall rewrote it with newer times (by times alone
    the server gzipped the wasm on the fly: 0.84 MB more on a first visit), and not after the
    bytes changed; a form of an older build (no `.etag`) is used when at least as new."""
    source = tmp_path / "pyodide.asm.mjs"
    source.write_text("export default 1;\n" * 200)
    target = tmp_path / "pre" / "pyodide.asm.mjs"
    build_boot.compress(source, target)
    assert build_boot.fresh(source, target)
    br = target.with_name(target.name + ".br")
    assert br.is_file() and target.with_name(target.name + ".etag").is_file()
    os.utime(source, (br.stat().st_mtime + 60,) * 2)  # reinstalled: same bytes, newer
    asset = AssetCache().get(source, target)
    assert asset.brotli == br.read_bytes()
    assert build_boot.fresh(source, target)
    source.write_text("export default 2;\n" * 200)  # another version
    assert AssetCache().get(source, target).brotli is None
    assert not build_boot.fresh(source, target)
    build_boot.compress(source, target)
    assert AssetCache().get(source, target).brotli == br.read_bytes()
    target.with_name(target.name + ".etag").unlink()  # an older build's forms: by file times
    assert AssetCache().get(source, target).brotli is not None
    os.utime(source, (br.stat().st_mtime + 60,) * 2)
    assert AssetCache().get(source, target).brotli is None


def test_parts_cut_a_file_and_reuse_an_earlier_builds_forms(tmp_path: Path) -> None:
    """boot.PARTS: the parts' bytes joined are the file's; a new build's part with the same bytes
    as an earlier build's takes its compressed forms (no quality-11 run again), and a part whose
    bytes changed does not."""
    out = tmp_path / "boot"
    whole = tmp_path / "pyodide.asm.wasm"
    data = os.urandom(1000) + bytes(5000)
    whole.write_bytes(data)
    name = "pyodide.asm.wasm"
    parts = build_boot.write_parts(whole, out / "old", name)
    assert len(parts) == PARTS[name]
    assert b"".join(part.read_bytes() for part in parts) == data
    assert [part.relative_to(out / "old").as_posix() for part in parts] == part_names(name)
    assert [end - start for start, end in part_bounds(len(data), PARTS[name])] == [
        part.stat().st_size for part in parts
    ]
    for part in parts:
        build_boot.compress(part, part)
    whole.write_bytes(data[:-1] + b"\1")  # the last part changes
    new = build_boot.write_parts(whole, out / "new", name)
    for part in new:
        build_boot.adopt_forms(part, out, "new")
    assert [build_boot.fresh(part, part) for part in new] == [True] * (len(new) - 1) + [False]
    assert (
        new[0].with_name(name + ".br").read_bytes() == parts[0].with_name(name + ".br").read_bytes()
    )
