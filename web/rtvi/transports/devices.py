"""``LocalDevices``: this side's microphone, camera and screen, and the device lists.

A device is opened only when it is enabled (complaint #9/#15: a disabled mic is never opened);
switching opens the new one and stops the old; the lists are reported again on ``devicechange``.
The screen is shared with ``getDisplayMedia``, one start/stop at a time. What to do with a new
track on the current connection (``replaceTrack`` and ``trackStatus`` for WebRTC, the capture
worklet for WebSocket) is the host's business: see :class:`DeviceHost`. Shared by both browser
transports; a WebSocket has only the mic (``kinds=("audio",)``).

The mic may be a caller's track instead of a device (:meth:`LocalDevices.set_audio_source`: a
virtual microphone, a file, a processed stream): it is sent, muted, metered and carried over
reconnects as the mic is, and never stopped here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol

from ..errors import DeviceError
from ..media_state import make_device_error
from ..state import TransportState
from ..transport import DeviceInfo, Participant, TransportCallbacks
from ._interop import Listeners, js_error_text
from .common import report_device_lists
from .media import (
    DeviceWatcher,
    LocalMedia,
    device_lister,
    get_display_media_track,
    same_track,
    track_device_id,
)

logger = logging.getLogger("rtvi.transports")

#: The local participant, as reported with local tracks.
LOCAL = Participant(id="local", name="local", local=True)

_INPUT_KIND = {"audio": "audioinput", "video": "videoinput"}


#: A local track's kind → the client-js device name (``DeviceError.devices``).
_DEVICE = {"audio": "mic", "video": "cam", "screen": "cam"}


def device_error(kind: str, exc: BaseException) -> DeviceError:
    """The :class:`~rtvi.errors.DeviceError` for a failure to open the ``kind`` device (the
    browser's error name gives its type: ``NotAllowedError`` is ``permissions``...)."""
    if isinstance(exc, DeviceError):
        return exc
    js_error = getattr(exc, "js_error", None)
    name = str(getattr(js_error, "name", "") or "") if js_error is not None else ""
    return make_device_error([_DEVICE.get(kind, kind)], name, js_error_text(exc))


async def _not_attached(kind: str, track: Any) -> bool:
    return False


class DeviceHost(Protocol):
    """What :class:`LocalDevices` reads of its transport (a ``Transport`` is one)."""

    @property
    def callbacks(self) -> TransportCallbacks: ...

    @property
    def state(self) -> TransportState: ...

    @property
    def is_mic_enabled(self) -> bool: ...

    @property
    def is_cam_enabled(self) -> bool: ...


class LocalDevices:
    """The local tracks (``media.LocalMedia``) and the ``devicechange`` watch of one transport.

    ``attach(kind, track)`` puts a track on the current connection (False when there is none or
    it has no such sender), ``send_status(kind, enabled)`` sends ``trackStatus``,
    ``watch_level(track)`` meters a new mic, ``spawn(coro)`` runs a background task;
    ``kinds``: the local devices the transport carries (``"audio"``, ``"video"``).
    """

    def __init__(
        self,
        host: DeviceHost,
        *,
        attach: Callable[[str, Any], Awaitable[bool]] = _not_attached,
        send_status: Callable[[str, bool], None] = lambda kind, enabled: None,
        watch_level: Callable[[Any], None],
        spawn: Callable[[Coroutine[Any, Any, None]], object],
        kinds: Sequence[str] = ("audio", "video"),
        audio_source: Any = None,
    ) -> None:
        self.host = host
        self._audio_source = audio_source
        self.kinds = tuple(kinds)
        self._attach = attach
        self._send_status = send_status
        self._watch_level = watch_level
        self._spawn = spawn
        self.local: LocalMedia | None = None
        self._watcher: DeviceWatcher | None = None
        self._screen_listeners = Listeners()  # on the shared screen track ("ended")
        self._screen_lock = asyncio.Lock()  # one start/stop at a time

    def track(self, kind: str) -> Any:
        """The local ``"audio"``, ``"video"`` or ``"screen"`` track, or None."""
        return self.local.track(kind) if self.local is not None else None

    @property
    def sharing_screen(self) -> bool:
        return self.track("screen") is not None

    def _media(self) -> LocalMedia:
        if self.local is None:
            self.local = LocalMedia(self._audio_source)
        return self.local

    @property
    def audio_source(self) -> Any:
        """The caller's track sent as the mic, or None (the microphone)."""
        return self._audio_source

    async def set_audio_source(self, track: Any) -> None:
        """Send ``track`` as the mic from now on (``None``: back to the microphone).

        Before ``init`` it is only remembered; afterwards the current mic is replaced at once
        (on the connection too) when the mic is open or enabled.
        """
        opened = self._replace_source(track)
        if opened or (self.local is not None and self._enabled("audio")):
            await self.acquire("audio")

    def _replace_source(self, track: Any) -> bool:
        """Remember a new source; True if a mic was open (the old source is not stopped)."""
        self._audio_source = track
        local = self.local
        if local is None:
            return False
        opened = local.mic is not None
        if local.mic is not None and same_track(local.mic, local.audio_source):
            local.mic = None  # the caller's old track: left running, only no longer sent
        local.audio_source = track
        return opened

    # --- opening --------------------------------------------------------------------------

    async def init(self) -> None:
        """Open what is enabled (and not open yet), watch for changes, report the lists.

        The lists are reported from a background task, as client-js does: a connect does not
        wait for ``enumerateDevices`` (the ``available_*_updated`` callbacks follow shortly).
        """
        local = self._media()
        for kind in self.kinds:
            if self._enabled(kind) and local.track(kind) is None:
                await self.acquire(kind)
        if self._watcher is None:
            self._watcher = DeviceWatcher(self._on_device_change)
        self._watcher.start()
        self._spawn(self.report_lists())

    def to_open(self) -> list[str]:
        """The devices :meth:`init` would open now (enabled, not open, not a caller's track)."""
        local = self.local
        return [
            kind
            for kind in self.kinds
            if self._enabled(kind)
            and (local is None or local.track(kind) is None)
            and not (kind == "audio" and self._audio_source is not None)
        ]

    async def acquire(self, kind: str, device_id: str | None = None) -> Any:
        """Open the mic/cam (honouring its enabled flag); device errors are reported."""
        callbacks = self.host.callbacks
        try:
            track = await self._media().acquire(kind, device_id)
        except Exception as exc:
            logger.warning("cannot open the %s device: %s", kind, js_error_text(exc))
            error = device_error(kind, exc)
            callbacks.on_device_error(error)
            raise error from exc
        track.enabled = self._enabled(kind)
        await self._attach(kind, track)
        if kind == "audio":
            self._watch_level(track)
        callbacks.on_track_started(track, LOCAL)
        return track

    def _enabled(self, kind: str) -> bool:
        return self.host.is_mic_enabled if kind == "audio" else self.host.is_cam_enabled

    async def switch(self, kind: str, device_id: str) -> None:
        """``update_mic`` / ``update_cam``: a new track from ``device_id``.

        A device chosen for the mic replaces the audio source (see :meth:`set_audio_source`).
        """
        if kind == "audio" and self._audio_source is not None:
            self._replace_source(None)
        await self.acquire(kind, device_id)
        device = self.selected(kind) or DeviceInfo(device_id=device_id)
        if kind == "audio":
            self.host.callbacks.on_mic_updated(device)
        else:
            self.host.callbacks.on_cam_updated(device)

    def selected(self, kind: str) -> DeviceInfo | None:
        track = self.track(kind)
        device_id = track_device_id(track)
        if track is None or device_id is None:
            return None
        return DeviceInfo(device_id=device_id, label=str(track.label), kind=_INPUT_KIND[kind])

    def set_enabled(self, kind: str, enabled: bool) -> None:
        """``enable_mic`` / ``enable_cam``: ``track.enabled``, or open it now if never opened."""
        if self.local is None:
            return
        if self.local.track(kind) is None:
            if enabled and self.host.state not in (
                TransportState.DISCONNECTED,
                TransportState.DISCONNECTING,
            ):
                # Enabled later than init_devices: open the device now.
                self._spawn(self._acquire_quietly(kind))
        else:
            self.local.set_enabled(kind, enabled)
        self._send_status(kind, enabled)

    async def _acquire_quietly(self, kind: str) -> None:
        with contextlib.suppress(Exception):
            await self.acquire(kind)

    # --- screen ---------------------------------------------------------------------------

    async def share_screen(self) -> None:
        async with self._screen_lock:
            if self.sharing_screen:
                return
            try:
                track = await get_display_media_track()
            except Exception as exc:
                text = js_error_text(exc)
                logger.warning("screen share failed: %s", text)
                self.host.callbacks.on_screen_share_error(text)
                return
            self._media().screen = track
            # The person pressed the browser's own "Stop sharing".
            self._screen_listeners.add(track, "ended", lambda _e: self._spawn(self.stop_screen()))
            await self._send_screen(track, True)
        self.host.callbacks.on_screen_track_started(track, LOCAL)

    async def stop_screen(self) -> None:
        async with self._screen_lock:
            track = self.track("screen")
            if self.local is None or track is None:
                return
            self.local.screen = None
            self._screen_listeners.clear()
            track.stop()
            await self._send_screen(None, False)
        self.host.callbacks.on_screen_track_stopped(track, LOCAL)

    async def _send_screen(self, track: Any, enabled: bool) -> None:
        if await self._attach("screen", track):
            self._send_status("screen", enabled)

    # --- lists ----------------------------------------------------------------------------

    def _on_device_change(self) -> None:
        self._spawn(self.report_lists())

    async def report_lists(self) -> None:
        await report_device_lists(
            device_lister(),
            self.host.callbacks,
            (*(_INPUT_KIND[kind] for kind in self.kinds), "audiooutput"),
            js_error_text,
        )

    # --- teardown -------------------------------------------------------------------------

    def release(self) -> None:
        """Stop watching and stop every local track (reported as stopped)."""
        if self._watcher is not None:
            self._watcher.stop()
        self._screen_listeners.clear()
        local = self.local
        if local is None:
            return
        callbacks = self.host.callbacks
        for track in (local.mic, local.cam):
            if track is not None:
                callbacks.on_track_stopped(track, LOCAL)
        if local.screen is not None:
            callbacks.on_screen_track_stopped(local.screen, LOCAL)
        local.release()
