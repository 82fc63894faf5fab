"""Client-side function calls: the handlers by function name, each call run once, the reply.

The bot asks the client to run a function (``llm-function-call-in-progress`` in RTVI 1.x,
``llm-function-call`` in 0.x); the handler's result goes back as ``llm-function-call-result``.
:class:`FunctionCalls` is shared by ``RTVIClient`` (``register_function_call_handler``) and
``LLMHelper`` (``handle_function_call``). It is I/O-injected: ``send`` puts the reply on the
wire and ``spawn`` runs the handler as a task.
"""

from __future__ import annotations

import inspect
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from . import messages as m
from .errors import RTVIError
from .messages import FunctionCallParams

logger = logging.getLogger("rtvi")

#: ``(FunctionCallParams) -> result`` (sync or async); ``None`` means "no reply" for 1.x calls.
FunctionCallHandler = Callable[[FunctionCallParams], Any]

#: How many answered ``tool_call_id`` values are remembered to drop repeats.
SEEN_LIMIT = 256


class FunctionCalls:
    """Function-call handlers by name; runs each ``tool_call_id`` once and sends the result."""

    def __init__(
        self,
        send: Callable[[m.RTVIMessage], None],
        spawn: Callable[[Coroutine[Any, Any, None]], Any],
    ) -> None:
        self._send = send
        self._spawn = spawn
        self.handlers: dict[str, FunctionCallHandler] = {}
        self._seen: deque[str] = deque(maxlen=SEEN_LIMIT)

    def register(self, function_name: str, handler: FunctionCallHandler) -> None:
        self.handlers[function_name] = handler

    def unregister(self, function_name: str) -> None:
        self.handlers.pop(function_name, None)

    def clear(self) -> None:
        self.handlers.clear()

    def first_time(self, tool_call_id: str) -> bool:
        """Whether ``tool_call_id`` is new (and remember it). An empty id is always new."""
        if not tool_call_id:
            return True
        if tool_call_id in self._seen:
            return False
        self._seen.append(tool_call_id)
        return True

    def dispatch(self, call: FunctionCallParams | None) -> bool:
        """Run the handler registered for ``call.function_name``; False when there is none.

        A ``None`` result sends no reply (the RTVI 1.x convention).
        """
        handler = self.handlers.get(call.function_name) if call is not None else None
        if call is None or handler is None:
            return False
        self.start(handler, call, always_reply=False)
        return True

    def start(
        self, handler: FunctionCallHandler, call: FunctionCallParams, *, always_reply: bool
    ) -> bool:
        """Run ``handler`` for ``call`` unless its ``tool_call_id`` was seen; returns whether
        it runs. ``always_reply`` sends even a ``None`` result (what 0.x ``LLMHelper`` does)."""
        if not self.first_time(call.tool_call_id):
            return False
        self._spawn(self.run(handler, call, always_reply=always_reply))
        return True

    async def run(
        self, handler: FunctionCallHandler, call: FunctionCallParams, *, always_reply: bool
    ) -> None:
        """Call the handler (awaiting it when async) and send its result; a handler that raises
        is answered with ``{"error": "Type: text"}`` so the bot's LLM is not left waiting."""
        try:
            result = handler(call)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            logger.exception("function call handler for %r failed", call.function_name)
            result = {"error": f"{type(exc).__name__}: {exc}"}
        if result is None and not always_reply:
            return
        reply = m.llm_function_call_result(
            call.function_name, call.tool_call_id, call.arguments, result
        )
        try:
            self._send(reply)
        except RTVIError as exc:
            logger.warning("could not send the result of %r: %s", call.function_name, exc)
