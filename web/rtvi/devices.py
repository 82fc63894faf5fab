"""The client's device and media methods: each one is the transport's, under the JS name.

One group of :class:`~rtvi.client.RTVIClient`'s methods (over
:class:`~rtvi.core.ClientCore`), kept apart because it is pure delegation: media and devices
belong to the transport (:class:`~rtvi.transport.Transport`), the client only exposes them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .core import ClientCore
from .errors import UnsupportedFeatureError
from .media_state import MediaState
from .transport import DeviceInfo, Tracks


class DeviceMethods(ClientCore):
    """``init_devices``, ``media_state``, ``needs_init``, ``get_all_mics/cams/speakers``,
    ``update_*``, ``selected_*``, ``enable_mic/cam/screen_share``, ``is_*_enabled``,
    ``is_sharing_screen``, ``tracks``."""

    async def init_devices(self) -> None:
        """Open the enabled devices. ``media_state`` follows: both ``initializing``, then each
        ``granted`` or ``error`` as the transport reports; one not opened goes back to
        ``uninitialized`` (or ``error``/``unknown`` when this raises)."""
        self._media.initializing()
        try:
            await self._transport.init_devices()
        except BaseException:
            self._media.initialized(failed=True)
            raise
        self._media.initialized(failed=False)

    @property
    def media_state(self) -> MediaState:
        """client-js ``mediaState``: the mic's and the camera's state (a frozen snapshot;
        ``on_media_state_changed`` says when it changes)."""
        return self._media.state

    def needs_init(self) -> bool:
        """client-js ``needsInit()``: an enabled device (mic, camera) is still
        ``uninitialized``."""
        transport = self._transport
        return self._media.needs_init(mic=transport.is_mic_enabled, cam=transport.is_cam_enabled)

    async def get_all_mics(self) -> list[DeviceInfo]:
        return await self._transport.get_all_mics()

    async def get_all_cams(self) -> list[DeviceInfo]:
        return await self._transport.get_all_cams()

    async def get_all_speakers(self) -> list[DeviceInfo]:
        return await self._transport.get_all_speakers()

    async def update_mic(self, device_id: str) -> None:
        await self._transport.update_mic(device_id)

    async def update_cam(self, device_id: str) -> None:
        with self._unsupported():
            await self._transport.update_cam(device_id)

    async def update_speaker(self, device_id: str) -> None:
        with self._unsupported():
            await self._transport.update_speaker(device_id)

    @property
    def selected_mic(self) -> DeviceInfo | None:
        return self._transport.selected_mic

    @property
    def selected_cam(self) -> DeviceInfo | None:
        return self._transport.selected_cam

    @property
    def selected_speaker(self) -> DeviceInfo | None:
        return self._transport.selected_speaker

    def enable_mic(self, enable: bool) -> None:
        self._transport.enable_mic(enable)

    def enable_cam(self, enable: bool) -> None:
        with self._unsupported():
            self._transport.enable_cam(enable)

    def enable_screen_share(self, enable: bool) -> None:
        with self._unsupported():
            self._transport.enable_screen_share(enable)

    @contextlib.contextmanager
    def _unsupported(self) -> Iterator[None]:
        """What the transport cannot do fires ``on_unsupported_feature`` (client-js routes it
        there), and is still raised (**Better**: the caller learns it at the call)."""
        try:
            yield
        except UnsupportedFeatureError as exc:
            self._fire("on_unsupported_feature", exc)
            raise

    @property
    def is_mic_enabled(self) -> bool:
        return self._transport.is_mic_enabled

    @property
    def is_cam_enabled(self) -> bool:
        return self._transport.is_cam_enabled

    @property
    def is_sharing_screen(self) -> bool:
        return self._transport.is_sharing_screen

    def tracks(self) -> Tracks:
        return self._transport.tracks()
