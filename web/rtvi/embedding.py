"""Tell the page that its client is ready (in the browser): ``client_ready(client)``.

pyrtvi's interpreter module (served by pyrtvi, named by ``/pyscript.json``) gives every page a
``window.pyrtvi`` before Python starts: ``pyrtvi.ready``, a Promise of the client, the
``pyrtvi:ready`` DOM event on ``document`` (``event.detail.client``), and
``pyrtvi.call(method, ...args)``, which waits for the client when called before it is ready and
returns a Promise of the method's result. ``client_ready`` settles them (docs/embedding.md).
"""

from __future__ import annotations

from functools import cache
from typing import Any


def client_ready(client: Any) -> bool:
    """Resolve ``window.pyrtvi.ready`` with ``client`` and run the calls queued before; False
    outside a browser page served with pyrtvi's interpreter module (nothing to tell)."""
    gate = _gate()
    if gate is None or not hasattr(gate, "clientReady"):
        return False
    from pyodide.ffi import create_proxy  # type: ignore[import-not-found]

    gate.clientReady(create_proxy(client))  # kept: the page may call it at any time
    return True


def call_active(client: Any, active: bool) -> None:
    """Tell the page whether ``client`` has a call on (from ``connect()`` to disconnected):
    pyrtvi's interpreter module keeps the boot's copies for the next visit only between calls,
    so that their 21 MB of reading, hashing and writing never take the CPU from a call. Nothing
    outside a browser page served with pyrtvi's interpreter module."""
    _tell("callActive", client, active)


def connect_active(client: Any, active: bool) -> None:
    """Tell the page whether ``client`` has a ``connect()`` in flight (to ``bot-ready`` or its
    failure): pyrtvi's interpreter module puts the files a fast boot fetches once the page is
    idle (the rest of the stdlib, the package sources) in place only when none is, so that
    unpacking them never takes the CPU from a connect made right after the boot."""
    _tell("connectActive", client, active)


def _tell(method: str, client: Any, active: bool) -> None:
    gate = _gate()
    if gate is not None and hasattr(gate, method):
        getattr(gate, method)(id(client), active)


@cache
def _gate() -> Any:
    """``window.pyrtvi`` (looked up once), or None outside a browser."""
    try:
        import js  # type: ignore[import-not-found]
    except ImportError:
        return None
    return getattr(js, "pyrtvi", None)
