"""``LogLevel`` and ``set_log_level``: the JS client's logger levels over ``logging``."""

from __future__ import annotations

import logging
from enum import IntEnum

logger = logging.getLogger("rtvi")


class LogLevel(IntEnum):
    NONE = 0
    ERROR = 1
    WARN = 2
    INFO = 3
    DEBUG = 4


_LEVELS = {
    LogLevel.NONE: logging.CRITICAL + 10,
    LogLevel.ERROR: logging.ERROR,
    LogLevel.WARN: logging.WARNING,
    LogLevel.INFO: logging.INFO,
    LogLevel.DEBUG: logging.DEBUG,
}


def set_log_level(level: LogLevel | int) -> None:
    """Set the level of the ``rtvi`` logger (unlike the JS client, the default is quiet)."""
    logger.setLevel(_LEVELS[LogLevel(level)])


class ConsoleHandler(logging.Handler):
    """Log records → the browser console (``console.log``); Pyodide only."""

    def emit(self, record: logging.LogRecord) -> None:
        from .transports._interop import js_global

        js_global().console.log(self.format(record))


def log_to_console(level: int = logging.INFO) -> ConsoleHandler:
    """Send the ``rtvi`` logger's records at ``level`` to the browser console, each with its ms
    since start (test pages read them back from the console)."""
    handler = ConsoleHandler()
    handler.setFormatter(
        logging.Formatter("py %(relativeCreated)d %(levelname)s %(name)s: %(message)s")
    )
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler
