"""pyrtvi's test kit: a pytest plugin that talks to a Pipecat bot through the real pyrtvi client
in Chromium (``pip install "pyrtvi[testing]"``; docs/testing.md).

The plugin (``pyrtvi_testing.plugin``) is registered through the ``pytest11`` entry point; its
pieces are importable on their own: offline speech (:mod:`.speech`), processes, turns.
"""

from .processes import BotStartError, LiveServer, RunnerBot, free_port
from .turns import FunctionCall, Turn, TurnEvent

__all__ = [
    "BotStartError",
    "FunctionCall",
    "LiveServer",
    "RunnerBot",
    "Turn",
    "TurnEvent",
    "free_port",
]
