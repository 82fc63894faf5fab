"""The console's start: log records to devtools, the console built, what the person did while
Python loaded carried out, the client handed to the page (``pyrtvi.ready``).

``start()`` runs once per page, whichever comes first: the interpreter module calls it as soon
as Python is restored (the console's ``<html data-pyrtvi-start>``, docs/embedding.md), before
PyScript's own start (its ``pyscript`` package written and imported: ~50-80 ms here); PyScript
then runs ``main.py``, whose ``start()`` finds the console built. Importing this module draws
nothing (the shipped snapshot imports it).
"""

from __future__ import annotations

import logging
import sys

import js  # type: ignore[import-not-found]
import rtvi
from pyodide.ffi import create_once_callable  # type: ignore[import-not-found]
from rtvi.embedding import client_ready

from pyrtvi_page.console import Console

_console: Console | None = None


class BrowserConsoleHandler(logging.Handler):
    """Python log records → the browser's devtools console."""

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        if record.levelno >= logging.ERROR:
            js.console.error(text)
        elif record.levelno >= logging.WARNING:
            js.console.warn(text)
        else:
            js.console.log(text)


def start() -> Console:
    """Builds the console once (later calls return it)."""
    global _console
    if _console is not None:
        return _console
    js.performance.mark("pyrtvi:main")  # bench.boot: the console's start (our code) begins
    handler = BrowserConsoleHandler()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))
    for name in ("rtvi", "pyrtvi"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)
    js.performance.mark("pyrtvi:imports")
    console = Console()
    _console = console
    info = f"Python {sys.version.split()[0]}, rtvi {getattr(rtvi, '__version__', '?')}"
    # What the person did while Python loaded (Connect, messages): boot.js held it until now.
    queued = js.window.pyrtviBoot.ready(info)
    console.carry_out(queued.to_py() if queued else [])
    client_ready(console.client)  # window.pyrtvi.ready, as on an embedding page

    def complete(arrived: bool = True) -> None:
        """The panels that show what a session brings (or at Connect, if that comes first):
        once the files of their modules are in place (after a snapshot boot: when the page is
        idle)."""
        if arrived:
            console.complete()

    sources = getattr(js, "pyrtviBootSources", None)
    if sources is None:
        js.setTimeout(create_once_callable(complete), 0)
    else:
        sources.then(create_once_callable(complete))
    return console
