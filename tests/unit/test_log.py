"""`rtvi.log`: the logger's level, and its records sent to the browser console."""

from __future__ import annotations

import logging
import sys
from types import SimpleNamespace

import pytest
from rtvi.log import LogLevel, log_to_console, logger, set_log_level


def test_log_to_console_sends_the_rtvi_records_to_console_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines: list[str] = []
    monkeypatch.setitem(
        sys.modules, "js", SimpleNamespace(console=SimpleNamespace(log=lines.append))
    )
    level = logger.level
    handler = log_to_console(logging.DEBUG)
    try:
        logging.getLogger("rtvi.transports").debug("offer sent")
        assert logger.level == logging.DEBUG
        assert len(lines) == 1 and lines[0].endswith("DEBUG rtvi.transports: offer sent")
        assert lines[0].startswith("py ")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_set_log_level_maps_the_js_levels() -> None:
    level = logger.level
    try:
        set_log_level(LogLevel.WARN)
        assert logger.level == logging.WARNING
    finally:
        logger.setLevel(level)
