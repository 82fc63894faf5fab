"""The fast boot's build key: modules found on disk, and a hash that changes with any source."""

from __future__ import annotations

import shutil
from pathlib import Path

from pyrtvi_server.boot import discover_modules, package_hash
from pyrtvi_server.runtime import Runtime

from tests.conftest import ROOT

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
