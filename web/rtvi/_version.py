"""Package and protocol versions (kept apart from ``__init__`` to avoid import cycles)."""

import platform
import sys
from typing import Any

__version__ = "0.1.0"

#: The RTVI protocol version announced in ``client-ready`` (``RTVIClient(protocol_version=...)``
#: pins another). pipecat 1.14 (2.2.0) serves a 2.x client in full (v2 ``bot-output``, spoken
#: progress, capabilities); 0.0.76–0.0.108 (1.x) accept any version and serve config/action
#: messages all the same; 0.0.73 and older ignore it.
RTVI_PROTOCOL_VERSION = "2.2.0"


def about() -> dict[str, Any]:
    """The ``about`` of ``client-ready``: this library and the Python running it."""
    return {
        "library": "pyrtvi",
        "library_version": __version__,
        "platform": "Pyodide" if sys.platform == "emscripten" else platform.python_implementation(),
        "platform_version": platform.python_version(),
    }
