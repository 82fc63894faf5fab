"""The audio and devices panel: mic/camera switches, device pickers, level meters, speaking
badges and the local camera preview."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import js  # type: ignore[import-not-found]
from pyodide.ffi import to_js  # type: ignore[import-not-found]
from rtvi import RTVIClient

from . import model
from .dom import Bindings, by_id, clear, h, set_text

#: Meter scale: speech RMS sits around 0.02–0.3, so the bar is stretched to stay readable.
METER_GAIN = 3.0

METERS = ("local-level", "bot-level")
PICKERS = {"mic": "mic-select", "speaker": "speaker-select", "cam": "cam-select"}


class MediaPanel:
    """``on_mic(on)`` hears the mic switch (the session settings follow it)."""

    def __init__(
        self,
        client: RTVIClient,
        bind: Bindings,
        log: Callable[..., None],
        on_mic: Callable[[bool], None],
    ) -> None:
        self.client = client
        self._log = log
        self._on_mic = on_mic
        self.toggles = {kind: by_id(f"{kind}-toggle") for kind in ("mic", "cam")}
        self.pickers = {kind: by_id(select_id) for kind, select_id in PICKERS.items()}
        self.meters = {meter: by_id(meter) for meter in METERS}
        self.peaks = dict.fromkeys(METERS, 0.0)
        self.badges = {who: by_id(f"{who}-speaking") for who in ("user", "bot")}
        self.local_video = by_id("local-video")
        for kind, button in self.toggles.items():
            bind.on(button, "click", lambda _e, kind=kind: self.toggle(kind))
        for kind, select in self.pickers.items():
            bind.on(select, "change", lambda _e, kind=kind: self.pick(kind))

    # --- the person's controls -----------------------------------------------------------------

    def set_pressed(self, kind: str, on: bool) -> None:
        button = self.toggles[kind]
        button.setAttribute("aria-pressed", "true" if on else "false")
        noun = "Mic" if kind == "mic" else "Camera"
        set_text(
            button, f"{noun} on" if on else (f"{noun} muted" if kind == "mic" else "Camera off")
        )

    def toggle(self, kind: str) -> None:
        if kind == "mic":
            on = not self.client.is_mic_enabled
            self.client.enable_mic(on)
            self._on_mic(on)
        else:
            on = not self.client.is_cam_enabled
            self.client.enable_cam(on)
            self.local_video.hidden = not on
        self.set_pressed(kind, on)
        self._log(f"enable_{kind}({on})", None, kind="call")

    async def pick(self, kind: str) -> None:
        device_id = str(self.pickers[kind].value)
        if not device_id:
            return
        self._log(f"update_{kind}()", {"device_id": device_id}, kind="call")
        update = {
            "mic": self.client.update_mic,
            "speaker": self.client.update_speaker,
            "cam": self.client.update_cam,
        }[kind]
        await update(device_id)

    # --- what the client reports ---------------------------------------------------------------

    def show_devices(self, kind: str, devices: Any) -> None:
        select = self.pickers[kind]
        current = str(select.value)
        options = model.device_options(list(devices or []))
        clear(select)
        if not options:
            select.append(h("option", {"value": "", "text": "(none found)"}))
        for device_id, label in options:
            select.append(h("option", {"value": device_id, "text": label}))
        if current and any(device_id == current for device_id, _ in options):
            select.value = current
        select.disabled = not options

    def show_selected(self, kind: str, device: Any) -> None:
        device_id = getattr(device, "device_id", None)
        if device_id:
            self.pickers[kind].value = device_id

    def show_track(self, track: Any, participant: Any = None) -> None:
        """The local camera track, once it starts, in the preview."""
        if getattr(participant, "local", False) and str(getattr(track, "kind", "")) == "video":
            self.local_video.srcObject = js.MediaStream.new(to_js([track]))
            self.local_video.hidden = False

    def show_level(self, meter_id: str, level: Any) -> None:
        value = round(min(1.0, float(level) * METER_GAIN), 3)
        meter = self.meters[meter_id]
        meter.value = value
        if value > self.peaks[meter_id]:
            self.peaks[meter_id] = value
            meter.dataset.peak = f"{value:.3f}"

    def show_speaking(self, who: str, speaking: bool) -> None:
        badge = self.badges[who]
        badge.dataset.speaking = "true" if speaking else "false"
        set_text(badge, "speaking" if speaking else "silent")

    def show_idle(self) -> None:
        """The session ended: nobody speaks, the meters rest."""
        for who in self.badges:
            self.show_speaking(who, False)
        for meter in self.meters.values():
            meter.value = 0
