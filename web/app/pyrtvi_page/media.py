"""The audio and devices panel: mic/camera switches, device pickers, level meters, speaking
badges and the local camera preview."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtvi import RTVIEvent
from rtvi.transports._browser import media_stream

from . import controls, model
from .base import Panel, Subscriptions
from .dom import by_id, clear, h, set_text

if TYPE_CHECKING:
    from .context import PanelContext

METERS = ("local-level", "bot-level")
PICKERS = {"mic": "mic-select", "speaker": "speaker-select", "cam": "cam-select"}


class MediaPanel(Panel):
    """The mic switch and "mic on at start" (connection settings) follow each other."""

    def __init__(self, ctx: PanelContext) -> None:
        super().__init__(ctx)
        self.settings = ctx.settings
        self.toggles = {kind: by_id(f"{kind}-toggle") for kind in ("mic", "cam")}
        self.pickers = {kind: by_id(select_id) for kind, select_id in PICKERS.items()}
        self.meters = {meter: by_id(meter) for meter in METERS}
        self.peaks = dict.fromkeys(METERS, 0.0)
        self.badges = {who: by_id(f"{who}-speaking") for who in ("user", "bot")}
        self.local_video = by_id("local-video")
        for kind, button in self.toggles.items():
            ctx.bind.on(button, "click", lambda _e, kind=kind: self.toggle(kind))
        for kind, select in self.pickers.items():
            ctx.bind.on(select, "change", lambda _e, kind=kind: self.pick(kind))

    def subscriptions(self) -> Subscriptions:
        speaking = self.show_speaking
        return {
            RTVIEvent.USER_STARTED_SPEAKING: lambda: speaking("user", True),
            RTVIEvent.USER_STOPPED_SPEAKING: lambda: speaking("user", False),
            RTVIEvent.BOT_STARTED_SPEAKING: lambda: speaking("bot", True),
            RTVIEvent.BOT_STOPPED_SPEAKING: lambda: speaking("bot", False),
            RTVIEvent.LOCAL_AUDIO_LEVEL: lambda level: self.show_level("local-level", level),
            RTVIEvent.REMOTE_AUDIO_LEVEL: lambda level, *_: self.show_level("bot-level", level),
            RTVIEvent.AVAILABLE_MICS_UPDATED: lambda d: self.show_devices("mic", d),
            RTVIEvent.AVAILABLE_SPEAKERS_UPDATED: lambda d: self.show_devices("speaker", d),
            RTVIEvent.AVAILABLE_CAMS_UPDATED: lambda d: self.show_devices("cam", d),
            RTVIEvent.MIC_UPDATED: lambda d: self.show_selected("mic", d),
            RTVIEvent.SPEAKER_UPDATED: lambda d: self.show_selected("speaker", d),
            RTVIEvent.CAM_UPDATED: lambda d: self.show_selected("cam", d),
            RTVIEvent.TRACK_STARTED: self.show_track,
            RTVIEvent.DEVICE_ERROR: self.on_device_error,
            RTVIEvent.DISCONNECTED: self.show_idle,
        }

    def session_starting(self) -> None:
        """The mic starts as the connection settings say."""
        on = self.settings.mic_at_start
        self.client.enable_mic(on)
        self.set_pressed("mic", on)

    # --- the person's controls -----------------------------------------------------------------

    def set_pressed(self, kind: str, on: bool) -> None:
        button = self.toggles[kind]
        button.setAttribute("aria-pressed", "true" if on else "false")
        set_text(button, controls.toggle_label(kind, on))

    def toggle(self, kind: str) -> None:
        if kind == "mic":
            on = not self.client.is_mic_enabled
            self.client.enable_mic(on)
            self.settings.mic_at_start = on
        else:
            on = not self.client.is_cam_enabled
            self.client.enable_cam(on)
            self.local_video.hidden = not on
        self.set_pressed(kind, on)
        self.log(f"enable_{kind}({on})", None, kind="call")

    async def pick(self, kind: str) -> None:
        device_id = str(self.pickers[kind].value)
        if not device_id:
            return
        self.log(f"update_{kind}()", {"device_id": device_id}, kind="call")
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
            self.local_video.srcObject = media_stream(track)
            self.local_video.hidden = False

    def show_level(self, meter_id: str, level: Any) -> None:
        value = controls.meter_value(level)
        meter = self.meters[meter_id]
        meter.value = value
        if value > self.peaks[meter_id]:
            self.peaks[meter_id] = value
            meter.dataset.peak = f"{value:.3f}"

    def show_speaking(self, who: str, speaking: bool) -> None:
        badge = self.badges[who]
        badge.dataset.speaking = "true" if speaking else "false"
        set_text(badge, "speaking" if speaking else "silent")

    def on_device_error(self, error: Any) -> None:
        if isinstance(error, BaseException):
            self.ctx.report(error)

    def show_idle(self) -> None:
        """The session ended: nobody speaks, the meters rest."""
        for who in self.badges:
            self.show_speaking(who, False)
        for meter in self.meters.values():
            meter.value = 0
