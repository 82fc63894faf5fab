"""What every transport facade does the same way: the connect/abort race, level and device reports.

Pure asyncio (no ``js``): the browser parts (a meter's level, ``enumerateDevices``, ``setSinkId``)
are handed in, so the rules are unit-tested in CPython and SmallWebRTC and WebSocket share them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from ..abort import AbortSignal
from ..errors import RTVIError, TransportStartError, UnsupportedFeatureError
from ..transport import DeviceInfo, TransportCallbacks
from .liveness import Clock, LoopClock

logger = logging.getLogger("rtvi.transports")


async def open_or_abort(
    opening: Awaitable[None],
    abort: AbortSignal,
    *,
    cleanup: Callable[[], Awaitable[None]],
    what: str,
    describe: Callable[[BaseException], str] = str,
) -> None:
    """Await ``opening`` unless ``abort`` fires first; on any failure ``cleanup()`` and raise.

    An abort raises the signal's :class:`~rtvi.errors.AbortError`; an RTVI error or a
    cancellation passes through; anything else becomes ``TransportStartError("<what> connection
    failed: ...")``. Our caller being cancelled stops ``opening`` too.
    """
    task = asyncio.ensure_future(opening)
    aborted = asyncio.ensure_future(abort.wait())
    try:
        await asyncio.wait({task, aborted}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            abort.throw_if_aborted()
        task.result()
    except BaseException as exc:
        task.cancel()
        await cleanup()
        if isinstance(exc, RTVIError | asyncio.CancelledError):
            raise
        raise TransportStartError(f"{what} connection failed: {describe(exc)}") from exc
    finally:
        aborted.cancel()


def level_reporter(
    store: dict[str, float],
    on_local: Callable[[float], None],
    on_bot: Callable[[float], None],
) -> Callable[[float | None, float | None], None]:
    """``report(local, bot)``: one reading of both levels.

    Each measured level is kept in ``store`` (the transport's ``*_audio_level`` properties) and
    reported, the local one first; an unmeasured one (``None``) is skipped.
    """

    def report(local: float | None, bot: float | None) -> None:
        if local is not None:
            store["local"] = value = float(local)
            on_local(value)
        if bot is not None:
            store["bot"] = value = float(bot)
            on_bot(value)

    return report


async def report_levels(
    level: Callable[[str], float | None],
    store: dict[str, float],
    interval: float,
    running: Callable[[], bool],
    on_local: Callable[[float], None],
    on_bot: Callable[[float], None],
    clock: Clock | None = None,
) -> None:
    """Read ``level("local")`` and ``level("bot")`` every ``interval`` s while ``running()``,
    each reading reported by :func:`level_reporter` (the browser transports read them from a JS
    timer instead: ``media.AudioLevels.tick``)."""
    clock = clock or LoopClock()
    report = level_reporter(store, on_local, on_bot)
    while running():
        report(level("local"), level("bot"))
        await clock.sleep(interval)


class ListDevices(Protocol):
    async def __call__(self, kind: str) -> list[DeviceInfo]: ...


_REPORTERS: dict[str, Callable[[TransportCallbacks, list[DeviceInfo]], None]] = {
    "audioinput": lambda cb, devices: cb.on_available_mics_updated(devices),
    "videoinput": lambda cb, devices: cb.on_available_cams_updated(devices),
    "audiooutput": lambda cb, devices: cb.on_available_speakers_updated(devices),
}


async def report_device_lists(
    list_devices: ListDevices,
    callbacks: TransportCallbacks,
    kinds: Sequence[str],
    describe: Callable[[BaseException], str] = str,
) -> None:
    """List every kind, then report each list; a failure is one ``on_device_error``."""
    try:
        lists = [await list_devices(kind) for kind in kinds]
    except Exception as exc:
        logger.warning("cannot list media devices: %s", describe(exc))
        callbacks.on_device_error(exc)
        return
    for kind, devices in zip(kinds, lists, strict=True):
        _REPORTERS[kind](callbacks, devices)


async def switch_speaker(
    set_sink: Callable[[str], Awaitable[None]],
    list_devices: ListDevices,
    callbacks: TransportCallbacks,
    device_id: str,
    transport_name: str,
) -> DeviceInfo:
    """``setSinkId`` the bot's element, then report the speaker (listed, else bare).

    A browser without ``setSinkId`` raises :class:`UnsupportedFeatureError`; any other failure
    is reported as a device error and raised.
    """
    try:
        await set_sink(device_id)
    except NotImplementedError as exc:
        raise UnsupportedFeatureError("speaker selection", transport_name, str(exc)) from None
    except Exception as exc:
        callbacks.on_device_error(exc)
        raise
    device = await find_device(list_devices, "audiooutput", device_id)
    callbacks.on_speaker_updated(device)
    return device


async def find_device(list_devices: ListDevices, kind: str, device_id: str) -> DeviceInfo:
    """The listed device ``device_id`` of ``kind``, or a bare ``DeviceInfo`` for it."""
    with contextlib.suppress(Exception):
        for device in await list_devices(kind):
            if device.device_id == device_id:
                return device
    return DeviceInfo(device_id=device_id, kind=kind)
