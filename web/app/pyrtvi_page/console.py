"""The console: one ``RTVIClient`` over a browser transport (WebRTC or WebSocket), shown to a person.

Everything the page shows comes from the client's public API: events (``client.on``), the
connect/disconnect lifecycle, devices, config (describe-config / get-config / update-config),
actions (describe-actions / action, disconnected over HTTP when there is no session), and
``send_text`` / ``LLMHelper.append_to_messages`` for the text box.

Each panel is a module of its own (``session``, ``media``, ``conversation``, ``bot_config``,
``actions``, ``event_log``, ``banner``); the ``Console`` builds the client, routes its events
to the panels and runs the session's lifecycle, which touches several of them.

The transport picker (connection settings) is read at each connect: WebSocket asks the server
for a WebSocket session (``"transport": "websocket"`` in the connect body, as the runner's
``/start`` takes it) and opens whatever ``ws_url`` the reply gives; a reply without one is the
"no WebSocket" banner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rtvi import AbortError, LLMHelper, RTVIClient, RTVIEvent, Transport, TransportState
from rtvi.transports.small_webrtc import SmallWebRTCTransport

from . import model
from .actions import ActionsPanel
from .banner import Banner
from .bot_config import ConfigPanel
from .conversation import Conversation
from .dom import Bindings, by_id
from .event_log import EventLog, now_ms
from .media import MediaPanel
from .session import IDLE_STATES, SessionPanel
from .transcript import Turn, payload_text

logger = logging.getLogger("pyrtvi.page")


class Console:
    """Builds the client, composes the panels, and routes what the client reports to them."""

    def __init__(self) -> None:
        self.bind = Bindings(on_error=self.report)
        self.events = EventLog(self.bind)
        log = self.events.log
        self.banner = Banner(self.bind, log)
        self.session = SessionPanel()
        self.connect_started: float | None = None
        self.leaving = False  # the person asked to disconnect, or the bot to leave

        self.transport_kind = self.session.transport_kind()
        self.transport = build_transport(self.transport_kind)
        self.client = RTVIClient(
            transport=self.transport,
            params={"base_url": self.session.base_url()},
            timeout=self.session.timeout(),
            enable_mic=True,
            enable_cam=False,
        )
        self.llm = LLMHelper()
        self.client.register_helper("llm", self.llm)

        self.media = MediaPanel(self.client, self.bind, log, on_mic=self.on_mic_switched)
        self.conversation = Conversation(self.client, self.llm, self.bind, log)
        self.config = ConfigPanel(self.client, self.bind, log)
        self.actions = ActionsPanel(
            self.client, self.bind, log, self.banner.show, self.apply_settings
        )
        bind = self.bind.on
        bind(self.session.connect, "click", lambda _e: self.connect())
        bind(self.session.disconnect, "click", lambda _e: self.disconnect())
        bind(self.session.leave, "click", lambda _e: self.ask_bot_to_leave())
        self.subscribe()
        self.actions.render()
        self.update_buttons()

    # --- wiring -----------------------------------------------------------------------------

    def subscribe(self) -> None:
        client, media, transcript = self.client, self.media, self.conversation.transcript
        draw = self.draw
        for event in RTVIEvent:
            client.on(event, self.events.handler_for(str(event)))
        handlers: dict[RTVIEvent, Callable[..., Any]] = {
            RTVIEvent.TRANSPORT_STATE_CHANGED: self.on_state,
            RTVIEvent.BOT_READY: self.on_bot_ready,
            RTVIEvent.DISCONNECTED: self.on_disconnected,
            RTVIEvent.BOT_DISCONNECTED: self.on_bot_disconnected,
            RTVIEvent.ERROR: self.on_bot_error,
            RTVIEvent.USER_STARTED_SPEAKING: lambda: self.on_user_speaking(True),
            RTVIEvent.USER_STOPPED_SPEAKING: lambda: self.on_user_speaking(False),
            RTVIEvent.BOT_STARTED_SPEAKING: lambda: media.show_speaking("bot", True),
            RTVIEvent.BOT_STOPPED_SPEAKING: self.on_bot_stopped_speaking,
            RTVIEvent.USER_TRANSCRIPT: self.on_user_transcript,
            RTVIEvent.USER_LLM_TEXT: lambda d: draw(transcript.user_llm_text(payload_text(d))),
            RTVIEvent.BOT_LLM_STARTED: lambda: draw(transcript.bot_llm_started()),
            RTVIEvent.BOT_LLM_TEXT: self.on_bot_llm_text,
            RTVIEvent.BOT_LLM_STOPPED: lambda: draw(transcript.bot_llm_stopped()),
            RTVIEvent.BOT_TTS_TEXT: lambda d: draw(transcript.bot_tts_text(payload_text(d))),
            RTVIEvent.LOCAL_AUDIO_LEVEL: lambda level: media.show_level("local-level", level),
            RTVIEvent.REMOTE_AUDIO_LEVEL: lambda level, *_: media.show_level("bot-level", level),
            RTVIEvent.AVAILABLE_MICS_UPDATED: lambda d: media.show_devices("mic", d),
            RTVIEvent.AVAILABLE_SPEAKERS_UPDATED: lambda d: media.show_devices("speaker", d),
            RTVIEvent.AVAILABLE_CAMS_UPDATED: lambda d: media.show_devices("cam", d),
            RTVIEvent.MIC_UPDATED: lambda d: media.show_selected("mic", d),
            RTVIEvent.SPEAKER_UPDATED: lambda d: media.show_selected("speaker", d),
            RTVIEvent.CAM_UPDATED: lambda d: media.show_selected("cam", d),
            RTVIEvent.TRACK_STARTED: media.show_track,
            RTVIEvent.DEVICE_ERROR: self.on_device_error,
            RTVIEvent.CONFIG: self.config.remember,
        }
        for event, handler in handlers.items():
            client.on(event, handler)

    def apply_settings(self) -> None:
        """The connection settings as they are now in the form."""
        self.client.params.base_url = self.session.base_url()
        self.client.timeout = self.session.timeout()

    def apply_transport(self) -> None:
        """Between sessions: the client uses the transport the picker names from now on."""
        kind = self.session.transport_kind()
        if kind != self.transport_kind and self.client.state in IDLE_STATES:
            self.transport = build_transport(kind)
            self.client.set_transport(self.transport)
            self.transport_kind = kind

    def report(self, exc: BaseException) -> None:
        self.banner.show(model.classify_error(exc, timeout=self.client.timeout))

    def update_buttons(self) -> None:
        state = self.client.state
        ready = state == TransportState.READY
        self.session.update_buttons(state, leaving=self.leaving)
        self.conversation.enable(ready)
        self.config.enable(ready)
        self.actions.enable(ready)

    # --- the session's lifecycle ------------------------------------------------------------

    async def connect(self) -> None:
        if self.client.state not in IDLE_STATES:
            return
        self.banner.hide()
        self.apply_settings()
        self.apply_transport()
        mic_on = self.session.mic_at_start
        self.client.enable_mic(mic_on)
        self.media.set_pressed("mic", mic_on)
        self.events.restart_clock()
        self.connect_started = now_ms()
        self.config.forget()
        self.session.show_connecting()
        self.events.log(
            "connect()",
            {"base_url": self.client.params.base_url, "transport": self.transport_kind},
            kind="call",
        )
        self.leaving = False
        request_data = self.client.params.request_data
        if self.transport_kind == "websocket":  # ask the server for a WebSocket session
            request_data["transport"] = "websocket"
        try:
            await self.client.connect()
        except Exception as exc:
            logger.warning("connect failed: %r", exc)
            if isinstance(exc, AbortError) and self.leaving:
                self.session.show_connect_time("cancelled")
            else:
                self.report(exc)
                self.session.show_connect_time("failed")
            self.update_buttons()
        finally:
            request_data.pop("transport", None)  # only the connect request carries it

    async def disconnect(self) -> None:
        self.leaving = True
        self.events.log("disconnect()", None, kind="call")
        self.session.disable_disconnect()
        await self.client.disconnect()
        self.update_buttons()

    async def ask_bot_to_leave(self) -> None:
        self.leaving = True  # asked for: the bot leaving is no surprise
        self.events.log("disconnect_bot()", None, kind="call")
        self.session.disable_leave()
        try:
            await self.client.disconnect_bot()
        except Exception as exc:
            self.leaving = False
            self.report(exc)
            self.update_buttons()

    def on_state(self, state: Any) -> None:
        self.session.show_state(state)
        self.update_buttons()

    def on_bot_ready(self, data: Any) -> None:
        version = data.get("version") if isinstance(data, dict) else None
        self.session.show_ready(str(version) if version else None)
        if self.connect_started is not None:
            self.session.show_connect_time(model.format_ms(now_ms() - self.connect_started))
        self.update_buttons()
        self.bind.spawn(self.config.load())
        self.bind.spawn(self.actions.load())

    def on_bot_disconnected(self, *_args: Any) -> None:
        # A banner already up (e.g. the fatal "connection lost" error) says more: keep it.
        if not self.leaving and self.client.state not in IDLE_STATES and not self.banner.shown:
            self.banner.show(model.BOT_LEFT)

    def on_disconnected(self) -> None:
        self.session.show_not_ready()
        self.media.show_idle()
        self.draw(self.conversation.transcript.close())
        self.update_buttons()

    def on_bot_error(self, message: Any) -> None:
        idle = self.client.state in IDLE_STATES
        problem = model.bot_error_problem(getattr(message, "data", message), idle=idle)
        if problem is not None:
            self.banner.show(problem)

    def on_device_error(self, error: Any) -> None:
        if isinstance(error, BaseException):
            self.report(error)

    def on_mic_switched(self, on: bool) -> None:
        self.session.mic_at_start = on

    # --- the conversation -------------------------------------------------------------------

    def draw(self, changes: list[Turn]) -> None:
        self.conversation.apply(changes)

    def on_user_speaking(self, speaking: bool) -> None:
        self.media.show_speaking("user", speaking)
        transcript = self.conversation.transcript
        self.draw(
            transcript.user_started_speaking() if speaking else transcript.user_stopped_speaking()
        )

    def on_user_transcript(self, data: Any) -> None:
        if isinstance(data, dict):
            changes = self.conversation.transcript.user_transcript(
                payload_text(data), final=bool(data.get("final"))
            )
            self.draw(changes)

    def on_bot_llm_text(self, data: Any) -> None:
        token = payload_text(data)
        self.draw(self.conversation.transcript.bot_llm_text(token))
        self.actions.stream(token)

    def on_bot_stopped_speaking(self) -> None:
        self.media.show_speaking("bot", False)
        self.draw(self.conversation.transcript.bot_stopped_speaking())


def build_transport(kind: str) -> Transport:
    """The transport the picker names, playing the bot in the page's ``#bot-audio``."""
    if kind == "websocket":
        from rtvi.transports.websocket.transport import WebSocketTransport

        return WebSocketTransport(audio_element=by_id("bot-audio"))
    return SmallWebRTCTransport(audio_element=by_id("bot-audio"))
