"""``RTVIClientHelper``: the base of client helpers (the JS abstract class, in Python)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import RTVIError
from ..events import call_handler
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
