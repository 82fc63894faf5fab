"""The page's Python entry point (PyScript runs it): start the console, unless the interpreter
module has already started it as soon as Python was restored (pyrtvi_page.start)."""

from pyrtvi_page.start import start

start()
