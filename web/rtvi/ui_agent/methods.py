"""The client's UI-agent methods: the snapshot stream and the page's ``ui-command`` actions.

One group of :class:`~rtvi.client.RTVIClient`'s methods, over :class:`~rtvi.core.ClientCore`
(client-js 1.13 ``startUISnapshotStream`` / ``stopUISnapshotStream``; ``handle_ui_commands`` is
what client-react's standard handlers do for a React app). The stream runs in the browser
(:mod:`rtvi.ui_agent.dom`); in CPython ``stream_factory`` can be given one.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

from .. import messages as m
from ..core import ClientCore
from ..errors import MessageTooLargeError, RTVIError, UnsupportedFeatureError
from ..events import RTVIEvent
from ..features import Feature, check
from ..state import TransportState
from .commands import (
    STANDARD_COMMANDS,
    Action,
    Check,
    UICommandPolicy,
    UICommandResult,
    normalize_name,
    normalize_names,
    run_command,
)
from .stream import Snapshot, StreamOptions

logger = logging.getLogger("rtvi.ui_agent")

#: client-js's option names, for ports that pass ``{"debounceMs": 300, ...}`` as they are.
JS_OPTIONS = {
    "debounceMs": "debounce",
    "trackViewport": "track_viewport",
    "logSnapshots": "log_snapshots",
}


class UISnapshotStreamer(Protocol):
    """What the client needs of a streamer (:class:`~rtvi.ui_agent.dom.A11ySnapshotStreamer`)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def flush(self) -> None: ...


#: ``(emit, options, root) -> streamer``.
StreamerFactory = Callable[
    [Callable[[Snapshot], bool | None], StreamOptions, Any], UISnapshotStreamer
]


def browser_streamer(
    emit: Callable[[Snapshot], bool | None], options: StreamOptions, root: Any
) -> UISnapshotStreamer:
    if sys.platform != "emscripten":
        raise RTVIError("the UI snapshot stream reads a page: it runs in the browser (Pyodide)")
    from .dom import A11ySnapshotStreamer

    return A11ySnapshotStreamer(emit, options, root)


def stream_options(
    options: StreamOptions | Mapping[str, Any] | None, **kwargs: Any
) -> StreamOptions:
    """``StreamOptions`` from keywords, a mapping of them, or client-js's option object
    (``debounceMs`` in ms)."""
    if isinstance(options, StreamOptions):
        return options
    merged: dict[str, Any] = {}
    for key, value in {**dict(options or {}), **kwargs}.items():
        name = JS_OPTIONS.get(key, key)
        merged[name] = value / 1000 if key == "debounceMs" else value
    unknown = set(merged) - {"debounce", "track_viewport", "log_snapshots", "max_wait"}
    if unknown:
        raise TypeError(f"unknown UI snapshot stream option(s): {', '.join(sorted(unknown))}")
    return StreamOptions(**merged)


class UICommandRunner:
    """Carries out the bot's ``ui-command`` messages on the page, one at a time and in order,
    as the page's policy allows (made by :meth:`UIAgentMethods.handle_ui_commands`)."""

    def __init__(
        self,
        client: ClientCore,
        policy: UICommandPolicy,
        actions: Mapping[str, Action],
        on_result: Callable[[UICommandResult], Any] | None,
    ) -> None:
        self.policy = policy
        self.actions = dict(actions)
        self.on_result = on_result
        #: The last results, newest last (at most 100).
        self.results: list[UICommandResult] = []
        self._client = client
        self._tail: asyncio.Future[Any] | None = None
        client.on(RTVIEvent.UI_COMMAND, self._on_command)

    def _on_command(self, data: Any) -> None:
        self._tail = self._client._spawn(self._run(data, self._tail))

    async def _run(self, data: Any, previous: Awaitable[Any] | None) -> None:
        if previous is not None:
            await asyncio.wait([asyncio.ensure_future(previous)])
        result = await run_command(data, self.policy, self.actions)
        self.results = [*self.results[-99:], result]
        level = logging.DEBUG if result.outcome == "done" else logging.INFO
        logger.log(
            level, "ui-command %s: %s %s", result.command, result.outcome, result.reason or ""
        )
        if self.on_result is not None:
            outcome = self.on_result(result)
            if asyncio.iscoroutine(outcome):
                await outcome

    async def idle(self) -> None:
        """Wait until every command received so far has run."""
        while self._tail is not None and not self._tail.done():
            await asyncio.wait([self._tail])

    def close(self) -> None:
        """Stop carrying out commands (those under way finish)."""
        self._client.off(RTVIEvent.UI_COMMAND, self._on_command)


