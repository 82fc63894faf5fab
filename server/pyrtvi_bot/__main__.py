"""`python -m pyrtvi_bot --host H --port P`: serve the bot's HTTP interface until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import TextIO

NLTK_DATA = Path(__file__).resolve().parent / "nltk_data"
#: Largest WebSocket message the bot accepts (the JS websocket-transport's own limit).
WS_MAX_MESSAGE = 1 << 20


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pyrtvi_bot", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument(
        "--log-level",
        default=os.environ.get("PYRTVI_BOT_LOG_LEVEL", "INFO"),
        choices=["TRACE", "DEBUG", "INFO", "WARNING", "ERROR"],
    )
    return parser.parse_args(argv)


def quiet_pipecat_deprecations() -> None:
    """pipecat 0.0.x warns on every config/action message (the API 0.x clients need) inside
    `catch_warnings(); simplefilter("always")`, which defeats warning filters: drop them at
    display instead."""
    show = warnings.showwarning
    marker = f"{os.sep}pipecat{os.sep}"

    def showwarning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, DeprecationWarning) and marker in filename:
            return
        show(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # Before pipecat is imported: it looks for NLTK's punkt_tab data at import (see nltk_data/).
    os.environ["NLTK_DATA"] = os.pathsep.join(
        p for p in (str(NLTK_DATA), os.environ.get("NLTK_DATA", "")) if p
    )
    quiet_pipecat_deprecations()
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level=args.log_level)

    import uvicorn

    from pyrtvi_bot.app import Flavor, create_app

    version = metadata.version("pipecat-ai")
    # `make typecheck` runs mypy once per bot venv with LEGACY_PIPECAT always true or always
    # false, so each pipecat's flavour module is checked against that pipecat only.
    LEGACY_PIPECAT = version.startswith("0.")
    flavor: Flavor
    if LEGACY_PIPECAT:
        from pyrtvi_bot.legacy import LegacyBot

        flavor = LegacyBot(version)
    else:
        from pyrtvi_bot.modern import ModernBot

        flavor = ModernBot(version)
    app = create_app(flavor)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=3,
        ws_max_size=WS_MAX_MESSAGE,
    )


if __name__ == "__main__":
    main()
