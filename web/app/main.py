"""The page's Python entry point (runs in Pyodide via PyScript): start the console."""

import logging
import sys

import js  # type: ignore[import-not-found]

js.performance.mark("pyrtvi:main")  # bench.boot: PyScript is done, our code starts
import rtvi  # noqa: E402  (after the mark: our imports are timed)
from pyodide.ffi import create_once_callable  # type: ignore[import-not-found]  # noqa: E402
from pyscript import window  # type: ignore[import-not-found]  # noqa: E402


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


_handler = BrowserConsoleHandler()
_handler.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))
for _name in ("rtvi", "pyrtvi"):
    logging.getLogger(_name).addHandler(_handler)
    logging.getLogger(_name).setLevel(logging.INFO)

from pyrtvi_page.console import Console  # noqa: E402  (after logging is set up)
from rtvi.embedding import client_ready  # noqa: E402

js.performance.mark("pyrtvi:imports")

console = Console()
info = f"Python {sys.version.split()[0]}, rtvi {getattr(rtvi, '__version__', '?')}"
# What the person did while Python loaded (Connect, messages): boot.js held it until now.
queued = window.pyrtviBoot.ready(info)
console.carry_out(queued.to_py() if queued else [])
client_ready(console.client)  # window.pyrtvi.ready, as on an embedding page


def _complete(arrived: bool = True) -> None:
    """The panels that show what a session brings (or at Connect, if that comes first): once
    the files of their modules are in place (after a snapshot boot: when the page is idle)."""
    if arrived:
        console.complete()


_sources = getattr(js, "pyrtviBootSources", None)
if _sources is None:
    js.setTimeout(create_once_callable(_complete), 0)
else:
    _sources.then(create_once_callable(_complete))
