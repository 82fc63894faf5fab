"""pyrtvi in your bot's own process: mounted on Pipecat's development runner app, the way the
runner mounts its prebuilt page at `/client`. One process, one port: your bot's.

    pip install pyrtvi                          # into your bot's environment, beside pipecat-ai
    python runner_mount.py -t webrtc            # from your bot's folder (it imports `bot`)
    # open http://localhost:7860/rtvi/

It is your `bot.py`'s `if __name__ == "__main__":` with one line added: `mount(...)` before
`main()`. pyrtvi's RTVI endpoints then call the runner's `/start` and offer routes over loopback
HTTP, in the same process (`bot_url` is the runner's own address). The runner's CORS middleware
(any origin, unless `--allowed-origins`) sits in front of pyrtvi's: see docs/server.md.
"""

from __future__ import annotations

import argparse

from bot import bot  # type: ignore[import-not-found]  # your bot: the runner runs `bot`
from pipecat.runner.run import app, main  # type: ignore[import-not-found]
from pyrtvi_server import mount

__all__ = ["bot"]

if __name__ == "__main__":
    # The runner's own --host and --port (it parses them again in main()).
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=7860)
    where, _ = parser.parse_known_args()
    mount(app, "/rtvi", bot_url=f"http://{where.host}:{where.port}")
    main()
