"""The page's Python entry point (runs in Pyodide via PyScript)."""

import sys

from pyscript import window  # type: ignore[import-not-found]

import rtvi

info = f"Python {sys.version.split()[0]}, rtvi {getattr(rtvi, '__version__', '?')}"
window.pyrtviBoot.ready(info)
