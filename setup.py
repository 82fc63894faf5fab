"""The wheel's data: what a checkout keeps outside `server/` and `web/rtvi/`, copied into the
package at build time (metadata is in pyproject.toml).

`python -m build` (or `make dist`) builds the sdist and from it the wheel; the wheel step runs
`npm ci` when `node_modules/` is missing and `tools/build_boot.py` (a no-op when `build/boot/`
matches the sources), then copies under `pyrtvi_server/share/`:

- `web/`: the page (`index.html`, `app/`), `examples/`, and `rtvi/` (the sources the server zips
  for the page and hashes for the boot build);
- `runtime/`: from `node_modules`, only what the server reads or a page requests: Pyodide's
  module, wasm, lock file and full stdlib (the plain boot), PyScript's `dist/` without source
  maps (plugins a page may load included), their `package.json` (the versions) and PyScript's
  LICENSE;
- `runtime_boot/`: the boot build for those files (after `runtime/` in the wheel, so that pip
  writes the precompressed files after their sources: the server uses a `.br`/`.gz` made from
  its source's bytes, by the `.etag` beside it, else when it is at least as new as its source);
- `bot/pyrtvi_bot/`: the embedded bot, run from its own environment with this directory on its
  PYTHONPATH (not a top-level package: the server's environment cannot import its Pipecat);
- `files.txt`: every file above, checked at start (`config.check_install`).

An editable install (`make setup`) copies nothing: a checkout serves its own directories.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
PYODIDE_FILES = (
    "package.json",
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "pyodide-lock.json",
    "python_stdlib.zip",
)
SKIPPED = ("__pycache__", "*.pyc", "*.map", ".*")


def _files(directory: Path) -> list[Path]:
    """The files under `directory`, without caches, source maps and hidden files."""
    return sorted(
        path
        for path in directory.rglob("*")
        if path.is_file()
        and not any(
            fnmatch.fnmatch(part, pattern)
            for part in path.relative_to(directory).parts
            for pattern in SKIPPED
        )
    )


class BuildWithData(build_py):  # type: ignore[misc]
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        share = Path(self.build_lib) / "pyrtvi_server" / "share"
        shutil.rmtree(share, ignore_errors=True)
        self.prepare_runtime()
        copies = self.web_copies() + self.runtime_copies() + self.bot_copies()
        for source, target in copies:
            (share / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, share / target)
        names = sorted(str(target) for _, target in copies)
        (share / "files.txt").write_text("\n".join(names) + "\n")

    def prepare_runtime(self) -> None:
        """node_modules (npm ci) and the boot build: node is needed here, never at run time."""
        if not (ROOT / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file():
            if shutil.which("npm") is None:
                raise SystemExit("building the wheel needs Node.js and npm (for `npm ci`)")
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True)
        subprocess.run(
            [sys.executable, str(ROOT / "tools" / "build_boot.py")], cwd=ROOT, check=True
        )

    def web_copies(self) -> list[tuple[Path, Path]]:
        web = ROOT / "web"
        found = [(web / "index.html", Path("web/index.html"))]
        for part in ("app", "examples", "rtvi"):
            found += [(path, Path("web") / path.relative_to(web)) for path in _files(web / part)]
        return found

    def runtime_copies(self) -> list[tuple[Path, Path]]:
        modules = ROOT / "node_modules"
        pyodide = modules / "pyodide"
        pyscript = modules / "@pyscript" / "core"
        served = {
            "pyodide": [pyodide / name for name in PYODIDE_FILES],
            "pyscript": _files(pyscript / "dist"),
        }
        found = [(path, Path("runtime/pyodide") / path.name) for path in served["pyodide"]]
        for name in ("package.json", "LICENSE"):
            found.append((pyscript / name, Path("runtime/@pyscript/core") / name))
        found += [
            (path, Path("runtime/@pyscript/core/dist") / path.name) for path in served["pyscript"]
        ]
        boot = ROOT / "build" / "boot"
        manifest = json.loads((boot / "manifest.json").read_text())
        found.append((boot / "manifest.json", Path("runtime_boot/manifest.json")))
        key = manifest["key"]
        found += [
            (path, Path("runtime_boot") / key / path.relative_to(boot / key))
            for path in _files(boot / key)
            # The parts' bytes: the server serves them from the whole files (boot.PARTS).
            if path.parent == boot / key or path.suffix in (".br", ".gz", ".etag")
        ]
        versions = {
            "pyodide": json.loads((pyodide / "package.json").read_text())["version"],
            "pyscript": json.loads((pyscript / "package.json").read_text())["version"],
        }
        for mount, sources in served.items():
            side = boot / "precompressed" / mount / versions[mount]
            for source in sources:
                for suffix in (".br", ".gz", ".etag"):
                    path = side / (source.name + suffix)
                    if path.is_file():
                        target = Path("runtime_boot/precompressed") / mount / versions[mount]
                        found.append((path, target / path.name))
        return found

    def bot_copies(self) -> list[tuple[Path, Path]]:
        bot = ROOT / "server" / "pyrtvi_bot"
        return [(path, Path("bot") / path.relative_to(bot.parent)) for path in _files(bot)]


setup(cmdclass={"build_py": BuildWithData})
