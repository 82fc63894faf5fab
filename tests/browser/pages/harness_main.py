"""Runs in the test page (PyScript): lets the tests execute Python in Pyodide and see events.

``window.pyrun(code)`` evaluates ``code`` (top-level ``await`` allowed) in one namespace shared by
all calls of a page and resolves to the JSON of the last expression. ``record(name, data)``
appends an event to ``window.rtviEvents`` (JSON strings), which tests poll from JS.
"""

import json
import logging

import js  # type: ignore[import-not-found]
from pyodide.code import eval_code_async  # type: ignore[import-not-found]
from pyodide.ffi import create_proxy  # type: ignore[import-not-found]


class ConsoleHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        js.console.log(self.format(record))


handler = ConsoleHandler()
handler.setFormatter(logging.Formatter("py %(levelname)s %(name)s: %(message)s"))
logging.getLogger("rtvi").addHandler(handler)
logging.getLogger("rtvi").setLevel(logging.DEBUG)

js.rtviEvents = js.Array.new()


def record(name: str, data: object = None) -> None:
    js.rtviEvents.push(
        json.dumps({"name": name, "data": data, "t": js.performance.now()}, default=repr)
    )


NS: dict[str, object] = {"__name__": "harness", "record": record, "js": js}


async def run(code: str) -> str:
    result = await eval_code_async(code, NS)
    return json.dumps(result, default=repr)


js.pyrun = create_proxy(run)
js.document.documentElement.dataset.harness = "ready"
