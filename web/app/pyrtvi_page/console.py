"""The console: one ``RTVIClient`` over the browser WebRTC transport, shown to a person.

Everything the page shows comes from the client's public API: events (``client.on``), the
connect/disconnect lifecycle, devices, config (describe-config / get-config / update-config),
actions (describe-actions / action, disconnected over HTTP when there is no session), and
``send_text`` / ``LLMHelper.append_to_messages`` for the text box.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from typing import Any

import js  # type: ignore[import-not-found]
from pyodide.ffi import to_js  # type: ignore[import-not-found]
from rtvi import AbortError, LLMHelper, RTVIClient, RTVIEvent, TransportState
from rtvi.transports.small_webrtc import SmallWebRTCTransport

from . import model
from .dom import Bindings, by_id, clear, h, query, set_text

logger = logging.getLogger("pyrtvi.page")

#: Log entries kept in the event log (older ones are dropped).
MAX_LOG_ENTRIES = 400
#: Meter scale: speech RMS sits around 0.02–0.3, so the bar is stretched to stay readable.
METER_GAIN = 3.0

IDLE_STATES = frozenset({TransportState.DISCONNECTED, TransportState.ERROR})


def now_ms() -> float:
    return float(js.performance.now())


def slug(*parts: str) -> str:
    return "-".join(re.sub(r"[^a-zA-Z0-9_]+", "_", p) for p in parts)


def describe_arg(value: Any) -> Any:
    """Event arguments for the log: a browser track as ``"audio track"``, the rest as is."""
    if hasattr(value, "readyState") and hasattr(value, "kind"):
        return f"{value.kind} track ({value.readyState})"
    return value


class Console:
    """Builds the client, binds the page's controls, and renders what the client reports."""

    def __init__(self) -> None:
        self.bind = Bindings(on_error=self.report)
        self.clock = model.EventClock(now_ms())
        self.connect_started: float | None = None
        self.el = {
            name: by_id(name)
            for name in (
                "banner", "banner-title", "banner-text", "banner-close", "connect", "disconnect",
                "bot-leave", "transport-state", "bot-ready", "bot-version", "connect-time",
                "base-url",
                "timeout", "start-mic", "mic-select", "speaker-select", "cam-select",
                "mic-toggle", "cam-toggle", "local-level", "bot-level", "user-speaking",
                "bot-speaking", "local-video", "bot-audio", "transcript", "text-form",
                "text-input", "text-mode", "text-send", "config-empty", "config-form",
                "config-fields", "config-apply", "config-reload", "config-status",
                "actions-empty", "actions-list", "log-verbose", "log-clear", "event-log",
            )
        }  # fmt: skip
        self.el["base-url"].value = str(js.location.origin)
        # Session-derived state.
        self.services: list[dict[str, Any]] = []
        self.config: dict[tuple[str, str], Any] = {}
        self.actions: list[dict[str, Any]] = []
        self.user_turn: Any = None
        self.bot_turn: Any = None
        self.last_typed = ""
        self.streams: list[Any] = []  # output elements of running actions
        self.peaks = {"local-level": 0.0, "bot-level": 0.0}
        self.leaving = False  # the person asked to disconnect, or the bot to leave

        self.transport = SmallWebRTCTransport(audio_element=self.el["bot-audio"])
        self.client = RTVIClient(
            transport=self.transport,
            params={"base_url": self.el["base-url"].value},
            timeout=self.timeout(),
            enable_mic=True,
            enable_cam=False,
        )
        self.llm = LLMHelper()
        self.client.register_helper("llm", self.llm)
        self.subscribe()
        self.bind_controls()
        self.render_actions()

    # --- wiring -----------------------------------------------------------------------------

    def subscribe(self) -> None:
        client = self.client
        for event in RTVIEvent:
            client.on(event, self._logger_for(event))
        handlers: dict[RTVIEvent, Callable[..., Any]] = {
            RTVIEvent.TRANSPORT_STATE_CHANGED: self.on_state,
            RTVIEvent.BOT_READY: self.on_bot_ready,
            RTVIEvent.DISCONNECTED: self.on_disconnected,
            RTVIEvent.BOT_DISCONNECTED: self.on_bot_disconnected,
            RTVIEvent.ERROR: self.on_bot_error,
            RTVIEvent.USER_STARTED_SPEAKING: lambda: self.on_speaking("user", True),
            RTVIEvent.USER_STOPPED_SPEAKING: lambda: self.on_speaking("user", False),
            RTVIEvent.BOT_STARTED_SPEAKING: lambda: self.on_speaking("bot", True),
            RTVIEvent.BOT_STOPPED_SPEAKING: self.on_bot_stopped_speaking_event,
            RTVIEvent.USER_TRANSCRIPT: self.on_user_transcript,
            RTVIEvent.USER_LLM_TEXT: self.on_user_llm_text,
            RTVIEvent.BOT_LLM_STARTED: self.on_bot_llm_started,
            RTVIEvent.BOT_LLM_TEXT: self.on_bot_llm_text,
            RTVIEvent.BOT_LLM_STOPPED: self.on_bot_llm_stopped,
            RTVIEvent.BOT_TTS_TEXT: self.on_bot_tts_text,
            RTVIEvent.LOCAL_AUDIO_LEVEL: lambda level: self.on_level("local-level", level),
            RTVIEvent.REMOTE_AUDIO_LEVEL: lambda level, *_: self.on_level("bot-level", level),
            RTVIEvent.AVAILABLE_MICS_UPDATED: lambda d: self.on_devices("mic-select", d),
            RTVIEvent.AVAILABLE_SPEAKERS_UPDATED: lambda d: self.on_devices("speaker-select", d),
            RTVIEvent.AVAILABLE_CAMS_UPDATED: lambda d: self.on_devices("cam-select", d),
            RTVIEvent.MIC_UPDATED: lambda d: self.on_device_selected("mic-select", d),
            RTVIEvent.SPEAKER_UPDATED: lambda d: self.on_device_selected("speaker-select", d),
            RTVIEvent.CAM_UPDATED: lambda d: self.on_device_selected("cam-select", d),
            RTVIEvent.TRACK_STARTED: self.on_track_started,
            RTVIEvent.DEVICE_ERROR: self.on_device_error,
            RTVIEvent.CONFIG: self.on_config,
        }
        for event, handler in handlers.items():
            client.on(event, handler)

    def bind_controls(self) -> None:
        on, el = self.bind.on, self.el
        on(el["connect"], "click", lambda _e: self.connect())
        on(el["disconnect"], "click", lambda _e: self.disconnect())
        on(el["bot-leave"], "click", lambda _e: self.ask_bot_to_leave())
        on(el["banner-close"], "click", lambda _e: self.hide_banner())
        on(el["mic-toggle"], "click", lambda _e: self.toggle("mic"))
        on(el["cam-toggle"], "click", lambda _e: self.toggle("cam"))
        on(el["mic-select"], "change", lambda _e: self.pick("mic"))
        on(el["speaker-select"], "change", lambda _e: self.pick("speaker"))
        on(el["cam-select"], "change", lambda _e: self.pick("cam"))
        on(el["text-form"], "submit", self.on_text_submit)
        on(el["config-form"], "submit", self.on_config_submit)
        on(el["config-reload"], "click", lambda _e: self.load_config())
        on(el["log-clear"], "click", lambda _e: clear(el["event-log"]))

    def timeout(self) -> float | None:
        try:
            value = float(self.el["timeout"].value)
        except (TypeError, ValueError):
            return None
        return value if value > 0 else None

    def apply_settings(self) -> None:
        """The connection settings as they are now in the form."""
        base = str(self.el["base-url"].value).strip() or str(js.location.origin)
        self.client.params.base_url = base
        self.client.timeout = self.timeout()

    # --- banner and errors --------------------------------------------------------------------

    def show_problem(self, problem: model.Problem) -> None:
        banner = self.el["banner"]
        banner.dataset.kind = problem.kind
        set_text(self.el["banner-title"], problem.title)
        set_text(self.el["banner-text"], problem.text)
        banner.hidden = False
        self.log("banner", f"{problem.kind}: {problem.text}", kind="error")

    def hide_banner(self) -> None:
        self.el["banner"].hidden = True

    def report(self, exc: BaseException) -> None:
        self.show_problem(model.classify_error(exc, timeout=self.client.timeout))

    # --- session -------------------------------------------------------------------------------

    async def connect(self) -> None:
        if self.client.state not in IDLE_STATES:
            return
        self.hide_banner()
        self.apply_settings()
        mic_on = bool(self.el["start-mic"].checked)
        self.client.enable_mic(mic_on)
        self.set_pressed("mic", mic_on)
        self.clock.reset(now_ms())
        self.connect_started = now_ms()
        self.config = {}
        set_text(self.el["connect-time"], "…")
        self.el["connect"].disabled = True
        self.el["disconnect"].disabled = False
        self.log("connect()", {"base_url": self.client.params.base_url}, kind="call")
        self.leaving = False
        try:
            await self.client.connect()
        except Exception as exc:
            logger.warning("connect failed: %r", exc)
            if isinstance(exc, AbortError) and self.leaving:
                set_text(self.el["connect-time"], "cancelled")
            else:
                self.report(exc)
                set_text(self.el["connect-time"], "failed")
            self.update_buttons()

    async def disconnect(self) -> None:
        self.leaving = True
        self.log("disconnect()", None, kind="call")
        self.el["disconnect"].disabled = True
        await self.client.disconnect()
        self.update_buttons()

    async def ask_bot_to_leave(self) -> None:
        self.leaving = True  # asked for: the bot leaving is no surprise
        self.log("disconnect_bot()", None, kind="call")
        self.el["bot-leave"].disabled = True
        try:
            await self.client.disconnect_bot()
        except Exception as exc:
            self.leaving = False
            self.report(exc)
            self.update_buttons()

    def update_buttons(self) -> None:
        state = self.client.state
        idle = state in IDLE_STATES
        ready = state == TransportState.READY
        self.el["connect"].disabled = not idle
        self.el["disconnect"].disabled = idle or state == TransportState.DISCONNECTING
        self.el["bot-leave"].disabled = not ready or self.leaving
        for name in ("text-input", "text-send", "text-mode"):
            self.el[name].disabled = not ready
        self.el["config-apply"].disabled = not ready
        self.el["config-reload"].disabled = not ready
        for button in self.el["actions-list"].querySelectorAll("button[type=submit]"):
            button.textContent = "Run" if ready else "Run over HTTP"

    def on_state(self, state: Any) -> None:
        pill = self.el["transport-state"]
        pill.dataset.state = str(state)
        set_text(pill, str(state))
        self.update_buttons()

    def on_bot_ready(self, data: Any) -> None:
        pill = self.el["bot-ready"]
        pill.dataset.ready = "true"
        set_text(pill, "ready")
        version = data.get("version") if isinstance(data, dict) else None
        set_text(self.el["bot-version"], f"RTVI {version}" if version else "unknown")
        if self.connect_started is not None:
            set_text(self.el["connect-time"], model.format_ms(now_ms() - self.connect_started))
        self.update_buttons()
        self.bind.spawn(self.load_config())
        self.bind.spawn(self.load_actions())

    def on_bot_disconnected(self, *_args: Any) -> None:
        # A banner already up (e.g. the fatal "connection lost" error) says more: keep it.
        if not self.leaving and self.client.state not in IDLE_STATES and self.el["banner"].hidden:
            self.show_problem(
                model.Problem(
                    "bot-left",
                    "The bot left the session",
                    "The bot disconnected (it ended the conversation, or stopped). Connect again "
                    "to start a new session.",
                )
            )

    def on_disconnected(self) -> None:
        pill = self.el["bot-ready"]
        pill.dataset.ready = "false"
        set_text(pill, "not ready")
        for name in ("user", "bot"):
            self.on_speaking(name, False)
        for meter in ("local-level", "bot-level"):
            self.el[meter].value = 0
        self.close_turns()
        self.update_buttons()

    def on_bot_error(self, message: Any) -> None:
        data = getattr(message, "data", message)
        text = model.summarize(
            data.get("error") or data.get("message") if isinstance(data, dict) else data
        )
        fatal = isinstance(data, dict) and bool(data.get("fatal"))
        if fatal or self.client.state in IDLE_STATES:
            self.show_problem(
                model.Problem("bot-error", "The session failed" if fatal else "Error", text)
            )

    # --- media and devices ------------------------------------------------------------------

    def set_pressed(self, kind: str, on: bool) -> None:
        button = self.el[f"{kind}-toggle"]
        button.setAttribute("aria-pressed", "true" if on else "false")
        noun = "Mic" if kind == "mic" else "Camera"
        set_text(
            button, f"{noun} on" if on else (f"{noun} muted" if kind == "mic" else "Camera off")
        )

    def toggle(self, kind: str) -> None:
        if kind == "mic":
            on = not self.client.is_mic_enabled
            self.client.enable_mic(on)
            self.el["start-mic"].checked = on
        else:
            on = not self.client.is_cam_enabled
            self.client.enable_cam(on)
            self.el["local-video"].hidden = not on
        self.set_pressed(kind, on)
        self.log(f"enable_{kind}({on})", None, kind="call")

    async def pick(self, kind: str) -> None:
        select = self.el[f"{kind}-select"]
        device_id = str(select.value)
        if not device_id:
            return
        self.log(f"update_{kind}()", {"device_id": device_id}, kind="call")
        update = {
            "mic": self.client.update_mic,
            "speaker": self.client.update_speaker,
            "cam": self.client.update_cam,
        }[kind]
        await update(device_id)

    def on_devices(self, select_id: str, devices: Any) -> None:
        select = self.el[select_id]
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

    def on_device_selected(self, select_id: str, device: Any) -> None:
        device_id = getattr(device, "device_id", None)
        if device_id:
            self.el[select_id].value = device_id

    def on_track_started(self, track: Any, participant: Any = None) -> None:
        if getattr(participant, "local", False) and str(getattr(track, "kind", "")) == "video":
            video = self.el["local-video"]
            video.srcObject = js.MediaStream.new(to_js([track]))
            video.hidden = False

    def on_device_error(self, error: Any) -> None:
        if isinstance(error, BaseException):
            self.report(error)

    def on_level(self, meter_id: str, level: Any) -> None:
        value = round(min(1.0, float(level) * METER_GAIN), 3)
        meter = self.el[meter_id]
        meter.value = value
        if value > self.peaks[meter_id]:
            self.peaks[meter_id] = value
            meter.dataset.peak = f"{value:.3f}"

    def on_speaking(self, who: str, speaking: bool) -> None:
        badge = self.el[f"{who}-speaking"]
        badge.dataset.speaking = "true" if speaking else "false"
        set_text(badge, "speaking" if speaking else "silent")
        if who == "user" and speaking and self.user_turn is None:
            self.user_turn = self.add_turn("user", "You (speaking)", "", final=False)
        if who == "user" and not speaking and self.user_turn is not None:
            turn = self.user_turn
            if not str(turn.querySelector(".text").textContent):
                set_text(turn.querySelector(".text"), "(speech)")

    # --- transcript -----------------------------------------------------------------------------

    def add_turn(self, role: str, who: str, text: str, *, final: bool) -> Any:
        turn = h(
            "li",
            {
                "class": f"turn {role}",
                "data-role": role,
                "data-final": "true" if final else "false",
            },
            h("span", {"class": "who", "text": who}),
            h("span", {"class": "text", "text": text}),
        )
        transcript = self.el["transcript"]
        transcript.append(turn)
        transcript.scrollTop = transcript.scrollHeight
        return turn

    def close_turns(self) -> None:
        for turn in (self.user_turn, self.bot_turn):
            if turn is not None:
                turn.dataset.final = "true"
        self.user_turn = self.bot_turn = None

    def on_user_transcript(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        text = str(data.get("text") or "")
        if self.user_turn is None:
            self.user_turn = self.add_turn("user", "You (speaking)", "", final=False)
        set_text(self.user_turn.querySelector(".text"), text)
        if data.get("final"):
            self.user_turn.dataset.final = "true"
            self.user_turn = None

    def on_user_llm_text(self, data: Any) -> None:
        text = str(data.get("text") or "") if isinstance(data, dict) else ""
        if not text:
            return
        if self.user_turn is not None:
            set_text(self.user_turn.querySelector(".text"), text)
            self.user_turn.dataset.final = "true"
            self.user_turn = None
        elif text != self.last_typed:
            self.add_turn("user", "You", text, final=True)

    def on_bot_llm_started(self) -> None:
        if self.user_turn is not None:
            self.user_turn.dataset.final = "true"
            self.user_turn = None
        if self.bot_turn is not None:
            self.bot_turn.dataset.final = "true"
        self.bot_turn = self.add_turn("bot", "Bot", "", final=False)
        self.bot_turn.dataset.source = "llm"

    def on_bot_llm_text(self, data: Any) -> None:
        token = str(data.get("text") or "") if isinstance(data, dict) else ""
        if self.bot_turn is None or str(self.bot_turn.dataset.source) != "llm":
            self.on_bot_llm_started()
        text = self.bot_turn.querySelector(".text")
        text.textContent = str(text.textContent) + token
        for stream in self.streams:
            stream.textContent = str(stream.textContent) + token
        transcript = self.el["transcript"]
        transcript.scrollTop = transcript.scrollHeight

    def on_bot_llm_stopped(self) -> None:
        if self.bot_turn is not None:
            self.bot_turn.dataset.final = "true"

    def on_bot_tts_text(self, data: Any) -> None:
        """Words as spoken: under the LLM text of the turn, or a turn of their own when the bot
        speaks without the LLM (e.g. the ``tts:say`` action)."""
        word = str(data.get("text") or "") if isinstance(data, dict) else ""
        if not word:
            return
        turn = self.bot_turn
        if turn is None:
            turn = self.bot_turn = self.add_turn("bot", "Bot (speaking)", "", final=True)
            turn.dataset.source = "tts"
        if str(turn.dataset.source) == "tts":
            text = query(turn, ".text")
            text.textContent = f"{text.textContent} {word}".strip()
            return
        spoken = query(turn, ".spoken")
        if spoken is None:
            spoken = h("span", {"class": "spoken"}, "spoken: ")
            turn.append(spoken)
        spoken.textContent = f"{spoken.textContent}{word} "

    def on_bot_stopped_speaking_event(self) -> None:
        self.on_speaking("bot", False)
        self.on_bot_stopped_speaking()

    def on_bot_stopped_speaking(self) -> None:
        """A finished turn closes once it has been spoken; later speech starts a new one."""
        turn = self.bot_turn
        if turn is None:
            return
        if str(turn.dataset.source) == "tts":
            self.bot_turn = None
            return
        spoken = query(turn, ".spoken")
        said = str(spoken.textContent).removeprefix("spoken: ") if spoken is not None else ""
        if str(turn.dataset.final) == "true" and model.spoken_complete(
            str(query(turn, ".text").textContent), said
        ):
            self.bot_turn = None

    async def on_text_submit(self, event: Any) -> None:
        box = self.el["text-input"]
        text = str(box.value).strip()
        if not text:
            return
        mode = model.text_mode(str(self.el["text-mode"].value), self.bot_version_text())
        self.last_typed = text
        self.add_turn("user", "You (typed)", text, final=True)
        box.value = ""
        if mode == "send-text":
            self.log("send_text()", {"content": text}, kind="call")
            self.client.send_text(text)
        else:
            self.log("llm.append_to_messages()", {"content": text}, kind="call")
            await self.llm.append_to_messages({"role": "user", "content": text}, True)

    def bot_version_text(self) -> str | None:
        data = self.client.bot_ready_data
        version = data.get("version") if isinstance(data, dict) else None
        return str(version) if version else None

    # --- config ---------------------------------------------------------------------------------

    def config_status(self, text: str, status: str = "ok") -> None:
        element = self.el["config-status"]
        element.dataset.status = status
        set_text(element, text)

    async def load_config(self) -> None:
        try:
            described = await self.client.describe_config()
            self.services = model.described_services(described.data)
            # Merge: a bot may report only the options it was started with (pipecat does), so
            # values applied in this session stay known.
            self.config.update(model.config_values(await self.client.get_config()))
        except Exception as exc:
            self.el["config-empty"].hidden = True
            self.config_status(f"Configuration unavailable: {exc}", "error")
            self.log("describe_config()", str(exc), kind="error")
            return
        self.render_config()
        self.config_status(f"{len(self.services)} services described by the bot.")

    def render_config(self) -> None:
        fields = self.el["config-fields"]
        clear(fields)
        for service in self.services:
            fieldset = h(
                "fieldset",
                {"data-service": service["name"]},
                h("legend", {"text": service["name"]}),
            )
            for option in service["options"]:
                fieldset.append(self.option_field(service["name"], option))
            fields.append(fieldset)
        self.el["config-form"].hidden = not self.services
        self.el["config-empty"].hidden = bool(self.services)

    def option_field(self, service: str, option: dict[str, Any]) -> Any:
        name, kind = option["name"], str(option.get("type") or "string")
        control_id = "config-" + slug(service, name)
        value = self.config.get((service, name), option.get("default"))
        control = self.value_control(control_id, kind, value, option.get("values"))
        control.dataset.service = service
        control.dataset.option = name
        control.dataset.type = kind
        control.dataset.initial = str(self.raw_value(control))
        return h(
            "div",
            {"class": "field"},
            h(
                "label",
                {"for": control_id},
                f"{name} ",
                h("span", {"class": "type", "aria-hidden": "true", "text": kind}),
            ),
            control,
        )

    @staticmethod
    def value_control(control_id: str, kind: str, value: Any, choices: Any = None) -> Any:
        if isinstance(choices, list) and choices:
            select = h("select", {"id": control_id})
            names = [str(c) for c in choices]
            if value is not None and str(value) not in names:
                names.insert(0, str(value))
            for choice in names:
                select.append(h("option", {"value": choice, "text": choice}))
            if value is not None:
                select.value = str(value)
            return select
        if kind == "bool":
            box = h("input", {"id": control_id, "type": "checkbox"})
            box.checked = bool(value)
            return box
        if kind in ("array", "object"):
            area = h("textarea", {"id": control_id, "rows": "3", "spellcheck": "false"})
            area.value = model.format_value(kind, value)
            return area
        control = h("input", {"id": control_id, "type": "number" if kind == "number" else "text"})
        if kind == "number":
            control.setAttribute("step", "any")
        control.value = model.format_value(kind, value)
        return control

    @staticmethod
    def raw_value(control: Any) -> Any:
        """What the control holds: a bool for a checkbox, its text otherwise."""
        return bool(control.checked) if str(control.type) == "checkbox" else str(control.value)

    @classmethod
    def control_value(cls, control: Any) -> Any:
        return model.parse_value(str(control.dataset.type), cls.raw_value(control))

    async def on_config_submit(self, event: Any) -> None:
        """Send only what the person changed since the form was drawn (or last applied)."""
        changes: dict[tuple[str, str], Any] = {}
        changed_controls = []
        for control in self.el["config-fields"].querySelectorAll("[data-option]"):
            if str(self.raw_value(control)) == str(control.dataset.initial):
                continue
            key = (str(control.dataset.service), str(control.dataset.option))
            try:
                changes[key] = self.control_value(control)
            except ValueError as exc:
                self.config_status(f"{key[0]}.{key[1]}: {exc}", "error")
                control.focus()
                return
            changed_controls.append(control)
        if not changes:
            self.config_status("Nothing changed.")
            return
        update = model.config_update(changes)
        self.log("update_config()", update, kind="call")
        self.config_status("Applying…", "pending")
        try:
            reply = await self.client.update_config(update)
        except Exception as exc:
            self.config_status(f"Not applied: {getattr(exc, 'message', None) or exc}", "error")
            return
        data = reply.data if isinstance(reply.data, dict) else {}
        self.config.update(changes)
        if isinstance(data.get("config"), list):
            self.config.update(model.config_values(data["config"]))
        for control in changed_controls:
            control.dataset.initial = str(self.raw_value(control))
        applied = ", ".join(f"{s}.{n} = {model.summarize(v, 40)}" for (s, n), v in changes.items())
        self.config_status(f"Applied: {applied}")

    def on_config(self, config: Any) -> None:
        if isinstance(config, list):
            self.config.update(model.config_values(config))

    # --- actions ----------------------------------------------------------------------------------

    async def load_actions(self) -> None:
        try:
            reply = await self.client.describe_actions()
        except Exception as exc:
            self.log("describe_actions()", str(exc), kind="error")
            set_text(
                self.el["actions-empty"],
                f"This bot does not describe its actions ({getattr(exc, 'message', None) or exc}). "
                "The form below still sends any action.",
            )
            self.el["actions-empty"].hidden = False
            return
        self.actions = model.described_actions(reply.data)
        self.render_actions()

    def render_actions(self) -> None:
        box = self.el["actions-list"]
        clear(box)
        for spec in self.actions:
            box.append(self.action_form(spec))
        box.append(self.custom_action_form())
        self.el["actions-empty"].hidden = bool(self.actions)
        self.update_buttons()

    def action_form(self, spec: dict[str, Any]) -> Any:
        service, action = spec["service"], spec["action"]
        form_id = "action-" + slug(service, action)
        fieldset = h(
            "fieldset",
            None,
            h("legend", {"text": f"{service}:{action}"}),
        )
        for argument in spec["arguments"]:
            control_id = f"{form_id}-{slug(argument['name'])}"
            default = model.ARGUMENT_DEFAULTS.get((service, action, argument["name"]))
            value = model.parse_value(argument["type"], default) if default is not None else None
            control = self.value_control(control_id, argument["type"], value)
            control.dataset.argument = argument["name"]
            control.dataset.type = argument["type"]
            fieldset.append(
                h(
                    "div",
                    {"class": "field"},
                    h(
                        "label",
                        {"for": control_id},
                        f"{argument['name']} ",
                        h(
                            "span",
                            {"class": "type", "aria-hidden": "true", "text": argument["type"]},
                        ),
                    ),
                    control,
                )
            )
        result = spec.get("result")
        fieldset.append(
            h(
                "div",
                {"class": "row"},
                h("button", {"type": "submit", "text": "Run"}),
                h("span", {"class": "hint", "text": f"returns {result}" if result else ""}),
            )
        )
        fieldset.append(h("span", {"class": "stream", "aria-live": "polite"}))
        fieldset.append(h("output", {"for": form_id, "aria-live": "polite"}))
        form = h(
            "form",
            {"class": "action", "id": form_id, "data-action": f"{service}:{action}"},
            fieldset,
        )
        self.bind.on(form, "submit", lambda e: self.run_action(e, form, service, action))
        return form

    def custom_action_form(self) -> Any:
        form_id = "action-custom"
        fieldset = h("fieldset", None, h("legend", {"text": "Any action"}))
        for name, kind, value in (
            ("service", "string", "llm"),
            ("action", "string", "append_to_messages"),
            (
                "arguments",
                "object",
                {
                    "messages": [{"role": "user", "content": "Tell me a joke"}],
                    "run_immediately": True,
                },
            ),
        ):
            control = self.value_control(f"{form_id}-{name}", kind, value)
            control.dataset.field = name
            control.dataset.type = kind
            fieldset.append(
                h(
                    "div",
                    {"class": "field"},
                    h("label", {"for": f"{form_id}-{name}", "text": name}),
                    control,
                )
            )
        fieldset.append(h("div", {"class": "row"}, h("button", {"type": "submit", "text": "Run"})))
        fieldset.append(h("span", {"class": "stream", "aria-live": "polite"}))
        fieldset.append(h("output", {"for": form_id, "aria-live": "polite"}))
        form = h("form", {"class": "action", "id": form_id, "data-action": "custom"}, fieldset)
        self.bind.on(form, "submit", lambda e: self.run_action(e, form, None, None))
        return form

    async def run_action(
        self, event: Any, form: Any, service: str | None, action: str | None
    ) -> None:
        output = form.querySelector("output")
        stream = form.querySelector(".stream")
        try:
            if service is None or action is None:
                service, action, arguments = self.custom_action_values(form)
            else:
                arguments = [
                    {"name": str(c.dataset.argument), "value": self.control_value(c)}
                    for c in form.querySelectorAll("[data-argument]")
                ]
        except ValueError as exc:
            output.dataset.status = "error"
            set_text(output, f"Invalid input: {exc}")
            return
        connected = self.client.state == TransportState.READY
        if not connected:
            self.apply_settings()
        call = {"service": service, "action": action, "arguments": arguments}
        self.log("action()" if connected else "action() over HTTP", call, kind="call")
        output.dataset.status = "running"
        set_text(output, "running…" if connected else "running over HTTP (no session)…")
        set_text(stream, "")
        button = form.querySelector("button[type=submit]")
        button.disabled = True
        self.streams.append(stream)
        started = now_ms()
        try:
            reply = await self.client.action(service, action, arguments)
        except Exception as exc:
            output.dataset.status = "error"
            set_text(output, f"Failed: {getattr(exc, 'message', None) or exc}")
            problem = model.classify_error(exc)
            if problem.kind in ("bot-down", "timeout"):
                self.show_problem(problem)
            return
        finally:
            self.streams.remove(stream)
            button.disabled = False
        data = reply.data if isinstance(reply.data, dict) else {}
        output.dataset.status = "ok"
        set_text(
            output,
            f"result: {model.summarize(data.get('result'), 400)}  ({model.format_ms(now_ms() - started)})",
        )

    def custom_action_values(self, form: Any) -> tuple[str, str, list[dict[str, Any]]]:
        values = {
            str(c.dataset.field): self.control_value(c)
            for c in form.querySelectorAll("[data-field]")
        }
        service, action = str(values["service"]).strip(), str(values["action"]).strip()
        if not service or not action:
            raise ValueError("service and action are required")
        arguments = [{"name": k, "value": v} for k, v in dict(values["arguments"]).items()]
        return service, action, arguments

    # --- event log ------------------------------------------------------------------------------

    def _logger_for(self, event: RTVIEvent) -> Any:
        name = str(event)

        def log_event(*args: Any) -> None:
            if name in model.SILENT_EVENTS:
                return
            if name in model.STREAMED_EVENTS and not self.el["log-verbose"].checked:
                return
            shown = [describe_arg(a) for a in args]
            data: Any = shown[0] if len(shown) == 1 else (shown or None)
            kind = "error" if name in ("error", "messageError", "deviceError") else "event"
            self.log(name, data, kind=kind)

        return log_event

    def log(self, name: str, data: Any, *, kind: str = "event") -> None:
        since_start, since_last = self.clock.stamp(now_ms())
        entry = h(
            "li",
            {"data-event": name, "data-kind": kind},
            h("span", {"class": "t", "text": f"+{model.format_ms(since_start)}"}),
            h("span", {"class": "dt", "text": f"Δ{since_last:.0f}"}),
            h("span", {"class": "name", "text": name}),
            h("span", {"class": "data", "text": model.summarize(data)}),
        )
        log = self.el["event-log"]
        log.append(entry)
        while log.childElementCount > MAX_LOG_ENTRIES:
            log.firstElementChild.remove()
        with contextlib.suppress(Exception):
            log.scrollTop = log.scrollHeight
