"""What ``#session-info`` shows of a session: :class:`SessionInfo` (transport, where the bot was
started, session id, the RTVI versions of client and bot, the bot's capabilities, the connect
time split), its rows, its copyable text and its export form. Pure Python, so it runs (and is
tested) in CPython too.

The split is the client's record of its last connect (``RTVIClient.connect_timings``): devices
(``init_devices``), the start request (the server's ``/connect`` or a start endpoint), the
transport (WebRTC: the offer, ICE and the data channel; WebSocket: the socket opening) and the
wait for ``bot-ready``. Nothing here may hold a secret: no headers, no request body, URLs
without query or user info.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from rtvi.timings import ConnectTimings

from .model import format_ms
from .start_endpoint import public_url

#: The split's phases in order, and their names on the page (the transport's depends on it).
PHASES = ("init", "auth", "transport", "ready")
_PHASE_LABELS = {"init": "devices", "auth": "start request", "ready": "bot-ready"}
_TRANSPORT_PHASE = {"webrtc": "offer + ICE", "websocket": "socket open"}
_TRANSPORT_NAMES = {"webrtc": "WebRTC (SmallWebRTC)", "websocket": "WebSocket"}


def phase_label(phase: str, transport: str) -> str:
    """A phase of the split as the page names it."""
    if phase == "transport":
        return _TRANSPORT_PHASE.get(transport, "transport")
    return _PHASE_LABELS.get(phase, phase)


def session_id_of(start_reply: Any, transport_session_id: Any, pc_id: Any) -> str | None:
    """The session's id: the start reply's ``sessionId``, else the one the transport connected
    to (the server's connect reply), else the WebRTC peer connection's ``pc_id``."""
    if isinstance(start_reply, Mapping):
        for key in ("sessionId", "session_id"):
            if start_reply.get(key):
                return str(start_reply[key])
    for value in (transport_session_id, pc_id):
        if value:
            return str(value)
    return None


def _library(about: Any) -> str | None:
    if not isinstance(about, Mapping) or not about.get("library"):
        return None
    version = about.get("library_version")
    return f"{about['library']} {version}" if version else str(about["library"])


@dataclass(frozen=True)
class SessionInfo:
    """One session as ``#session-info`` shows it (and the session export carries it)."""

    #: ``webrtc`` | ``websocket``
    transport: str
    #: ``server`` (the page's server and its bot) | ``start`` (a start endpoint)
    mode: str
    #: The server URL or the start URL, without query or user info.
    endpoint: str
    session_id: str | None = None
    client_protocol: str = ""
    client_library: str = ""
    bot_protocol: str | None = None
    bot_library: str | None = None
    #: RTVI 2.2 ``bot-ready`` capabilities; empty when the bot reports none.
    capabilities: dict[str, bool] = field(default_factory=dict)
    #: Each finished phase's milliseconds (:data:`PHASES`).
    split_ms: dict[str, float] = field(default_factory=dict)
    total_ms: float | None = None

    @classmethod
    def gather(
        cls,
        *,
        transport: str,
        mode: str,
        endpoint: str,
        session_id: str | None,
        client_protocol: str,
        client_library: str,
        bot_ready: Any,
        timings: ConnectTimings | None,
    ) -> SessionInfo:
        """The facts the page has now (``bot_ready``: the ``bot-ready`` data, or ``None``)."""
        ready = bot_ready if isinstance(bot_ready, Mapping) else {}
        capabilities = ready.get("capabilities")
        return cls(
            transport=transport,
            mode=mode,
            endpoint=public_url(endpoint) if endpoint else "",
            session_id=session_id,
            client_protocol=client_protocol,
            client_library=client_library,
            bot_protocol=str(ready["version"]) if ready.get("version") else None,
            bot_library=_library(ready.get("about")),
            capabilities=_capabilities(capabilities),
            split_ms=timings.split_ms() if timings is not None else {},
            total_ms=timings.total_ms if timings is not None else None,
        )

    # --- what the page shows ------------------------------------------------------------------

    def split_text(self) -> str:
        """``devices 3 ms · start request 41 ms · offer + ICE 380 ms · bot-ready 52 ms = 476 ms``."""
        parts = [
            f"{phase_label(phase, self.transport)} {_ms(self.split_ms[phase])}"
            for phase in PHASES
            if phase in self.split_ms
        ]
        if not parts:
            return "–"
        total = f" = {_ms(self.total_ms)}" if self.total_ms is not None else " …"
        return " · ".join(parts) + total

    def capabilities_text(self) -> str:
        if not self.capabilities:
            return "not reported (RTVI < 2.2)" if self.bot_protocol else "–"
        has = [name for name, on in self.capabilities.items() if on]
        lacks = [name for name, on in self.capabilities.items() if not on]
        text = ", ".join(has) or "none"
        return f"{text} (not: {', '.join(lacks)})" if lacks else text

    def rows(self) -> list[tuple[str, str, str]]:
        """``(key, label, text)`` per line; ``key`` is the row's ``data-info`` (tests use it)."""
        where = "this server's bot" if self.mode == "server" else "start endpoint"
        client = f"RTVI {self.client_protocol}" + (
            f" ({self.client_library})" if self.client_library else ""
        )
        bot = f"RTVI {self.bot_protocol}" if self.bot_protocol else "–"
        if self.bot_library:
            bot += f" ({self.bot_library})"
        return [
            ("transport", "Transport", _TRANSPORT_NAMES.get(self.transport, self.transport)),
            ("bot", "Bot", f"{where}: {self.endpoint}" if self.endpoint else where),
            ("session-id", "Session id", self.session_id or "–"),
            ("client-version", "Client", client),
            ("bot-version", "Bot version", bot),
            ("capabilities", "Capabilities", self.capabilities_text()),
            ("connect-split", "Connect split", self.split_text()),
        ]

    def text(self) -> str:
        """What the copy button copies: one ``Label: text`` line per row."""
        return "\n".join(f"{label}: {text}" for _key, label, text in self.rows())

    # --- export / import ----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> SessionInfo:
        """A session's info as :meth:`to_json` wrote it; ``ValueError`` when it is not one."""
        if not isinstance(data, Mapping) or not isinstance(data.get("transport"), str):
            raise ValueError("not a session info object")

        def text(key: str) -> str | None:
            value = data.get(key)
            return str(value) if value is not None else None

        def numbers(key: str) -> dict[str, float]:
            value = data.get(key)
            if not isinstance(value, Mapping):
                return {}
            return {str(k): float(v) for k, v in value.items() if _is_number(v)}

        capabilities = data.get("capabilities")
        total: Any = data.get("total_ms")
        return cls(
            transport=str(data["transport"]),
            mode=str(data.get("mode") or "server"),
            endpoint=public_url(str(data.get("endpoint") or "")) if data.get("endpoint") else "",
            session_id=text("session_id"),
            client_protocol=str(data.get("client_protocol") or ""),
            client_library=str(data.get("client_library") or ""),
            bot_protocol=text("bot_protocol"),
            bot_library=text("bot_library"),
            capabilities=_capabilities(capabilities),
            split_ms=numbers("split_ms"),
            total_ms=float(total) if _is_number(total) else None,
        )


def _capabilities(value: Any) -> dict[str, bool]:
    """The capabilities a bot states (``None``: it does not say, so not listed)."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, bool)}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ms(value: float | None) -> str:
    return "–" if value is None else format_ms(value)
