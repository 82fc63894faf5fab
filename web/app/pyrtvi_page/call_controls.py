"""The controls panel: a DTMF keypad (``send_dtmf``), send a file (``send_file``, RTVI 2.2),
screen share (``enable_screen_share``) and the bot's volume (the ``#bot-audio`` element).

A control the bot or the transport cannot take is disabled, with a hint saying why
(:mod:`.call_rules`): the keypad needs RTVI 2.0, a file RTVI 2.2, screen share WebRTC.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import js  # type: ignore[import-not-found]
from rtvi import RTVIEvent, TransportState

from . import call_rules
from .base import Panel, Subscriptions
from .call_rules import Control
from .dom import by_id, nullable, query_all, set_text

if TYPE_CHECKING:
    from .context import PanelContext

#: Where the bot volume is remembered between visits.
VOLUME_KEY = "pyrtvi-bot-volume"


def stored(key: str) -> str | None:
    """A value kept in the browser's ``localStorage`` (None when absent or not allowed)."""
    try:
        value = nullable(js.localStorage.getItem(key))
    except Exception:
        return None
    return None if value is None else str(value)


def store(key: str, value: str) -> None:
    # Storage off (a private window's quota): the choice lasts this visit.
    with contextlib.suppress(Exception):
        js.localStorage.setItem(key, value)


class CallControlsPanel(Panel):
    def __init__(self, ctx: PanelContext) -> None:
        super().__init__(ctx)
        self.keypad = by_id("dtmf-keypad")
        self.keys = query_all(self.keypad, "button[data-key]")
        self.dtmf_sent = by_id("dtmf-sent")
        self.dtmf_hint = by_id("dtmf-hint")
        self.file_input = by_id("file-input")
        self.file_text = by_id("file-text")
        self.file_send = by_id("file-send")
        self.file_hint = by_id("file-hint")
        self.file_status = by_id("file-status")
        self.screen = by_id("screen-share")
        self.screen_hint = by_id("screen-hint")
        self.volume = by_id("bot-volume")
        self.volume_value = by_id("bot-volume-value")
        self.audio = by_id("bot-audio")
        #: The keys sent in this session, as the keypad shows them.
        self.sent = ""
        for key in self.keys:
            ctx.bind.on(key, "click", lambda _e, key=key: self.press(str(key.dataset.key)))
        ctx.bind.on(self.keypad, "keydown", self.on_key)
        ctx.bind.on(self.file_send, "click", lambda _e: self.send_file())
        ctx.bind.on(self.screen, "click", lambda _e: self.toggle_screen())
        ctx.bind.on(self.volume, "input", lambda _e: self.set_volume(self.volume.value))
        remembered = stored(VOLUME_KEY)
        if remembered is not None:
            self.volume.value = remembered
        self.set_volume(self.volume.value, remember=False)

    def subscriptions(self) -> Subscriptions:
        return {
            RTVIEvent.SCREEN_TRACK_STARTED: lambda *_: self.show_sharing(True),
            RTVIEvent.SCREEN_TRACK_STOPPED: lambda *_: self.show_sharing(False),
            RTVIEvent.SCREEN_SHARE_ERROR: self.on_screen_error,
            RTVIEvent.DISCONNECTED: lambda: self.show_sharing(False),
        }

    def update(self, state: TransportState) -> None:
        client = self.client
        now = call_rules.call_controls(
            state,
            bot_version=client.bot_version,
            transport_kind=self.ctx.settings.transport_kind(),
            capabilities=client.bot_capabilities,
        )
        for key in self.keys:
            key.disabled = not now.dtmf.enabled
        self.show(self.dtmf_hint, now.dtmf)
        for element in (self.file_input, self.file_text, self.file_send):
            element.disabled = not now.file.enabled
        self.show(self.file_hint, now.file)
        self.screen.disabled = not now.screen.enabled
        self.show(self.screen_hint, now.screen)

    def show(self, hint: Any, control: Control) -> None:
        set_text(hint, control.hint)
        hint.hidden = not control.hint

    def session_starting(self) -> None:
        self.sent = ""
        set_text(self.dtmf_sent, "")
        set_text(self.file_status, "")

    # --- keypad --------------------------------------------------------------------------------

    def press(self, key: str) -> None:
        self.log("send_dtmf()", {"buttons": key}, kind="call")
        self.client.send_dtmf(key)
        self.sent += key
        set_text(self.dtmf_sent, f"Sent: {self.sent}")

    def on_key(self, event: Any) -> None:
        """Typing a key of the keypad (0–9, ``*``, ``#``) while it has the focus presses it."""
        key = str(event.key)
        if key not in call_rules.KEYPAD_KEYS or event.ctrlKey or event.metaKey or event.altKey:
            return
        button = next((b for b in self.keys if str(b.dataset.key) == key), None)
        if button is None or button.disabled:
            return
        event.preventDefault()
        button.focus()
        self.press(key)

    # --- file ----------------------------------------------------------------------------------

    async def send_file(self) -> None:
        files = self.file_input.files
        if not files or not files.length:
            self.status("Pick a file first.", error=True)
            return
        picked = files.item(0)
        name = str(picked.name)
        data = (await picked.arrayBuffer()).to_bytes()
        if not data:
            self.status(f"{name} is empty.", error=True)
            return
        fmt = call_rules.file_format(picked.type, name)
        text = str(self.file_text.value).strip()
        self.log("send_file()", {"name": name, "format": fmt, "bytes": len(data)}, kind="call")
        self.status(f"Sending {name}…")
        try:
            sent = await self.client.send_file(data, format=fmt, name=name, content=text)
        except Exception as exc:
            self.status(f"{name} was not sent: {exc}", error=True)
            self.log("send_file() failed", repr(exc), kind="error")
            return
        how = "by URL" if sent["source"].get("type") == "url" else "inline"
        self.status(f"Sent {name} ({len(data)} bytes, {fmt}, {how}).")
        self.file_text.value = ""

    def status(self, text: str, *, error: bool = False) -> None:
        set_text(self.file_status, text)
        self.file_status.dataset.status = "error" if error else "ok"

    # --- screen share --------------------------------------------------------------------------

    def toggle_screen(self) -> None:
        on = not self.client.is_sharing_screen
        self.log(f"enable_screen_share({on})", None, kind="call")
        self.client.enable_screen_share(on)

    def show_sharing(self, on: bool) -> None:
        self.screen.setAttribute("aria-pressed", "true" if on else "false")
        set_text(self.screen, "Stop sharing" if on else "Share screen")

    def on_screen_error(self, message: Any) -> None:
        self.show_sharing(False)
        set_text(self.screen_hint, f"Screen share failed: {message}")
        self.screen_hint.hidden = False

    # --- volume --------------------------------------------------------------------------------

    def set_volume(self, value: Any, *, remember: bool = True) -> None:
        level = call_rules.volume(value)
        self.audio.volume = level
        set_text(self.volume_value, call_rules.volume_label(value))
        if remember:
            store(VOLUME_KEY, str(round(level * call_rules.VOLUME_MAX)))
