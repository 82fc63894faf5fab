"""pyrtvi server: serves the page and the offline Python runtime, proxies RTVI requests to a bot.

`create_app(settings)` is the whole server as an ASGI app; `mount(app, "/rtvi", ...)` puts it in
your own Starlette or FastAPI app (docs/server.md, "Mount in your app").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyrtvi_server.app import create_app
    from pyrtvi_server.mounting import mount

__version__ = "0.1.0"
__all__ = ["__version__", "create_app", "mount"]


def __getattr__(name: str) -> Any:
    """`create_app` and `mount`, imported on first use: `pyrtvi_server.boot` (the boot build's
    tool) and the CLI's argument parsing do not need Starlette loaded."""
    if name == "create_app":
        from pyrtvi_server.app import create_app

        return create_app
    if name == "mount":
        from pyrtvi_server.mounting import mount

        return mount
    raise AttributeError(f"module 'pyrtvi_server' has no attribute {name!r}")
