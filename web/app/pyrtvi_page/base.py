"""The one shape of a console panel: a :class:`Panel`, built from the page's
:class:`~.context.PanelContext`.

A panel binds its own controls when it is built, names the client events it hears in
:meth:`Panel.subscriptions`, enables its controls in :meth:`Panel.update` and forgets the last
session in :meth:`Panel.session_starting`; a panel with an :attr:`Panel.export_key` writes its part
of an exported session in :meth:`Panel.export_state` and shows it again in :meth:`Panel.import_state`.
The page calls nothing else on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from rtvi import RTVIEvent, TransportState

if TYPE_CHECKING:
    from .context import PanelContext

#: What a panel hears from the client: event → handler (called as ``client.on`` calls it).
Subscriptions = Mapping[RTVIEvent, Callable[..., Any]]


class Log(Protocol):
    """The event log's entry point: ``log("connect()", {...}, kind="call")``."""

    def __call__(self, name: str, data: Any, *, kind: str = "event") -> None: ...


class Panel:
    """A panel of the console; the hooks below do nothing unless a panel overrides them."""

    def __init__(self, ctx: PanelContext) -> None:
        self.ctx = ctx
        self.client = ctx.client

    def log(self, name: str, data: Any, *, kind: str = "event") -> None:
        """An entry in the event log."""
        self.ctx.log(name, data, kind=kind)

    def subscriptions(self) -> Subscriptions:
        """The client events this panel hears (subscribed once, when the console starts)."""
        return {}

    def update(self, state: TransportState) -> None:
        """The session's state changed: enable the controls that can be used now."""

    def session_starting(self) -> None:
        """Connect was pressed: forget what belonged to the last session."""

    #: This panel's key in an exported session file (``#log-export``); ``None``: it exports nothing.
    export_key: str | None = None

    def export_state(self) -> Any:
        """What this panel shows of the session, as JSON-able data with no secrets (the
        event log's export writes it under :attr:`export_key`)."""
        return None

    def import_state(self, data: Any) -> None:
        """Show what :meth:`export_state` wrote, in a page without a bot (``#log-import``)."""
