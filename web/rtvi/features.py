"""What the connected bot can serve, from its ``bot-ready``: protocol version and capabilities.

Pure: no I/O. A call the bot cannot serve fails at once with :class:`UnsupportedFeatureError`
(nothing is sent, nothing waits for a timeout). The minimum versions are the RTVI protocol
versions that introduced each message (PROTOCOL.md §3.2, §8): pipecat 0.0.108 speaks 1.2.0 and
accepts none of them, pipecat 1.14 speaks 2.2.0 and accepts them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from .errors import UnsupportedFeatureError
from .messages import BotReady, parse_version


class Feature(StrEnum):
    """A client call that needs something of the bot (the wire type it sends, or the media)."""

    DTMF = "dtmf"
    SEND_FILE = "send-file"
    UI_EVENT = "ui-event"
    UI_SNAPSHOT = "ui-snapshot"
    UI_CANCEL_JOB_GROUP = "ui-cancel-job-group"
    CAMERA = "camera"
    SCREEN_SHARE = "screen share"


@dataclass(frozen=True, slots=True)
class Requirement:
    """The lowest bot protocol version, and the ``capabilities`` flag the bot must not deny."""

    min_version: tuple[int, ...] = ()
    capability: str | None = None


#: Every gated feature → what the bot must offer.
REQUIREMENTS: Mapping[Feature, Requirement] = {
    Feature.DTMF: Requirement((2, 0)),  # 2.0 {button} per key; 2.1 {buttons}
    Feature.SEND_FILE: Requirement((2, 2)),
    Feature.UI_EVENT: Requirement((1, 3)),
    Feature.UI_SNAPSHOT: Requirement((1, 3)),
    Feature.UI_CANCEL_JOB_GROUP: Requirement((1, 3)),
    Feature.CAMERA: Requirement(capability="video_in"),
    Feature.SCREEN_SHARE: Requirement(capability="screen_in"),
}

#: The first protocol whose ``dtmf`` carries ``buttons`` (2.0 sends one ``{button}`` per key).
DTMF_BUTTONS_VERSION = (2, 1)


def _text(version: tuple[int, ...]) -> str:
    return ".".join(str(v) for v in version)


def unsupported(feature: Feature, ready: BotReady | None) -> UnsupportedFeatureError | None:
    """Why the bot of ``ready`` cannot serve ``feature``, or None when it can (or when there is
    no ``bot-ready`` yet: the caller's own readiness check applies then).

    A capability is refused only when the bot says ``false``; a bot that reports no
    capabilities (RTVI < 2.2) is given the benefit of the doubt.
    """
    if ready is None:
        return None
    need = REQUIREMENTS[feature]
    if need.min_version:
        version = ready.version or ()
        if version < need.min_version:
            have = _text(version) if version else "an unknown version"
            detail = f"it needs RTVI {_text(need.min_version)}, the bot speaks {have}"
            return UnsupportedFeatureError(str(feature), "the bot", detail)
    if need.capability and ready.capabilities.get(need.capability) is False:
        detail = f"its bot-ready capabilities say {need.capability}: false"
        return UnsupportedFeatureError(str(feature), "the bot", detail)
    return None


def check(feature: Feature, ready: BotReady | None) -> None:
    """Raise :func:`unsupported`'s error when there is one."""
    error = unsupported(feature, ready)
    if error is not None:
        raise error


def dtmf_uses_buttons(ready: BotReady | None) -> bool:
    """Whether ``dtmf`` goes as one ``{buttons}`` message (2.1+) or one ``{button}`` per key."""
    return ready is None or (ready.version or ()) >= DTMF_BUTTONS_VERSION


def validate_protocol_version(version: str) -> str:
    """``version`` when it is ``major.minor.patch`` digits (what pipecat 1.14 parses), else
    ``ValueError``: a bad pin would otherwise be refused by the bot after connecting."""
    parsed = parse_version(version)
    if parsed is None or len(parsed) != 3 or _text(parsed) != version.strip():
        raise ValueError(f"protocol_version must look like '2.2.0', got {version!r}")
    return version.strip()