class UIAgentMethods(ClientCore):
    """The UI-agent protocol of client-js 1.9–1.13 (pipecat's ``UIWorker`` on the bot)."""

    #: ``(emit, options, root) -> streamer``: the browser's by default (tests give another).
    #: Not annotated: method groups declare no fields (``ClientCore`` does).
    stream_factory = staticmethod(browser_streamer)

    def start_ui_snapshot_stream(
        self,
        options: StreamOptions | Mapping[str, Any] | None = None,
        *,
        root: Any = None,
        **option_values: Any,
    ) -> None:
        """client-js ``startUISnapshotStream``: send the page's accessibility snapshot as
        ``ui-snapshot {tree}`` now and whenever the page changes, debounced.

        Options as keywords (``debounce=0.3`` s, ``track_viewport=True``,
        ``log_snapshots=False``, ``max_wait`` s) or client-js's object (``{"debounceMs":
        300}``); ``root``: the element to walk (default ``document.body``). Before ``ready``
        the latest snapshot is kept and sent on ``ready``; a snapshot that shows nothing new
        is not sent. Calling it again replaces the stream; ``disconnect()`` stops it.
        """
        opts = stream_options(options, **option_values)
        self.stop_ui_snapshot_stream()
        streamer = type(self).stream_factory(self._emit_ui_snapshot, opts, root)
        self._ui_stream = streamer
        streamer.start()

    def stop_ui_snapshot_stream(self) -> None:
        """client-js ``stopUISnapshotStream``: stop the stream, if one runs."""
        streamer, self._ui_stream = self._ui_stream, None
        if streamer is not None:
            streamer.stop()

    @property
    def ui_snapshot_streaming(self) -> bool:
        """A snapshot stream is running."""
        return self._ui_stream is not None

    def _emit_ui_snapshot(self, snapshot: Snapshot) -> bool:
        """Send one streamed snapshot; ``False`` keeps it for ``ready``. Never raises: a
        bot without the UI protocol, or a snapshot over the transport's limit, is logged."""
        if self.state != TransportState.READY:
            return False
        try:
            check(Feature.UI_SNAPSHOT, self._bot_ready)
            self._send(m.ui_snapshot(snapshot), ready=True)
        except (UnsupportedFeatureError, MessageTooLargeError) as exc:
            logger.warning("UI snapshot not sent: %s", exc)
        return True

    def _ui_stream_on_state(self, state: TransportState) -> None:
        if state == TransportState.READY and self._ui_stream is not None:
            self._ui_stream.flush()

    async def disconnect(self) -> None:
        """End the session (also cancels an in-flight ``connect()``). Safe to call any time.
        Stops the UI snapshot stream, as client-js does."""
        self.stop_ui_snapshot_stream()
        await super().disconnect()

    def handle_ui_commands(
        self,
        *,
        allow: Iterable[str] | None = None,
        check: Check | None = None,
        handlers: Mapping[str, Action] | None = None,
        on_result: Callable[[UICommandResult], Any] | None = None,
    ) -> UICommandRunner:
        """Carry out the bot's ``ui-command`` messages on the page (see
        :mod:`rtvi.ui_agent.commands`): the standard actions (toast, navigate, scroll_to,
        highlight, focus, click, set_input_value, select_text) and the page's ``handlers``.

        ``allow``: the names carried out (default: all that have an action); ``check(command)``:
        ``False`` or a reason refuses one; ``on_result(result)``: each command's outcome.
        ``on_ui_command`` still fires for every command. Returns the runner; ``close()`` it
        to stop.
        """
        actions: dict[str, Action] = {}
        if sys.platform == "emscripten":
            from .dom import standard_actions

            actions.update(standard_actions())
        actions.update({normalize_name(name): fn for name, fn in (handlers or {}).items()})
        allowed = None if allow is None else normalize_names(allow)
        unknown = (allowed or frozenset()) - set(actions) - STANDARD_COMMANDS
        if unknown:
            logger.warning("allowed ui-commands with no action: %s", ", ".join(sorted(unknown)))
        return UICommandRunner(self, UICommandPolicy(allowed, check), actions, on_result)
