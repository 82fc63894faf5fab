"""Per-device media state, as client-js 1.13 has it (``mediaState``, ``needsInit()``).

Pure: the mic and the camera each have a :class:`DeviceStatus` (``uninitialized`` →
``initializing`` → ``granted``, or ``error`` with a reason), independent of the transport state.
:class:`MediaStateTracker` applies the moves client-js makes and tells its listener (the
client's ``on_media_state_changed``) only when something changed:

- ``init_devices()`` puts both in ``initializing``; a device the transport opened moves to
  ``granted`` (its local track started), one it failed to open to ``error`` (a
  :class:`~rtvi.errors.DeviceError`); when ``init_devices()`` returns, a device still
  ``initializing`` goes back to ``uninitialized`` (it was not asked for), or to
  ``error``/``unknown`` when ``init_devices()`` failed;
- a :class:`~rtvi.errors.DeviceError` at any other time (enabling the camera later, switching
  the mic) moves its devices to ``error``; a later successful open moves them to ``granted``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .errors import DeviceError

#: The devices tracked (speakers have no permission or in-use failure: not tracked, as in JS).
DEVICES = ("mic", "cam")


@dataclass(frozen=True)
class DeviceStatus:
    """One device's state: ``"uninitialized"``, ``"initializing"``, ``"granted"`` or
    ``"error"``; when ``"error"``, ``reason`` (``"blocked"``, ``"already-in-use"``,
    ``"not-found"``, ``"invalid-constraints"``, ``"not-supported"``, ``"unknown"``) and
    ``details`` (e.g. ``{"name": "NotAllowedError"}``)."""

    state: str = "uninitialized"
    reason: str | None = None
    details: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The client-js shape: ``{state}`` or ``{state: "error", reason, details?}``."""
        if self.state != "error":
            return {"state": self.state}
        result: dict[str, Any] = {"state": "error", "reason": self.reason or "unknown"}
        if self.details is not None:
            result["details"] = self.details
        return result


@dataclass(frozen=True)
class MediaState:
    """``client.media_state``: the mic's and the camera's :class:`DeviceStatus`."""

    mic: DeviceStatus = DeviceStatus()
    cam: DeviceStatus = DeviceStatus()

    def __getitem__(self, device: str) -> DeviceStatus:
        if device not in DEVICES:
            raise KeyError(device)
        status: DeviceStatus = getattr(self, device)
        return status

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {device: self[device].to_dict() for device in DEVICES}


INITIALIZING = DeviceStatus("initializing")
GRANTED = DeviceStatus("granted")
UNINITIALIZED = DeviceStatus("uninitialized")


def error_status(error: DeviceError) -> DeviceStatus:
    return DeviceStatus("error", error.reason, error.details)


#: A local track's kind → the device it comes from.
TRACK_DEVICE = {"audio": "mic", "video": "cam"}


class MediaStateTracker:
    """The state and its moves; ``on_change(state)`` after each move that changed something."""

    def __init__(self, on_change: Callable[[MediaState], None]) -> None:
        self.state = MediaState()
        self._on_change = on_change

    def _set(self, **patch: DeviceStatus) -> None:
        new = replace(self.state, **patch)
        if new != self.state:
            self.state = new
            self._on_change(new)

    def initializing(self) -> None:
        """``init_devices()`` started."""
        self._set(mic=INITIALIZING, cam=INITIALIZING)

    def initialized(self, *, failed: bool) -> None:
        """``init_devices()`` ended: a device still ``initializing`` was not spoken to."""
        fallback = DeviceStatus("error", "unknown") if failed else UNINITIALIZED
        patch = {d: fallback for d in DEVICES if self.state[d].state == "initializing"}
        self._set(**patch)

    def granted(self, device: str) -> None:
        """``device`` was opened (its local track started)."""
        if device in DEVICES:
            self._set(**{device: GRANTED})

    def device_error(self, error: BaseException) -> None:
        """A :class:`DeviceError` moves its devices to ``error`` (other errors: nothing)."""
        if isinstance(error, DeviceError):
            status = error_status(error)
            self._set(**{d: status for d in error.devices if d in DEVICES})

    def needs_init(self, *, mic: bool, cam: bool) -> bool:
        """client-js ``needsInit()``: a device asked for (``enable_mic``/``enable_cam``) is
        still ``uninitialized``."""
        return (mic and self.state.mic.state == "uninitialized") or (
            cam and self.state.cam.state == "uninitialized"
        )


#: The browser's ``getUserMedia`` error names → client-js ``DeviceErrorType``.
_ERROR_TYPES = {
    "NotAllowedError": "permissions",
    "SecurityError": "permissions",
    "PermissionDeniedError": "permissions",
    "NotReadableError": "in-use",
    "TrackStartError": "in-use",
    "AbortError": "in-use",
    "NotFoundError": "not-found",
    "DevicesNotFoundError": "not-found",
    "OverconstrainedError": "constraints",
    "ConstraintNotSatisfiedError": "constraints",
}


def device_error_type(name: str, text: str = "") -> str:
    """The ``DeviceErrorType`` of a browser error, from its name (or its text when the name
    is unknown: ``navigator.mediaDevices`` missing is ``undefined-mediadevices``)."""
    if name in _ERROR_TYPES:
        return _ERROR_TYPES[name]
    for known, kind in _ERROR_TYPES.items():
        if known in text:
            return kind
    if "mediaDevices" in text or "getUserMedia is not" in text:
        return "undefined-mediadevices"
    return "unknown"


def make_device_error(devices: list[str], name: str, text: str) -> DeviceError:
    """The :class:`DeviceError` for a browser error ``name`` (``"NotAllowedError"``...) with
    its ``text``; ``details`` keeps both."""
    kind = device_error_type(name, text)
    details: dict[str, Any] = {"name": name} if name else {}
    if text:
        details["message"] = text
    label = " and ".join({"mic": "microphone", "cam": "camera"}.get(d, d) for d in devices)
    return DeviceError(devices, kind, f"cannot open the {label}: {text or name or kind}", details)
