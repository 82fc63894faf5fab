"""Where this app is, for the URLs it hands out: the path it is mounted at in a parent app and
the absolute base URL browsers reach it at."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Scope

from pyrtvi_server.config import Settings, public_base


def mount_path(scope: Scope) -> str:
    """The path this app is mounted at (`"/rtvi"`), `""` when it is the server's app itself.

    A parent's `Mount` adds its path to `root_path` and keeps the top app's own root path (a
    proxy's `--root-path`, already in `request.base_url`) as `app_root_path`.
    """
    root = str(scope.get("root_path", ""))
    top = str(scope.get("app_root_path", root))
    return root[len(top) :] if root.startswith(top) else ""


def route_path(scope: Scope) -> str:
    """The request's path below this app's root (what its routes match)."""
    path = str(scope["path"])
    root = str(scope.get("root_path", ""))
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


def app_url(settings: Settings, request: Request) -> str:
    """This app's absolute base URL: the server's public base plus the mount path."""
    return public_base(settings, request) + mount_path(request.scope)
