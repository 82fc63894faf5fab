"""The UI-agent protocol of client-js 1.9–1.13: the page seen by the bot, and acted on by it.

- The **snapshot stream** (:meth:`RTVIClient.start_ui_snapshot_stream`): the page's
  accessibility tree, in client-js's format (:mod:`.tree`), sent as ``ui-snapshot {tree}``
  whenever the page changes (:mod:`.stream`); elements marked ``data-a11y-exclude`` and all they
  hold are left out. Each element shown has a ref (``e12``) that stays its name (:mod:`.refs`).
- The **commands** (:meth:`RTVIClient.handle_ui_commands`): the bot's ``ui-command`` messages
  carried out on the page, standard ones (toast, navigate, scroll_to, highlight, focus, click,
  set_input_value, select_text) and the page's own, each refusable (:mod:`.commands`).

The pure parts (tree format, refs, stream policy, command checking) run in CPython; the DOM is
read and acted on in :mod:`.dom` (Pyodide only). docs/ui-agent.md has the whole story.
"""

from __future__ import annotations

from .commands import (
    STANDARD_COMMANDS,
    Outcome,
    Refused,
    StandardCommand,
    UICommand,
    UICommandError,
    UICommandPolicy,
    UICommandResult,
    parse_ui_command,
)
from .methods import UICommandRunner
from .refs import RefTable
from .stream import SnapshotStream, StreamOptions
from .tree import EXCLUDE_ATTRIBUTE, build_snapshot

__all__ = [
    "EXCLUDE_ATTRIBUTE",
    "STANDARD_COMMANDS",
    "Outcome",
    "RefTable",
    "Refused",
    "SnapshotStream",
    "StandardCommand",
    "StreamOptions",
    "UICommand",
    "UICommandError",
    "UICommandPolicy",
    "UICommandResult",
    "UICommandRunner",
    "build_snapshot",
    "parse_ui_command",
]
