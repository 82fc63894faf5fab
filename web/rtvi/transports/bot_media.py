"""``BotMedia``: the bot's tracks as the page plays them, and the audio levels (bot and local).

Bot audio plays in an ``<audio>`` element (a hidden one is created unless one is given), bot video
only in a given ``<video>`` element; the speaker is chosen with ``setSinkId`` on that one audio
element. Levels come from one WebAudio context (``media.AudioLevels``), metered in JS. Shared by
both browser transports (a WebSocket's bot track is its player worklet's output).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from ._browser import media_stream
from .media import AudioLevels, MediaElement


class BotMedia:
    """The bot's current tracks, the elements they play in and the level meters."""

    def __init__(
        self,
        *,
        audio_element: Any = None,
        video_element: Any = None,
        local_mic: Callable[[], Any] = lambda: None,
        spawn: Callable[[Coroutine[Any, Any, None]], object] = lambda coro: None,
    ) -> None:
        self.audio_option = audio_element
        self.video_option = video_element
        self.audio: Any = None  # the bot's audio MediaStreamTrack
        self.video: Any = None
        self.speaker_id: str | None = None
        self.levels: dict[str, float] = {}  # latest level per source ("local", "bot")
        self._local_mic = local_mic
        self._spawn = spawn
        self._audio_element: MediaElement | None = None
        self._video_element: MediaElement | None = None
        self._meters: AudioLevels | None = None

    # --- elements -------------------------------------------------------------------------

    def element(self, kind: str) -> MediaElement:
        """The ``MediaElement`` bot ``"audio"`` or ``"video"`` plays in (made on first use)."""
        if kind == "audio":
            if self._audio_element is None:
                self._audio_element = MediaElement("audio", self.audio_option)
                if self.speaker_id:
                    self._spawn(self._audio_element.set_sink_id(self.speaker_id))
            return self._audio_element
        if self._video_element is None:
            self._video_element = MediaElement("video", self.video_option)
        return self._video_element

    def set_audio_element(self, element: Any) -> None:
        self.audio_option = element
        if self._audio_element is not None:
            self._audio_element.set_element(element)

    def set_video_element(self, element: Any) -> None:
        self.video_option = element
        if self._video_element is not None:
            self._video_element.set_element(element)
        elif self.video is not None:
            self.element("video").play(media_stream(self.video))

    async def set_speaker(self, device_id: str) -> None:
        """``setSinkId`` on the audio element (``NotImplementedError`` where unsupported)."""
        await self.element("audio").set_sink_id(device_id)
        self.speaker_id = device_id

    # --- tracks ---------------------------------------------------------------------------

    def play(self, track: Any) -> Any:
        """Play a new bot track; returns the track of the same kind it replaces, if any."""
        if str(track.kind) == "audio":
            previous, self.audio = self.audio, track
            self.element("audio").play(media_stream(track))
            self.meters().watch("bot", track)
        else:
            previous, self.video = self.video, track
            if self.video_option is not None:
                self.element("video").play(media_stream(track))
        return previous

    def tracks(self) -> list[Any]:
        return [track for track in (self.audio, self.video) if track is not None]

    # --- levels ---------------------------------------------------------------------------

    def meters(self) -> AudioLevels:
        """The level meters (made on first use, metering the local mic too)."""
        if self._meters is None:
            self._meters = AudioLevels()
            mic = self._local_mic()
            if mic is not None:
                self._meters.watch("local", mic)
        return self._meters

    def level(self, name: str) -> float:
        """The latest ``"local"`` or ``"bot"`` level the meters' ticker read; 0 when none."""
        value = self._meters.latest(name) if self._meters is not None else None
        return value if value is not None else 0.0

    def watch_local(self, track: Any) -> None:
        """A new local mic track: meter it, if levels are being measured."""
        if self._meters is not None:
            self._meters.watch("local", track)

    # --- teardown -------------------------------------------------------------------------

    def release(self) -> None:
        """Stop playing, remove the elements we made, close the meters; forget the tracks."""
        for element in (self._audio_element, self._video_element):
            if element is not None:
                element.release()
        self._audio_element = self._video_element = None
        if self._meters is not None:
            self._meters.close()
            self._meters = None
        self.levels.clear()
        self.audio = self.video = None
