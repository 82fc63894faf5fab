"""Local and bot media in the browser: devices, tracks, the bot's audio element, audio levels.

Audio never passes through Python: tracks go from ``getUserMedia`` to the peer connection, the
bot's track goes to an ``<audio>`` element, and levels are computed in JS (a WebAudio
``AnalyserNode`` read by a small JS function). A JS timer reads every meter and hands the levels
to Python in one call per tick (:class:`LevelTicker`), so Python runs no timer of its own for
them. Runs only under Pyodide (see ``_browser``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ..transport import DeviceInfo
from ._browser import AudioContext, js_function, media_stream
from ._interop import (
    PROXIES,
    Listeners,
    js_error_text,
    js_global,
    js_value,
    to_js_object,
    to_py,
)
from .common import ListDevices

logger = logging.getLogger("rtvi.transports.webrtc")

#: JS body of a factory ``(analyser) => () => rms``: the samples stay in JS.
_RMS_READER = """
const buf = new Float32Array(analyser.fftSize);
return () => {
  analyser.getFloatTimeDomainData(buf);
  let sum = 0;
  for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
  return Math.sqrt(sum / buf.length);
};
"""

#: JS body of ``(readers, latest, intervalMs, heard, onLevels)``: at once and then every
#: ``intervalMs``, each reader (``readers.local``, ``readers.bot``: a ``_RMS_READER`` function, or
#: unset) is read in JS, a measured level kept in ``latest``, and, while heard, both go to Python
#: in one call, ``onLevels(local, bot)`` (``undefined``: not measured). Returns its controls.
_LEVEL_TICKER = """
const tick = () => {
  const local = readers.local ? readers.local() : undefined;
  const bot = readers.bot ? readers.bot() : undefined;
  if (local !== undefined) latest.local = local;
  if (bot !== undefined) latest.bot = bot;
  if (heard) onLevels(local, bot);
};
tick();
const timer = setInterval(tick, intervalMs);
return { stop() { clearInterval(timer); }, hear(value) { heard = !!value; } };
"""


#: Fire-and-forget browser calls (resume/close an AudioContext), referenced until done.
_pending: set[asyncio.Task[None]] = set()


def _spawn(coro: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(coro)
    _pending.add(task)
    task.add_done_callback(_pending.discard)


def device_info(info: Any) -> DeviceInfo:
    data = to_py(info.toJSON()) or {}
    return DeviceInfo(
        device_id=str(data.get("deviceId", "")),
        label=str(data.get("label", "")),
        kind=str(data.get("kind", "")),
        group_id=str(data.get("groupId", "")),
        raw=info,
    )


def media_devices() -> Any:
    """``navigator.mediaDevices`` (absent outside a secure context)."""
    devices = js_value(js_global().navigator.mediaDevices)
    if devices is None:
        raise RuntimeError("navigator.mediaDevices is unavailable (page not in a secure context?)")
    return devices


#: A local track's kind → its Permissions API name.
PERMISSION_NAMES = {"audio": "microphone", "video": "camera"}


async def permissions_granted(kinds: list[str]) -> bool:
    """Whether the browser has granted every device of ``kinds`` already (the Permissions
    API says ``granted``: opening them asks the user nothing). False when it cannot tell."""
    try:
        permissions = js_value(js_global().navigator.permissions)
        if permissions is None:
            return not kinds
        for kind in kinds:
            status = await permissions.query(to_js_object({"name": PERMISSION_NAMES[kind]}))
            if str(status.state) != "granted":
                return False
    except Exception as exc:  # e.g. a browser that does not know the name
        logger.debug("permissions.query failed: %s", js_error_text(exc))
        return False
    return True


async def enumerate_devices(kind: str) -> list[DeviceInfo]:
    """Devices of one kind: ``audioinput``, ``videoinput`` or ``audiooutput``."""
    infos = await media_devices().enumerateDevices()
    return [device_info(info) for info in infos if str(info.kind) == kind]


def device_lister() -> ListDevices:
    """Like :func:`enumerate_devices`, but every kind from one ``enumerateDevices()`` call
    (made on the first ask): the lists of one report cost the browser one query, not three."""
    every: list[DeviceInfo] | None = None

    async def list_devices(kind: str) -> list[DeviceInfo]:
        nonlocal every
        if every is None:
            every = [device_info(info) for info in await media_devices().enumerateDevices()]
        return [device for device in every if device.kind == kind]

    return list_devices


async def get_user_media_track(kind: str, device_id: str | None = None) -> Any:
    """One new local track (``"audio"`` or ``"video"``), optionally from a given device."""
    constraint: Any = {"deviceId": {"exact": device_id}} if device_id else True
    stream = await media_devices().getUserMedia(to_js_object({kind: constraint}))
    tracks = stream.getAudioTracks() if kind == "audio" else stream.getVideoTracks()
    if not tracks.length:
        raise RuntimeError(f"getUserMedia returned no {kind} track")
    return tracks[0]


async def get_display_media_track() -> Any:
    """A new screen capture track (``getDisplayMedia``; the browser asks what to share)."""
    devices = media_devices()
    if js_value(getattr(devices, "getDisplayMedia", None)) is None:
        raise RuntimeError("this browser has no getDisplayMedia (screen capture)")
    stream = await devices.getDisplayMedia(to_js_object({"video": True, "audio": False}))
    tracks = stream.getVideoTracks()
    if not tracks.length:
        raise RuntimeError("getDisplayMedia returned no video track")
    return tracks[0]


def track_device_id(track: Any) -> str | None:
    if track is None:
        return None
    settings = to_py(track.getSettings()) or {}
    device_id = settings.get("deviceId")
    return str(device_id) if device_id else None


def same_track(track: Any, *others: Any) -> bool:
    """Whether ``track`` is one of ``others`` (two proxies of one JS track compare by ``id``)."""
    return any(
        other is not None and (other is track or str(other.id) == str(track.id)) for other in others
    )


class LocalMedia:
    """The microphone and camera tracks, acquired only for what is enabled, and the screen.

    ``audio_source``: a caller's audio ``MediaStreamTrack`` used as the mic instead of opening
    one (``None``: the microphone). It belongs to the caller: it is never stopped here.
    """

    def __init__(self, audio_source: Any = None) -> None:
        self.mic: Any = None
        self.cam: Any = None
        self.screen: Any = None  # a getDisplayMedia video track while sharing
        self.audio_source: Any = audio_source

    @property
    def active(self) -> bool:
        return self.mic is not None or self.cam is not None

    async def acquire(self, kind: str, device_id: str | None = None) -> Any:
        """Open a new mic/cam track, replacing (and stopping) the current one.

        The mic is the ``audio_source`` when there is one and no ``device_id`` is asked for.
        """
        if kind == "audio" and device_id is None and self.audio_source is not None:
            track = self.audio_source
        else:
            track = await get_user_media_track(kind, device_id)
        old = self.mic if kind == "audio" else self.cam
        if kind == "audio":
            self.mic = track
        else:
            self.cam = track
        self._stop(old, keep=track)
        return track

    def _stop(self, track: Any, keep: Any = None) -> None:
        """Stop a track we opened (never the caller's ``audio_source``, nor ``keep``)."""
        if track is not None and not same_track(track, keep, self.audio_source):
            track.stop()

    def track(self, kind: str) -> Any:
        """``"audio"`` (mic), ``"video"`` (camera) or ``"screen"``."""
        return {"audio": self.mic, "video": self.cam, "screen": self.screen}[kind]

    def set_enabled(self, kind: str, enabled: bool) -> None:
        track = self.track(kind)
        if track is not None:
            track.enabled = enabled

    def release(self) -> None:
        for track in (self.mic, self.cam, self.screen):
            self._stop(track)
        self.mic = self.cam = self.screen = None


class DeviceWatcher:
    """``devicechange`` on ``navigator.mediaDevices`` → a callback (debounced)."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self._listeners = Listeners()

    @property
    def watching(self) -> bool:
        return len(self._listeners) > 0

    def start(self) -> None:
        if not self.watching:
            self._listeners.add(media_devices(), "devicechange", lambda _event: self._on_change())

    def stop(self) -> None:
        self._listeners.clear()


class MediaElement:
    """An ``<audio>``/``<video>`` element playing a remote track.

    ``element`` may be an element, a CSS selector, or ``None``: then a hidden element is
    created in ``document.body`` on first use and removed by :meth:`release`.
    """

    def __init__(self, tag: str, element: Any = None) -> None:
        self.tag = tag
        self._given = element
        self._element: Any = None
        self._owned = False
        self._play: asyncio.Task[None] | None = None

    @property
    def element(self) -> Any:
        """The element (created or looked up on first access)."""
        if self._element is None:
            document = js_global().document
            given = self._given
            if isinstance(given, str):
                given = js_value(document.querySelector(given))
                if given is None:
                    raise ValueError(f"no element matches {self._given!r}")
            if given is None:
                given = document.createElement(self.tag)
                given.hidden = True
                given.dataset.pyrtvi = f"bot-{self.tag}"
                document.body.appendChild(given)
                self._owned = True
            given.autoplay = True
            given.setAttribute("playsinline", "")
            self._element = given
        return self._element

    def set_element(self, element: Any) -> None:
        """Use another element from now on (the current stream moves to it)."""
        stream = js_value(self._element.srcObject) if self._element is not None else None
        self.release()
        self._given = element
        if stream is not None:
            self.play(stream)

    def play(self, stream: Any) -> None:
        element = self.element
        element.srcObject = stream
        # An explicit play(): autoplay alone is not enough on Safari/iOS once the user gesture
        # has passed (pipecat-client-web PR #254). A rejection is reported, never raised.
        if self._play is not None:
            self._play.cancel()
        self._play = asyncio.ensure_future(self._start(element))

    async def _start(self, element: Any) -> None:
        try:
            await element.play()
        except Exception as exc:
            if js_value(element.srcObject) is not None:
                logger.warning("bot %s did not start playing: %s", self.tag, js_error_text(exc))

    async def set_sink_id(self, device_id: str) -> None:
        element = self.element
        if not hasattr(element, "setSinkId"):
            raise NotImplementedError("this browser cannot choose the audio output (no setSinkId)")
        await element.setSinkId(device_id)

    @property
    def sink_id(self) -> str:
        element = self._element
        return str(getattr(element, "sinkId", "") or "") if element is not None else ""

    def detach(self) -> None:
        if self._play is not None:
            self._play.cancel()
            self._play = None
        if self._element is not None:
            self._element.srcObject = None

    def release(self) -> None:
        """Stop playing; remove the element if we created it."""
        self.detach()
        if self._element is not None and self._owned:
            self._element.remove()
        self._element = None
        self._owned = False


class AudioLevelMeter:
    """RMS level (0..1) of one audio track, computed in JS by an ``AnalyserNode``."""

    def __init__(self, context: AudioContext, track: Any) -> None:
        self.track = track
        self._source = context.createMediaStreamSource(media_stream(track))
        analyser = context.createAnalyser()
        analyser.fftSize = 1024
        # Analyser only: never connected to the destination, so nothing is played twice.
        self._source.connect(analyser)
        #: The JS function ``() => rms`` (read by Python here, or by a :class:`LevelTicker`).
        self.reader = js_function("analyser", _RMS_READER)(analyser.js)

    def level(self) -> float:
        return float(self.reader())

    def close(self) -> None:
        try:
            self._source.disconnect()
        except Exception:
            logger.debug("audio source disconnect failed", exc_info=True)


class LevelTicker:
    """A JS timer reading the levels at once and every ``interval`` s; while ``heard``, it
    calls ``on_levels(local, bot)`` (``None``: not measured), until :meth:`stop`."""

    def __init__(
        self,
        readers: Any,
        latest: Any,
        interval: float,
        on_levels: Callable[[Any, Any], None],
        heard: bool = True,
    ) -> None:
        self._proxy = PROXIES.create(on_levels)
        start = js_function("readers", "latest", "intervalMs", "heard", "onLevels", _LEVEL_TICKER)
        self._js: Any = start(readers, latest, interval * 1000, heard, self._proxy)

    def hear(self, heard: bool) -> None:
        """Whether the ticks reach Python (they are read in JS either way)."""
        if self._js is not None:
            self._js.hear(heard)

    def stop(self) -> None:
        """Stop the timer and release the Python callback (idempotent)."""
        js, self._js = self._js, None
        if js is not None:
            js.stop()
            PROXIES.destroy(self._proxy)


class AudioLevels:
    """One ``AudioContext`` with a meter per named source (``"local"``, ``"bot"``)."""

    def __init__(self) -> None:
        self._context: AudioContext | None = None
        self._meters: dict[str, AudioLevelMeter] = {}
        self._readers: Any = to_js_object({})  # each meter's JS reader by name, for the tickers
        self._latest: Any = to_js_object({})  # the tickers' last measured level by name
        self._tickers: list[LevelTicker] = []

    def watch(self, name: str, track: Any) -> None:
        """Measure ``track`` under ``name`` (replacing the previous track); None stops it."""
        meter = self._meters.pop(name, None)
        if meter is not None:
            meter.close()
            setattr(self._readers, name, None)
        if track is None:
            return
        if self._context is None:
            self._context = AudioContext()
        if self._context.state == "suspended":
            _spawn(self._resume(self._context))
        meter = self._meters[name] = AudioLevelMeter(self._context, track)
        setattr(self._readers, name, meter.reader)

    def tick(
        self, interval: float, on_levels: Callable[[Any, Any], None], heard: bool = True
    ) -> LevelTicker:
        """Read the ``"local"`` and ``"bot"`` levels now and every ``interval`` s from a JS timer
        (kept for :meth:`latest`) and, while ``heard``, hand them to ``on_levels(local, bot)``;
        stopped by the ticker's ``stop()`` or :meth:`close`."""
        ticker = LevelTicker(self._readers, self._latest, interval, on_levels, heard)
        self._tickers.append(ticker)
        return ticker

    def latest(self, name: str) -> float | None:
        """The level a ticker last measured for ``name`` (``None``: none yet)."""
        value = js_value(getattr(self._latest, name, None))
        return float(value) if value is not None else None

    @staticmethod
    async def _resume(context: AudioContext) -> None:
        try:
            await context.resume()
        except Exception as exc:
            logger.debug("AudioContext.resume failed: %s", js_error_text(exc))

    def level(self, name: str) -> float | None:
        meter = self._meters.get(name)
        return meter.level() if meter is not None else None

    def close(self) -> None:
        for ticker in self._tickers:
            ticker.stop()
        self._tickers.clear()
        for name, meter in self._meters.items():
            meter.close()
            setattr(self._readers, name, None)
        self._meters.clear()
        if self._context is not None:
            context, self._context = self._context, None
            _spawn(self._close_context(context))

    @staticmethod
    async def _close_context(context: AudioContext) -> None:
        try:
            await context.close()
        except Exception:
            logger.debug("AudioContext.close failed", exc_info=True)
