"""Tell the page that its client is ready (in the browser): ``client_ready(client)``.

pyrtvi's interpreter module (served by pyrtvi, named by ``/pyscript.json``) gives every page a
``window.pyrtvi`` before Python starts: ``pyrtvi.ready``, a Promise of the client, the
``pyrtvi:ready`` DOM event on ``document`` (``event.detail.client``), and
``pyrtvi.call(method, ...args)``, which waits for the client when called before it is ready and
returns a Promise of the method's result. ``client_ready`` settles them (docs/embedding.md).
"""

from __future__ import annotations

from typing import Any


def client_ready(client: Any) -> bool:
    """Resolve ``window.pyrtvi.ready`` with ``client`` and run the calls queued before; False
    outside a browser page served with pyrtvi's interpreter module (nothing to tell)."""
    try:
        import js  # type: ignore[import-not-found]
        from pyodide.ffi import create_proxy  # type: ignore[import-not-found]
    except ImportError:
        return False
    gate = getattr(js, "pyrtvi", None)
    if gate is None or not hasattr(gate, "clientReady"):
        return False
    gate.clientReady(create_proxy(client))  # kept: the page may call it at any time
    return True
