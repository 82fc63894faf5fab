"""Package shape: public names, no browser imports in the core, the default HTTP adapter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import rtvi
from rtvi.http import default_adapter
from rtvi.http.stdlib import StdlibAdapter

PACKAGE = Path(rtvi.__file__).resolve().parent
# The only modules allowed to touch the browser (each imports it lazily).
BROWSER_MODULES = {
    "embedding.py",
    "http/fetch.py",
    "transports/small_webrtc.py",
    "transports/_browser.py",
    "transports/_interop.py",
}


def test_public_names_resolve() -> None:
    for name in rtvi.__all__:
        assert hasattr(rtvi, name), name
    assert callable(rtvi.RTVIClient) and callable(rtvi.Transport)
    assert rtvi.TransportState.READY == "ready"


def test_core_modules_never_import_js_or_pyodide() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in BROWSER_MODULES or rel.startswith("transports/media"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{rel}: {n}" for n in names if n.split(".")[0] in ("js", "pyodide")]
    assert offenders == []


def test_importing_everything_public_loads_no_browser_module() -> None:
    code = (
        "import sys, rtvi, rtvi.transports, rtvi.http.fetch;"
        "print(any(m == 'js' or m.startswith(('js.', 'pyodide')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_default_adapter_under_cpython() -> None:
    assert isinstance(default_adapter(), StdlibAdapter)
