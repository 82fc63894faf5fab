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
