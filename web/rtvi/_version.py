"""Package and protocol versions (kept apart from ``__init__`` to avoid import cycles)."""

import platform
import sys
from typing import Any

__version__ = "0.1.0"

#: The RTVI protocol version announced in ``client-ready``. 1.0.0 keeps pipecat 0.0.76–0.0.108
#: serving the 0.x config/action messages while unlocking the 1.x message types.
RTVI_PROTOCOL_VERSION = "1.0.0"


def about() -> dict[str, Any]:
    """The ``about`` of ``client-ready``: this library and the Python running it."""
    return {
        "library": "pyrtvi",
        "library_version": __version__,
        "platform": "Pyodide" if sys.platform == "emscripten" else platform.python_implementation(),
        "platform_version": platform.python_version(),
    }
