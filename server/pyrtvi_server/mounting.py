"""pyrtvi inside your own Starlette or FastAPI app, under a path prefix.

Starlette runs only the top app's lifespan, never a mounted app's: `mount` chains pyrtvi's (the
bot service, the runtime's warm-up) into the parent's. A pyrtvi app mounted some other way whose
lifespan never ran answers every request with one clear error (`middleware.LifespanGuard`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.types import Lifespan

from pyrtvi_server.app import create_app
from pyrtvi_server.config import Settings

#: A mount path: one or more `/segment`s of URL-safe characters, no trailing slash.
MOUNT_PATH = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")


def check_mount_path(path: str) -> str:
    """`path` if it can be a mount path; a `ValueError` that says what is wrong otherwise."""
    if not path.startswith("/"):
        raise ValueError(f"the mount path must start with '/': {path!r} (e.g. '/rtvi')")
    if path == "/" or path.endswith("/"):
        raise ValueError(
            f"the mount path must not end with '/': {path!r} (to serve pyrtvi at the root, "
            "run create_app() as the app itself)"
        )
    if not MOUNT_PATH.match(path):
        raise ValueError(
            f"the mount path may hold letters, digits and '-._~' between slashes only: {path!r}"
        )
    return path


class ChainedLifespan:
    """The parent's lifespan with a mounted app's around it (started first, stopped last)."""

    def __init__(self, parent: Lifespan[Any], child: Starlette) -> None:
        self.parent = parent
        self.child = child

    @contextlib.asynccontextmanager
    async def __call__(self, app: Any) -> AsyncIterator[Any]:
        async with self.child.router.lifespan_context(self.child), self.parent(app) as state:
            yield state


def mount(
    app: Starlette,
    path: str,
    settings: Settings | None = None,
    *,
    name: str = "pyrtvi",
    **options: Any,
) -> Starlette:
    """Serve pyrtvi (the page, the runtime, the RTVI endpoints) at `path` in `app` (a Starlette
    or FastAPI app, before it starts), with its lifespan chained into `app`'s.

    `settings`, or `options` as `pyrtvi serve`'s flags (`bot_url="http://localhost:7860"`,
    `allowed_origins=(...)`, ...) over the `PYRTVI_*` environment. Bad configuration raises
    `ValueError` here; a missing runtime `RuntimeMissingError`. Returns the mounted app.
    """
    check_mount_path(path)
    if settings is not None and options:
        raise TypeError("pass settings or options, not both")
    if settings is None:
        settings = Settings.from_env(**options)
    else:
        settings.validate()
    child = create_app(settings)
    app.mount(path, child, name=name)
    app.router.lifespan_context = ChainedLifespan(app.router.lifespan_context, child)
    return child
