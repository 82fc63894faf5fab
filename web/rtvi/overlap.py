"""Which steps of a ``connect()`` may overlap: pure rules (no browser, no I/O).

client-js runs a connect in sequence: open the devices, then send the start (connect) request,
then build the peer connection and its offer, then send the offer. Only the first step's
*result* is needed late (the local tracks go on the connection before the offer is sent), and
the peer connection needs nothing from the start reply but its ICE servers, so pyrtvi overlaps:

- the start request is sent while the devices open (:attr:`ConnectPlan.request_with_devices`),
  when the request is one pyrtvi makes itself (``start_bot`` or the 0.x connect POST) and the
  browser will ask the user nothing (:func:`send_before_devices`: the devices to open are
  granted already, by the Permissions API; a returning user's usual case). A first visit's
  prompt may take seconds or be refused: then the request waits for the devices, as before,
  and a refused microphone asks nothing of the server. A
  ``custom_connect_handler`` is the caller's code: it still runs once the devices are open, as
  before. If the devices fail, the request is aborted and ``connect()`` raises the
  :class:`~rtvi.errors.DeviceError` as before; a session the request had already started is
  left unused (a runner starts no bot before the offer; a service that starts one at
  ``/start`` sees a session that never connects and ends it when its own timeout runs out);
- the transport prepares its connection once the devices are open, while the request is in
  flight (:attr:`ConnectPlan.prepare_transport`; SmallWebRTC: the peer connection, its
  transceivers and data channel with the local tracks on, and the offer). Not earlier: in a
  Pyodide page Python runs on the main thread, and building it while ``getUserMedia`` is
  pending delayed the mic's answer by as much as it saved (docs/benchmarks.md, issue 23
  item 6). What it prepared is used only when the bundle asks for the same connection
  (:func:`rtvi.transports.small_webrtc.signalling.reusable`: e.g. not when the start reply
  brings ICE servers the prepared connection did not use); else it is dropped and a fresh one
  is built, as before.

The events and transport states a caller sees keep their order (``initializing`` →
``initialized`` → ``authenticating`` → ``connecting``...; ``on_bot_started`` after
``authenticating``): only the network request goes out sooner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .abort import AbortSignal


class AuthKind(Enum):
    """What stands between the devices and the transport in one ``connect()``."""

    #: Nothing to wait for: ``connect(transport_params)`` or the transport's own URL.
    NONE = "none"
    #: A request pyrtvi sends itself: ``start_bot``'s POST or the 0.x connect POST.
    REQUEST = "request"
    #: The caller's ``custom_connect_handler``.
    CUSTOM = "custom"


@dataclass(frozen=True)
class ConnectPlan:
    """What a ``connect()`` overlaps."""

    #: The request may go out while the devices open (instead of after), if
    #: :func:`send_before_devices` agrees once the transport has said whether they are granted.
    request_with_devices: bool
    #: Let the transport prepare its connection (once the devices are open) while the auth
    #: step runs.
    prepare_transport: bool


def plan_connect(*, devices_pending: bool, auth: AuthKind) -> ConnectPlan:
    """The overlap of one ``connect()``: ``devices_pending`` when it opens the devices first
    (the transport is ``disconnected``), ``auth`` what comes between them and the transport."""
    return ConnectPlan(
        request_with_devices=devices_pending and auth is AuthKind.REQUEST,
        prepare_transport=auth is not AuthKind.NONE,
    )


def send_before_devices(granted: bool) -> bool:
    """Whether the request goes out before the devices are open: only when opening them asks
    the user nothing (``granted``: ``Transport.devices_granted()``). Otherwise a permission
    prompt could hold a started session for seconds, or be refused after the bot was started."""
    return granted


def _as_is(reply: Any) -> Any:
    return reply


@dataclass(frozen=True)
class AuthStep:
    """The step of a ``connect()`` between the devices and the transport, in two parts:
    ``send`` (the network part: it may start while the devices open) and ``finish`` (what the
    client does with the reply, in order, once the transport is ``authenticating``: e.g.
    ``on_bot_started``); ``finish`` returns the transport's auth bundle."""

    kind: AuthKind
    send: Callable[[AbortSignal], Awaitable[Any]]
    finish: Callable[[Any], Any] = _as_is
