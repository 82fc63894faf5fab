"""``RTVIClientHelper``: the base of client helpers (the JS abstract class, in Python)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from ..core import ClientCore
from ..errors import RTVIError
from ..events import call_handler
from ..functions import FunctionCallHandler
from ..messages import RTVIMessage

if TYPE_CHECKING:
    from ..client import RTVIClient


class RTVIClientHelper(ABC):
    """Register with ``client.register_helper(service, helper)``.

    The client offers every inbound message whose type is in ``get_message_types()`` (and that
    the client does not route itself) to ``handle_message``. ``client`` and ``service`` are set
    on registration.
    """

    def __init__(self, callbacks: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self.callbacks: dict[str, Callable[..., Any]] = dict(callbacks or {})
        self.client: RTVIClient | None = None
        self.service: str | None = None

    @abstractmethod
    def handle_message(self, message: RTVIMessage) -> None:
        """Handle one inbound message of a claimed type."""

    @abstractmethod
    def get_message_types(self) -> list[str]:
        """The message types this helper handles."""

    def _require_client(self) -> RTVIClient:
        if self.client is None or self.service is None:
            raise RTVIError(f"{type(self).__name__} is not registered with a client")
        return self.client

    def _callback(self, name: str, *args: Any) -> None:
        handler = self.callbacks.get(name)
        if handler is not None:
            call_handler(handler, *args)


class HelperMethods(ClientCore):
    """The client's helper registry (``register_helper``, ``get_helper``,
    ``unregister_helper``) and its function-call handler registration, which delegates to
    :class:`~rtvi.functions.FunctionCalls`: one group of :class:`~rtvi.client.RTVIClient`'s
    methods, over :class:`~rtvi.core.ClientCore`."""

    def register_helper(self, service: str, helper: RTVIClientHelper) -> RTVIClientHelper:
        if not isinstance(helper, RTVIClientHelper):
            raise TypeError("helper must be an RTVIClientHelper instance")
        if service in self._helpers:
            raise RTVIError(f"Helper with name '{service}' already registered")
        helper.service = service
        helper.client = cast("RTVIClient", self)  # HelperMethods is only mixed into it
        self._helpers[service] = helper
        return helper

    def get_helper(self, service: str) -> RTVIClientHelper | None:
        return self._helpers.get(service)

    def unregister_helper(self, service: str) -> None:
        helper = self._helpers.pop(service, None)
        if helper is not None:
            helper.client = None
            helper.service = None

    def register_function_call_handler(
        self, function_name: str, handler: FunctionCallHandler
    ) -> None:
        """RTVI 1.x: run ``handler(FunctionCallParams)`` when the bot calls ``function_name``;
        a non-``None`` result is sent back as ``llm-function-call-result``."""
        self.function_calls.register(function_name, handler)

    def unregister_function_call_handler(self, function_name: str) -> None:
        self.function_calls.unregister(function_name)

    def unregister_all_function_call_handlers(self) -> None:
        self.function_calls.clear()
