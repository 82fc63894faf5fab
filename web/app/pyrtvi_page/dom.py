"""DOM helpers for the console page (Pyodide only).

Two interop rules live here so the rest of the page never thinks about them: a Python function
given to ``addEventListener`` must be a ``create_proxy`` proxy that we keep (a borrowed proxy is
destroyed at once and never fires), and an ``async`` handler is scheduled as a task whose
failure is reported instead of vanishing.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

import js  # type: ignore[import-not-found]
from pyodide.ffi import create_proxy  # type: ignore[import-not-found]

logger = logging.getLogger("pyrtvi.page")

document: Any = js.document


def nullable(value: Any) -> Any:
    """JS ``null`` as ``None`` (Pyodide ≥ 0.28 gives ``jsnull``, which is not ``None``)."""
    if value is None or type(value).__name__ == "JsNull":
        return None
    return value


def query(root: Any, selector: str) -> Any:
    """``root.querySelector(selector)``, ``None`` when nothing matches."""
    return nullable(root.querySelector(selector))


def query_all(root: Any, selector: str) -> list[Any]:
    """``root.querySelectorAll(selector)`` as a list."""
    return list(root.querySelectorAll(selector))


def by_id(element_id: str) -> Any:
    element = nullable(document.getElementById(element_id))
    if element is None:
        raise LookupError(f"the page has no element #{element_id}")
    return element


def h(tag: str, attrs: dict[str, Any] | None = None, *children: Any) -> Any:
    """Create an element: ``h("li", {"class": "turn", "data-final": "false"}, "text", child)``.

    ``text`` sets textContent; boolean ``True``/``False`` adds/omits the attribute; anything
    else becomes a string attribute. Children are elements or strings (text nodes).
    """
    element = document.createElement(tag)
    for name, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        if name == "text":
            element.textContent = str(value)
        elif value is True:
            element.setAttribute(name, "")
        else:
            element.setAttribute(name, str(value))
    for child in children:
        if child is None:
            continue
        element.append(document.createTextNode(child) if isinstance(child, str) else child)
    return element


def clear(element: Any) -> None:
    element.replaceChildren()


def set_text(element: Any, text: str) -> None:
    element.textContent = text


class Bindings:
    """Event listeners bound to page elements; ``on_error`` sees any handler failure."""

    def __init__(self, on_error: Callable[[BaseException], None] | None = None) -> None:
        self._proxies: list[tuple[Any, str, Any]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self.on_error = on_error

    def on(self, target: Any, event: str, handler: Callable[..., Any]) -> None:
        """``handler(event)``; it may be ``async`` (then it runs as a task).

        ``submit`` events have their default (a page navigation) prevented here, synchronously:
        an async handler runs only after the browser has already acted on the event.
        """

        def call(js_event: Any) -> None:
            if event == "submit":
                js_event.preventDefault()
            try:
                result = handler(js_event)
            except Exception as exc:
                self._report(exc)
                return
            if inspect.isawaitable(result):
                self.spawn(result)

        proxy = create_proxy(call)
        target.addEventListener(event, proxy)
        self._proxies.append((target, event, proxy))

    def spawn(self, awaitable: Any) -> asyncio.Task[Any]:
        """Run a coroutine in the background; its exception goes to ``on_error``."""
        task: asyncio.Task[Any] = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._report(task.exception())  # type: ignore[arg-type]

    def _report(self, exc: BaseException) -> None:
        logger.error("page handler failed", exc_info=exc)
        if self.on_error is not None:
            try:
                self.on_error(exc)
            except Exception:
                logger.exception("error reporter failed")

    def clear(self) -> None:
        while self._proxies:
            target, event, proxy = self._proxies.pop()
            target.removeEventListener(event, proxy)
            proxy.destroy()
