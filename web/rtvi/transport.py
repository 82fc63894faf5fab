"""The transport interface: how RTVI messages and media travel between client and bot.

``RTVIClient`` owns protocol logic (connect flow, requests, events); a :class:`Transport`
owns the pipe (WebRTC, WebSocket, in-memory...). To write one, subclass :class:`Transport` and
implement the four abstract methods::

    class MyTransport(Transport):
        async def init_devices(self) -> None:
            self.state = TransportState.INITIALIZING
            ...                                  # enumerate/open devices if you have media
            self.state = TransportState.INITIALIZED

        async def connect(self, auth_bundle, abort) -> None:
            self.state = TransportState.CONNECTING
            ...                                  # open the pipe; honour abort.aborted
            self.state = TransportState.CONNECTED
            self.callbacks.on_connected()

        async def disconnect(self) -> None:
            if self.state == TransportState.DISCONNECTED:
                return                           # safe to call twice
            self.state = TransportState.DISCONNECTING
            ...                                  # close everything
            self.state = TransportState.DISCONNECTED
            self.callbacks.on_disconnected()

        def send_message(self, message: RTVIMessage) -> None:
            pipe.send(message.to_json())

and hand every inbound message to ``self.deliver(raw)`` (JSON text, bytes or a decoded dict; the
client validates it, ignores objects not labelled ``rtvi-ai`` and reports malformed ones).

Contract:

- ``initialize(options, message_handler)`` is called once by the client constructor.
- ``connect()`` of the client calls ``init_devices()`` (only when the state is
  ``disconnected``), sets ``authenticating``, runs the auth request, then awaits
  ``connect(auth_bundle, abort)``, then ``send_ready_message(client_ready)``. The
  default ``send_ready_message`` sends the message and sets ``ready``; override it if the
  transport must wait for something first (e.g. the bot's first track). Optionally, a
  transport that knows the moment its pipe opens sends ``client-ready`` right then, before
  ``connect()`` returns: it calls :meth:`~Transport.connected_now` once it has entered
  ``connected`` and reported it, and implements :meth:`~Transport.send_ready_now`
  (SmallWebRTC does, from the data channel's ``open`` event).
- Raise :class:`~rtvi.errors.TransportStartError` from ``connect`` when the pipe cannot be
  opened. ``abort`` fires when the user disconnects or the connect times out; stop promptly.
- Set ``self.state``: assigning a new value notifies the client (``on_transport_state_changed``).
  The transport sets every state except ``authenticating`` and ``error``. Every move must be in
  :data:`rtvi.state.TRANSITIONS`; an illegal one raises :class:`~rtvi.errors.TransportStateError`
  (and logs a warning) and leaves the state as it was.
- Report events through ``self.callbacks`` (a :class:`TransportCallbacks`): connected,
  disconnected, bot/participants, tracks, devices, audio levels, errors.
- The same transport instance must support connect → disconnect → connect again.
- Media-less transports can ignore the device methods: the defaults report no devices,
  keep mic/cam flags locally and refuse screen share with ``UnsupportedFeatureError``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .abort import AbortSignal
from .errors import TransportStateError, UnsupportedFeatureError
from .messages import MessageType, RTVIMessage
from .state import TransportState, check_transition

if TYPE_CHECKING:
    from .events import RTVIEvent
    from .http.base import HTTPAdapter
    from .params import RTVIClientParams
    from .start import StartRequest

logger = logging.getLogger("rtvi")

#: Receives every inbound message: JSON text, UTF-8 bytes or an already-decoded dict.
MessageHandler = Callable[[str | bytes | Mapping[str, Any]], None]

#: Default largest outgoing message, in bytes (the 1.x client's base default).
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024


@dataclass
class Participant:
    """A session member. ``local`` is true for this client."""

    id: str
    name: str = ""
    local: bool = False


@dataclass
class DeviceInfo:
    """A media device (the browser's ``MediaDeviceInfo``); ``raw`` keeps the original object."""

    device_id: str
    label: str = ""
    kind: str = ""
    group_id: str = ""
    raw: Any = None


@dataclass
class LocalTracks:
    audio: Any = None
    video: Any = None
    screen_audio: Any = None
    screen_video: Any = None


@dataclass
class BotTracks:
    audio: Any = None
    video: Any = None


@dataclass
class Tracks:
    """Current media tracks (browser ``MediaStreamTrack`` objects under Pyodide)."""

    local: LocalTracks = field(default_factory=LocalTracks)
    bot: BotTracks | None = None


class TransportCallbacks:
    """What a transport reports to the client. Every method is a no-op here.

    ``RTVIClient`` passes a subclass that turns each call into the user's callback and the
    matching ``RTVIEvent``; a transport used on its own can keep this no-op default.
    """

    def on_transport_state_changed(self, state: TransportState) -> None: ...

    def on_connected(self) -> None: ...

    def on_disconnected(self) -> None: ...

    def on_bot_connected(self, participant: Participant) -> None: ...

    def on_bot_disconnected(self, participant: Participant) -> None: ...

    def on_participant_joined(self, participant: Participant) -> None: ...

    def on_participant_left(self, participant: Participant) -> None: ...

    def on_track_started(self, track: Any, participant: Participant | None = None) -> None: ...

    def on_track_stopped(self, track: Any, participant: Participant | None = None) -> None: ...

    def on_screen_track_started(
        self, track: Any, participant: Participant | None = None
    ) -> None: ...

    def on_screen_track_stopped(
        self, track: Any, participant: Participant | None = None
    ) -> None: ...

    def on_screen_share_error(self, message: str) -> None: ...

    def on_local_audio_level(self, level: float) -> None: ...

    def on_remote_audio_level(self, level: float, participant: Participant) -> None: ...

    def on_available_mics_updated(self, devices: list[DeviceInfo]) -> None: ...

    def on_available_cams_updated(self, devices: list[DeviceInfo]) -> None: ...

    def on_available_speakers_updated(self, devices: list[DeviceInfo]) -> None: ...

    def on_mic_updated(self, device: DeviceInfo) -> None: ...

    def on_cam_updated(self, device: DeviceInfo) -> None: ...

    def on_speaker_updated(self, device: DeviceInfo) -> None: ...

    def on_device_error(self, error: Exception) -> None: ...

    def on_error(self, message: RTVIMessage) -> None:
        """A transport-level error as an RTVI ``error`` message ``{message, fatal}``.

        A fatal error makes the client disconnect.
        """


@dataclass
class TransportOptions:
    """What the client hands to ``Transport.initialize``.

    ``params`` is the client's live params object (read ``base_url``/``endpoints`` at connect
    time, not at initialize time); ``http`` is the client's HTTP adapter, for transports that
    need a signalling request (e.g. a WebRTC offer).
    """

    params: RTVIClientParams
    callbacks: TransportCallbacks = field(default_factory=TransportCallbacks)
    enable_mic: bool = True
    enable_cam: bool = False
    http: HTTPAdapter | None = None
    #: client-js ``enableScreenShare``: the session can share the screen (SmallWebRTC adds
    #: its screen transceiver, as with its own ``screen_share=True``).
    enable_screen_share: bool = False
    #: client-js ``disconnectOnBotDisconnect``: the session ends when the bot leaves. False
    #: keeps it up (``on_bot_disconnected`` still fires); a lost connection still ends it.
    disconnect_on_bot_disconnect: bool = True


def transport_error(text: str, fatal: bool = False) -> RTVIMessage:
    """Build the ``error`` message a transport passes to ``callbacks.on_error``."""
    return RTVIMessage(MessageType.ERROR, {"message": text, "error": text, "fatal": fatal})


class Transport(ABC):
    """Abstract base of every transport (the JS ``Transport`` class, in Python)."""

    def __init__(self) -> None:
        self._state = TransportState.DISCONNECTED
        self._options: TransportOptions | None = None
        self._message_handler: MessageHandler | None = None
        self._unheard_events: frozenset[RTVIEvent] = frozenset()
        self._callbacks = TransportCallbacks()
        self._mic_enabled = True
        self._cam_enabled = False
        #: client-js ``startBotParams``: the last ``start_bot`` request (set by the client), so
        #: a transport can reach the session it started (SmallWebRTC reuses its headers).
        self.start_bot_params: StartRequest | None = None

    #: The client's hook for the connect() in flight (:meth:`when_connected`).
    _connected_hook: Callable[[], None] | None = None

    # --- wiring -------------------------------------------------------------------------------

    def initialize(self, options: TransportOptions, message_handler: MessageHandler) -> None:
        """Called once by the client constructor. Overrides must call ``super().initialize``."""
        self._options = options
        self._message_handler = message_handler
        self._callbacks = options.callbacks
        self._mic_enabled = options.enable_mic
        self._cam_enabled = options.enable_cam

    @property
    def options(self) -> TransportOptions:
        if self._options is None:
            raise RuntimeError("transport not initialized: pass it to RTVIClient first")
        return self._options

    @property
    def callbacks(self) -> TransportCallbacks:
        return self._callbacks

    def deliver(self, raw: str | bytes | Mapping[str, Any]) -> None:
        """Hand one inbound message to the client (drops it if not initialized)."""
        if self._message_handler is not None:
            self._message_handler(raw)

    def set_unheard_events(self, events: frozenset[RTVIEvent]) -> None:
        """The client says which events no callback or handler listens to; told again whenever
        that changes. A transport may skip work only they would see: the browser transports
        then leave the audio levels in JS, the browser ``WebSocketTransport`` drops the RTVI
        messages that would fire nothing else (:func:`rtvi.routing.quiet_types`) before they
        reach Python. By default everything is delivered and reported."""
        self._unheard_events = events

    @property
    def state(self) -> TransportState:
        return self._state

    @state.setter
    def state(self, state: TransportState) -> None:
        """Move to ``state`` and notify the client; the move must be in ``state.TRANSITIONS``.

        An illegal move is logged as a warning and raises :class:`TransportStateError`; the
        state does not change.
        """
        new = TransportState(state)
        old = self._state
        if new == old:
            return
        try:
            check_transition(old, new)
        except TransportStateError as exc:
            logger.warning("%s: %s", type(self).__name__, exc.message)
            raise
        self._state = new
        self._callbacks.on_transport_state_changed(new)

    # --- lifecycle (required) -----------------------------------------------------------------

    @abstractmethod
    async def init_devices(self) -> None:
        """Acquire/enumerate media devices; states ``initializing`` → ``initialized``."""

    @abstractmethod
    async def connect(self, auth_bundle: Any, abort: AbortSignal) -> None:
        """Open the pipe using the auth bundle (the connect reply); states → ``connected``."""

    @abstractmethod
    async def disconnect(self) -> None:
        """Close everything; → ``disconnected``. Must be idempotent and safe mid-connect."""

    @abstractmethod
    def send_message(self, message: RTVIMessage) -> None:
        """Send one RTVI message as is (the client has already checked state and size)."""

    async def devices_granted(self) -> bool:
        """Whether :meth:`init_devices` will ask the user nothing (the devices it opens are
        granted already, or there are none): only then does the client send its start request
        before the devices are open (:mod:`rtvi.overlap`). Default: True (no devices)."""
        return True

    def prepare_connect(self) -> None:
        """Start preparing the next :meth:`connect` before its auth bundle is known (optional).

        The client calls it once the devices are open, as its start (connect) request is in
        flight (:mod:`rtvi.overlap`): the work runs in the background. ``connect()`` uses what
        was prepared only when the bundle asks for the same thing, else drops it and starts
        afresh. Default: nothing to prepare.
        """
        return None

    def drop_prepared(self) -> None:
        """Let go of what :meth:`prepare_connect` prepared and :meth:`connect` did not use
        (the client calls it whenever a connect ends; a no-op when there is nothing)."""
        return None

    async def send_ready_message(self, message: RTVIMessage) -> None:
        """Send ``client-ready`` and enter ``ready``."""
        self.send_message(message)
        self.state = TransportState.READY

    def when_connected(self, hook: Callable[[], None] | None) -> None:
        """Set by the client for the ``connect()`` in flight (``None``: cleared): ``hook()``
        sends ``client-ready`` (with :meth:`send_ready_now`) if the transport calls it through
        :meth:`connected_now`; otherwise the client sends it once ``connect()`` returns."""
        self._connected_hook = hook

    def connected_now(self) -> None:
        """For a transport whose pipe opens in a browser event: call this, in that event's
        handler, once ``connected`` has been entered and reported (``on_connected``,
        ``on_bot_connected``), so that ``client-ready`` goes out in the same event-loop step
        instead of after the hops back to the coroutine awaiting the opening. Once per
        connect."""
        hook, self._connected_hook = self._connected_hook, None
        if hook is not None:
            hook()

    def send_ready_now(self, message: RTVIMessage) -> bool:
        """Send ``client-ready`` and enter ``ready`` synchronously, if this transport can
        (the client's hook, :meth:`connected_now`); False if it did not, and the client sends
        it with :meth:`send_ready_message` once ``connect()`` returns (the default)."""
        return False

    # --- limits and session info --------------------------------------------------------------

    @property
    def max_message_size(self) -> int:
        """Largest outgoing message in bytes; larger sends fail with ``MessageTooLargeError``."""
        return DEFAULT_MAX_MESSAGE_SIZE

    @property
    def expiry(self) -> float | None:
        """Session expiry (epoch seconds) when the transport has one."""
        return None

    # --- devices and media (optional) ---------------------------------------------------------

    async def get_all_mics(self) -> list[DeviceInfo]:
        return []

    async def get_all_cams(self) -> list[DeviceInfo]:
        return []

    async def get_all_speakers(self) -> list[DeviceInfo]:
        return []

    async def update_mic(self, device_id: str) -> None:
        raise UnsupportedFeatureError("microphone selection", type(self).__name__)

    async def update_cam(self, device_id: str) -> None:
        raise UnsupportedFeatureError("camera selection", type(self).__name__)

    async def update_speaker(self, device_id: str) -> None:
        raise UnsupportedFeatureError("speaker selection", type(self).__name__)

    @property
    def selected_mic(self) -> DeviceInfo | None:
        return None

    @property
    def selected_cam(self) -> DeviceInfo | None:
        return None

    @property
    def selected_speaker(self) -> DeviceInfo | None:
        return None

    def enable_mic(self, enable: bool) -> None:
        self._mic_enabled = enable

    def enable_cam(self, enable: bool) -> None:
        self._cam_enabled = enable

    @property
    def is_mic_enabled(self) -> bool:
        return self._mic_enabled

    @property
    def is_cam_enabled(self) -> bool:
        return self._cam_enabled

    def enable_screen_share(self, enable: bool) -> None:
        raise UnsupportedFeatureError("screen share", type(self).__name__)

    @property
    def is_sharing_screen(self) -> bool:
        return False

    def tracks(self) -> Tracks:
        return Tracks()
