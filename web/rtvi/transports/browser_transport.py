"""``BrowserTransport``: what both browser transports offer alike over the page's media.

The local devices (:class:`~rtvi.transports.devices.LocalDevices`: mic, and for WebRTC camera and
screen) and the bot's media (:class:`~rtvi.transports.bot_media.BotMedia`: its element, the
speaker, the audio levels) are the same objects in both; so are the ``Transport`` methods on top
of them (device lists, switching, the levels loop of a session) and the bot tracks' end. A
transport says how a new local track reaches its pipe (:meth:`BrowserTransport._attach_track`)
and whether the bot is told (:meth:`BrowserTransport._send_track_status`).

Both accept ``audio_source``, a caller's ``MediaStreamTrack`` sent instead of opening the
microphone (:meth:`BrowserTransport.set_audio_source`; e.g. :class:`~rtvi.transports.virtual_mic.VirtualMic`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from ..events import RTVIEvent
from ..state import TransportState
from ..transport import DeviceInfo
from ._interop import js_error_text
from .bot_media import BotMedia
from .common import level_reporter, switch_speaker
from .devices import LocalDevices
from .lifecycle import S, SessionTransport
from .media import LevelTicker, enumerate_devices, permissions_granted

#: The level events: while neither is heard, no tick reaches Python.
LEVEL_EVENTS = frozenset({RTVIEvent.LOCAL_AUDIO_LEVEL, RTVIEvent.REMOTE_AUDIO_LEVEL})


class BrowserTransport(SessionTransport[S]):
    """A :class:`SessionTransport` with ``LocalDevices`` and ``BotMedia``."""

    def __init__(
        self,
        log: logging.Logger,
        *,
        kinds: Sequence[str],
        audio_element: Any = None,
        video_element: Any = None,
        audio_level_interval: float = 0.1,
        audio_source: Any = None,
    ) -> None:
        super().__init__(log, js_error_text)
        self.audio_level_interval = audio_level_interval
        self._level_ticker: LevelTicker | None = None
        self._devices = LocalDevices(
            self,
            attach=self._attach_track,
            send_status=self._send_track_status,
            watch_level=lambda track: self._media.watch_local(track),
            spawn=self._start_background,
            kinds=kinds,
            audio_source=audio_source,
        )
        self._media = BotMedia(
            audio_element=audio_element,
            video_element=video_element,
            local_mic=lambda: self._devices.track("audio"),
            spawn=self._start_background,
        )

    # --- what a transport says -------------------------------------------------------------

    async def _attach_track(self, kind: str, track: Any) -> bool:
        """Put a new local ``track`` on the current pipe; False when there is none for it."""
        return False

    def _send_track_status(self, kind: str, enabled: bool) -> None:
        """Tell the bot a local track was enabled or disabled (if the protocol says so)."""

    # --- the bot's media and the levels ----------------------------------------------------

    @property
    def audio_element(self) -> Any:
        """The ``<audio>`` element the bot plays in (created on first access if none given)."""
        return self._media.element("audio").element

    @property
    def local_audio_level(self) -> float:
        """Latest microphone level (RMS, 0..1); 0 when not measured."""
        return self._media.level("local")

    @property
    def bot_audio_level(self) -> float:
        """Latest bot audio level (RMS, 0..1) as played; 0 when not measured."""
        return self._media.level("bot")

    def set_unheard_events(self, events: frozenset[RTVIEvent]) -> None:
        """Also: while neither level event is heard, the levels stay in JS (no Python call a
        tick; ``local_audio_level``/``bot_audio_level`` still read them)."""
        super().set_unheard_events(events)
        if self._level_ticker is not None:
            self._level_ticker.hear(self._levels_heard())

    def _levels_heard(self) -> bool:
        return not self._unheard_events >= LEVEL_EVENTS

    def _opened(self, session: S) -> None:
        """Report the levels every ``audio_level_interval`` while ``session`` lives."""
        session.tasks.start(self._report_levels(session))

    async def _report_levels(self, session: S) -> None:
        """The levels from a JS timer (one Python call a tick), until the session's tasks end."""
        callbacks, media = self.callbacks, self._media
        report = level_reporter(
            media.levels,
            callbacks.on_local_audio_level,
            lambda level: callbacks.on_remote_audio_level(level, session.bot),
        )

        def tick(local: float | None, bot: float | None) -> None:
            if not session.closed:
                report(local, bot)

        ticker = media.meters().tick(self.audio_level_interval, tick, self._levels_heard())
        self._level_ticker = ticker
        try:
            await asyncio.Event().wait()  # cancelled with the session's tasks
        finally:
            ticker.stop()
            if self._level_ticker is ticker:
                self._level_ticker = None

    def _stop_bot_media(self, session: S) -> None:
        """The bot's tracks are reported stopped; the elements and meters are released."""
        for track in self._media.tracks():
            self.callbacks.on_track_stopped(track, session.bot)
        self._media.release()

    # --- devices ---------------------------------------------------------------------------

    async def init_devices(self) -> None:
        self.state = TransportState.INITIALIZING
        await self._devices.init()
        self.state = TransportState.INITIALIZED

    def _release_devices(self) -> None:
        self._devices.release()

    async def devices_granted(self) -> bool:
        """The devices to open are granted already (the Permissions API), or there are none."""
        kinds = self._devices.to_open()
        return not kinds or await permissions_granted(kinds)

    async def get_all_mics(self) -> list[DeviceInfo]:
        return await enumerate_devices("audioinput")

    async def get_all_speakers(self) -> list[DeviceInfo]:
        return await enumerate_devices("audiooutput")

    async def update_mic(self, device_id: str) -> None:
        """Send the mic ``device_id`` (replacing an audio source, if one was set)."""
        await self._devices.switch("audio", device_id)

    @property
    def audio_source(self) -> Any:
        """The caller's audio track sent instead of the microphone, or None."""
        return self._devices.audio_source

    async def set_audio_source(self, track: Any) -> None:
        """Send ``track`` (a ``MediaStreamTrack``) instead of the microphone; ``None``: the mic.

        The microphone is then never opened. The track is the mic in every other respect:
        ``enable_mic`` mutes it (``track.enabled``), ``local_audio_level`` meters it, a
        reconnect sends it again, ``tracks().local.audio`` is it. It stays the caller's: a
        disconnect does not stop it. Takes effect at once when connected.
        """
        await self._devices.set_audio_source(track)

    async def update_speaker(self, device_id: str) -> None:
        await switch_speaker(
            self._media.set_speaker,
            enumerate_devices,
            self.callbacks,
            device_id,
            type(self).__name__,
        )

    @property
    def selected_mic(self) -> DeviceInfo | None:
        return self._devices.selected("audio")

    @property
    def selected_speaker(self) -> DeviceInfo | None:
        speaker = self._media.speaker_id
        return DeviceInfo(device_id=speaker, kind="audiooutput") if speaker is not None else None

    def enable_mic(self, enable: bool) -> None:
        super().enable_mic(enable)
        self._devices.set_enabled("audio", enable)  # a muted track: the bot hears silence
