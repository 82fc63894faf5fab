"""The client's :class:`~rtvi.transport.TransportCallbacks`: transport reports → user callbacks.

Device reports also move ``media_state`` (:mod:`rtvi.media_state`): a local track started or a
device selected is ``granted``, a :class:`~rtvi.errors.DeviceError` is ``error``. Every callback name is the constructor callback of the same name (``on_track_started`` →
``on_track_started`` and ``RTVIEvent.TRACK_STARTED``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .media_state import TRACK_DEVICE, MediaStateTracker
from .messages import RTVIMessage
from .state import TransportState
from .transport import DeviceInfo, Participant, TransportCallbacks


class ClientTransportCallbacks(TransportCallbacks):
    """Each transport report becomes ``fire(callback_name, *args)``; state changes and
    transport errors go to the client's own handlers first."""

    def __init__(
        self,
        fire: Callable[..., None],
        on_state: Callable[[TransportState], None],
        on_error: Callable[[RTVIMessage], None],
        media: MediaStateTracker | None = None,
    ) -> None:
        self._fire = fire
        self._on_state = on_state
        self._on_error = on_error
        self._media = media or MediaStateTracker(lambda state: None)

    def on_transport_state_changed(self, state: TransportState) -> None:
        self._on_state(state)

    def on_connected(self) -> None:
        self._fire("on_connected")

    def on_disconnected(self) -> None:
        self._fire("on_disconnected")

    def on_bot_connected(self, participant: Participant) -> None:
        self._fire("on_bot_connected", participant)

    def on_bot_disconnected(self, participant: Participant) -> None:
        self._fire("on_bot_disconnected", participant)

    def on_participant_joined(self, participant: Participant) -> None:
        self._fire("on_participant_joined", participant)

    def on_participant_left(self, participant: Participant) -> None:
        self._fire("on_participant_left", participant)

    def on_track_started(self, track: Any, participant: Participant | None = None) -> None:
        if participant is not None and participant.local:
            # A local mic/camera track started: that device is open (media_state "granted").
            self._media.granted(TRACK_DEVICE.get(str(getattr(track, "kind", "")), ""))
        self._fire("on_track_started", track, participant)

    def on_track_stopped(self, track: Any, participant: Participant | None = None) -> None:
        self._fire("on_track_stopped", track, participant)

    def on_screen_track_started(self, track: Any, participant: Participant | None = None) -> None:
        self._fire("on_screen_track_started", track, participant)

    def on_screen_track_stopped(self, track: Any, participant: Participant | None = None) -> None:
        self._fire("on_screen_track_stopped", track, participant)

    def on_screen_share_error(self, message: str) -> None:
        self._fire("on_screen_share_error", message)

    def on_local_audio_level(self, level: float) -> None:
        self._fire("on_local_audio_level", level)

    def on_remote_audio_level(self, level: float, participant: Participant) -> None:
        self._fire("on_remote_audio_level", level, participant)

    def on_available_mics_updated(self, devices: list[DeviceInfo]) -> None:
        self._fire("on_available_mics_updated", devices)

    def on_available_cams_updated(self, devices: list[DeviceInfo]) -> None:
        self._fire("on_available_cams_updated", devices)

    def on_available_speakers_updated(self, devices: list[DeviceInfo]) -> None:
        self._fire("on_available_speakers_updated", devices)

    def on_mic_updated(self, device: DeviceInfo) -> None:
        if device.device_id:
            self._media.granted("mic")
        self._fire("on_mic_updated", device)

    def on_cam_updated(self, device: DeviceInfo) -> None:
        if device.device_id:
            self._media.granted("cam")
        self._fire("on_cam_updated", device)

    def on_speaker_updated(self, device: DeviceInfo) -> None:
        self._fire("on_speaker_updated", device)

    def on_device_error(self, error: Exception) -> None:
        self._media.device_error(error)  # a DeviceError moves its devices to "error"
        self._fire("on_device_error", error)

    def on_error(self, message: RTVIMessage) -> None:
        self._on_error(message)
