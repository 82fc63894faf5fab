"""``LLMHelper``: LLM context actions and client-side function calls (RTVI 0.x).

Actions ``get_context``, ``set_context``, ``append_to_messages`` and ``run`` of the helper's
service (usually ``"llm"``) must be registered by the bot application. Function calls: the bot
sends ``llm-function-call``; the callback given to :meth:`LLMHelper.handle_function_call`
computes the result, which goes back as ``llm-function-call-result``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from ..errors import BotNotReadyError
from ..functions import FunctionCallHandler
from ..messages import FunctionCallParams, MessageType, RTVIMessage, data_field
from ..state import TransportState
from .base import RTVIClientHelper


class LLMActionType(StrEnum):
    GET_CONTEXT = "get_context"
    SET_CONTEXT = "set_context"
    APPEND_TO_MESSAGES = "append_to_messages"
    RUN = "run"


class LLMHelper(RTVIClientHelper):
    """Helper callbacks: ``on_llm_json_completion(text)``, ``on_llm_function_call(data)``,
    ``on_llm_function_call_start(function_name)``, ``on_llm_message(message)`` (the last one
    is declared for parity and, as in the JS client, never called)."""

    def __init__(self, callbacks: Mapping[str, Callable[..., Any]] | None = None) -> None:
        super().__init__(callbacks)
        self._function_call_handler: FunctionCallHandler | None = None

    def get_message_types(self) -> list[str]:
        return [
            MessageType.LLM_FUNCTION_CALL,
            MessageType.LLM_FUNCTION_CALL_START,
            MessageType.LLM_FUNCTION_CALL_RESULT,
            MessageType.LLM_JSON_COMPLETION,
        ]

    # --- actions ------------------------------------------------------------------------------

    def _ready_client(self) -> Any:
        client = self._require_client()
        if client.state != TransportState.READY:
            raise BotNotReadyError()
        return client

    async def _action(self, action: LLMActionType, arguments: list[dict[str, Any]]) -> Any:
        client = self._ready_client()
        reply: RTVIMessage = await client.action(self.service, str(action), arguments)
        return data_field(reply.data, "result")

    async def get_context(self) -> Any:
        """The bot's LLM context ``{"messages": [...], "tools": [...]}``."""
        return await self._action(LLMActionType.GET_CONTEXT, [])

    async def set_context(self, context: Mapping[str, Any], interrupt: bool = False) -> bool:
        """Replace the context's messages; returns the bot's success flag."""
        result = await self._action(
            LLMActionType.SET_CONTEXT,
            [
                {"name": "messages", "value": list(context.get("messages") or [])},
                {"name": "interrupt", "value": interrupt},
            ],
        )
        return bool(result)

    async def append_to_messages(
        self, message: Mapping[str, Any], run_immediately: bool = False
    ) -> bool:
        result = await self._action(
            LLMActionType.APPEND_TO_MESSAGES,
            [
                {"name": "messages", "value": [dict(message)]},
                {"name": "run_immediately", "value": run_immediately},
            ],
        )
        return bool(result)

    async def run(self, interrupt: bool = False) -> Any:
        """Run the LLM on the current context. Unlike the JS client (which silently did
        nothing), raises ``BotNotReadyError`` when the session is not ready."""
        return await self._action(LLMActionType.RUN, [{"name": "interrupt", "value": interrupt}])

    # --- function calls -----------------------------------------------------------------------

    def handle_function_call(self, callback: FunctionCallHandler | None) -> None:
        """Set (or clear with ``None``) the function-call handler; may be sync or async."""
        self._function_call_handler = callback

    def handle_message(self, message: RTVIMessage) -> None:
        data = message.data
        if message.type == MessageType.LLM_JSON_COMPLETION:
            self._callback("on_llm_json_completion", data)
        elif message.type == MessageType.LLM_FUNCTION_CALL_START:
            self._callback("on_llm_function_call_start", data_field(data, "function_name"))
        elif message.type == MessageType.LLM_FUNCTION_CALL:
            self._callback("on_llm_function_call", data)
            call = FunctionCallParams.parse(data, legacy=True)
            if self._function_call_handler is not None and call is not None:
                self._require_client().function_calls.start(
                    self._function_call_handler, call, always_reply=True
                )


__all__ = ["FunctionCallHandler", "FunctionCallParams", "LLMActionType", "LLMHelper"]
