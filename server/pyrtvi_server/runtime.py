"""The pinned browser runtime (Pyodide + PyScript) from the npm install, found and versioned."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path


class RuntimeMissingError(RuntimeError):
    """node_modules lacks the runtime: `npm ci` (or `make run`) has not been run."""


@dataclass(frozen=True)
class Runtime:
    pyodide_dir: Path
    pyodide_version: str
    pyscript_dir: Path
    pyscript_version: str

    @property
    def pyodide_url(self) -> str:
        return f"/runtime/pyodide/{self.pyodide_version}"

    @property
    def pyscript_url(self) -> str:
        return f"/runtime/pyscript/{self.pyscript_version}"

    @classmethod
    def locate(cls, node_modules: Path) -> Runtime:
        pyodide = node_modules / "pyodide"
        pyscript = node_modules / "@pyscript" / "core"
        for package, needed in ((pyodide, "pyodide.asm.wasm"), (pyscript, "dist/core.js")):
            if not (package / needed).is_file():
                raise RuntimeMissingError(
                    f"{package / needed} not found: run `npm ci` in the repository root"
                )
        return cls(
            pyodide_dir=pyodide,
            pyodide_version=_version(pyodide),
            pyscript_dir=pyscript / "dist",
            pyscript_version=_version(pyscript),
        )

    def pyscript_chunks(self, plugins: tuple[str, ...] = ("error",)) -> list[str]:
        """File names (under `pyscript_url`) of what PyScript's core.js imports before it can
        start an interpreter: its core chunk and the given plugins' chunks. Read from the build
        (the names are content hashes); an unexpected build gives fewer names, never a wrong one."""
        core = (self.pyscript_dir / "core.js").read_text()
        found = re.findall(r'from\s*"\./(core-[\w-]+\.js)"', core)[:1]
        if found and (self.pyscript_dir / found[0]).is_file():
            chunk = (self.pyscript_dir / found[0]).read_text()
            for plugin in plugins:
                pattern = rf'(?<![\w-])"?{re.escape(plugin)}"?:\(\)=>import\("\./([\w-]+\.js)"\)'
                found += re.findall(pattern, chunk)[:1]
        return [name for name in found if (self.pyscript_dir / name).is_file()]


def _version(package: Path) -> str:
    return str(json.loads((package / "package.json").read_text())["version"])
