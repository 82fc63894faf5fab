"""Pyodide's JS interop, with its two rules enforced in one place.

- A Python callable handed to JS must be a proxy made with ``create_proxy`` and later
  destroyed, or it either never fires (a borrowed proxy) or leaks. :class:`ProxyRegistry`
  creates and destroys them and counts the live ones (``live_proxies()``), so tests can prove
  that connect/disconnect cycles release everything.
- Python data handed to JS goes through :func:`to_js_object` (plain JS objects, and no hidden
  PyProxies for things that cannot be converted).

``js`` and ``pyodide`` are imported lazily so that ``import rtvi`` keeps working in CPython.
The browser objects themselves are made only in :mod:`._browser` (W3C-named wrappers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("rtvi.transports.webrtc")


# --- lazy access to the browser --------------------------------------------------------------


def js_global() -> Any:
    """The ``js`` module (the page's ``globalThis``); only importable under Pyodide."""
    import js

    return js


def _ffi() -> Any:
    import pyodide.ffi

    return pyodide.ffi


def js_value(value: Any) -> Any:
    """``value``, or ``None`` for JS ``null``/``undefined`` (Pyodide gives ``jsnull`` for null)."""
    if value is None or type(value).__name__ == "JsNull":
        return None
    return value


def js_error_text(exc: BaseException) -> str:
    """``"NotAllowedError: Permission denied"`` from a JS exception (or any exception)."""
    js_error = getattr(exc, "js_error", None)
    if js_error is not None:
        name = getattr(js_error, "name", "") or "Error"
        message = getattr(js_error, "message", "") or ""
        return f"{name}: {message}" if message else str(name)
    return str(exc) or type(exc).__name__


def to_js_object(value: Any) -> Any:
    """Python data (dicts, lists, str, numbers, JS objects) as plain JS objects and arrays."""
    ffi = _ffi()
    return ffi.to_js(value, dict_converter=js_global().Object.fromEntries, create_pyproxies=False)


def to_py(value: Any) -> Any:
    """A JS value as Python data (objects become dicts); ``None`` stays ``None``."""
    value = js_value(value)
    if value is None:
        return None
    converter = getattr(value, "to_py", None)
    return converter() if converter is not None else value


def now_ms() -> int:
    """``Date.now()``: wall-clock milliseconds (what the keepalive carries)."""
    return int(js_global().Date.now())


# --- proxies ---------------------------------------------------------------------------------


class ProxyRegistry:
    """Creates, destroys and counts the JS proxies of Python callables."""

    def __init__(self) -> None:
        self._live: dict[int, Any] = {}
        self.created = 0
        self.destroyed = 0

    @property
    def live(self) -> int:
        return len(self._live)

    def create(self, func: Callable[..., Any]) -> Any:
        proxy = _ffi().create_proxy(func)
        self._live[id(proxy)] = proxy
        self.created += 1
        return proxy

    def destroy(self, proxy: Any) -> None:
        if self._live.pop(id(proxy), None) is None:
            return
        self.destroyed += 1
        try:
            proxy.destroy()
        except Exception:  # already destroyed by someone else
            logger.debug("proxy was already destroyed", exc_info=True)


#: Every proxy the browser transport hands to JS goes through this registry.
PROXIES = ProxyRegistry()


def live_proxies() -> int:
    """How many JS proxies created by the transport are alive right now."""
    return PROXIES.live


def _guarded(handler: Callable[[Any], Any], what: str) -> Callable[[Any], None]:
    """A JS-called handler must not throw into the browser: log instead."""

    def call(event: Any = None) -> None:
        try:
            handler(event)
        except Exception:
            logger.exception("%s handler failed", what)

    return call


class Listeners:
    """Event listeners added to JS event targets, removed and released together."""

    def __init__(self, registry: ProxyRegistry = PROXIES) -> None:
        self._registry = registry
        self._added: list[tuple[Any, str, Any]] = []

    def __len__(self) -> int:
        return len(self._added)

    def add(self, target: Any, event: str, handler: Callable[[Any], Any]) -> None:
        proxy = self._registry.create(_guarded(handler, event))
        target.addEventListener(event, proxy)
        self._added.append((target, event, proxy))

    def clear(self) -> None:
        while self._added:
            target, event, proxy = self._added.pop()
            try:
                target.removeEventListener(event, proxy)
            except Exception:
                logger.debug("removeEventListener(%s) failed", event, exc_info=True)
            self._registry.destroy(proxy)
