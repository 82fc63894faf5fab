"""pyrtvi: an RTVI client (the realtime-ai 0.2 ``RTVIClient`` API) for Pyodide and CPython."""

from __future__ import annotations

__version__ = "0.1.0"
