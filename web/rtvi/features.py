"""What the connected bot can serve, from its ``bot-ready`` protocol version.

Pure: no I/O. A call the bot cannot serve fails at once with :class:`UnsupportedFeatureError`
(nothing is sent, nothing waits for a timeout). The minimum versions are the RTVI protocol
versions that introduced each message (PROTOCOL.md §3.2, §8): pipecat 0.0.108 speaks 1.2.0 and
accepts none of them, pipecat 1.14 speaks 2.2.0 and accepts them all.

The 2.2 ``capabilities`` gate nothing: none of today's flags (``audio_in``, ``audio_out``,
``video_in``, ``screen_in``, ``video_out``, ``metrics``) is about a message, and media calls are
not refused on them: pipecat means them for hiding UI, and a camera the bot ignores is still a
local preview. ``RTVIClient.bot_capabilities`` exposes them to the page.
"""

from __future__ import annotations

from collections.abc import Mapping
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


#: Every gated feature → the lowest bot protocol version that serves it.
MIN_VERSION: Mapping[Feature, tuple[int, ...]] = {
    Feature.DTMF: (2, 0),  # 2.0 {button} per key; 2.1 {buttons}
    Feature.SEND_FILE: (2, 2),
    Feature.UI_EVENT: (1, 3),
    Feature.UI_SNAPSHOT: (1, 3),
    Feature.UI_CANCEL_JOB_GROUP: (1, 3),
}

#: The first protocol whose ``dtmf`` carries ``buttons`` (2.0 sends one ``{button}`` per key).
DTMF_BUTTONS_VERSION = (2, 1)


def _text(version: tuple[int, ...]) -> str:
    return ".".join(str(v) for v in version)


def unsupported(feature: Feature, ready: BotReady | None) -> UnsupportedFeatureError | None:
    """Why the bot of ``ready`` cannot serve ``feature``, or None when it can (or when there is
    no ``bot-ready`` yet: the caller's own readiness check applies then)."""
    if ready is None:
        return None
    need = MIN_VERSION[feature]
    version = ready.version or ()
    if version >= need:
        return None
    have = _text(version) if version else "an unknown version"
    detail = f"it needs RTVI {_text(need)}, the bot speaks {have}"
    return UnsupportedFeatureError(str(feature), "the bot", detail)


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
