"""``SmallWebRTCTransport``: the client's default transport, a browser ``RTCPeerConnection``.

Talks to a Pipecat ``SmallWebRTCTransport`` bot (PROTOCOL §4): transceivers audio (index 0)
then video (index 1), a data channel ``"chat"`` (ordered) created before the offer, the SDP offer
POSTed as ``{sdp, type, pc_id, restart_pc, requestData}`` to the offer URL, the answer applied,
``pc_id`` kept for every later offer. ICE candidates are either gathered into the offer (the
wait is capped) or trickled by ``PATCH {pc_id, candidates}`` when the bot supports it.

Once the data channel is open: ``trackStatus`` for mic and camera, a ``"ping: <ms>"`` keepalive
every second, then the client sends ``client-ready``. The bot may ask to ``renegotiate``
(a new offer on the same connection) or say ``peerLeft`` (bot disconnected, then we
disconnect). ICE ``failed`` (or ``disconnected`` for longer than a grace period) recreates the
peer connection with ``restart_pc: true``, at most ``reconnect_attempts`` times in a row; then
the transport reports an error and disconnects.

Media stays in the browser: the bot's audio plays in an ``<audio>`` element (its video, if any,
in a ``<video>`` element), levels come from WebAudio analysers. Every JS proxy the transport
creates is released on disconnect (see ``_browser.live_proxies``).

``js`` is imported only when a browser object is first made (``_browser`` and ``media`` import
it lazily), so this module imports anywhere.

The offer URL comes from the auth bundle the client's connect request returns
(``{session_id, offer_url, ice_servers}``) or, without a connect endpoint, from the
``offer_url`` (alias ``webrtc_url``) option.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..abort import AbortSignal
from ..errors import (
    AbortError,
    MessageTooLargeError,
    RTVIError,
    TransportStartError,
    UnsupportedFeatureError,
)
from ..http.base import HTTPTimeoutError
from ..messages import MESSAGE_LABEL, RTVIMessage
from ..state import TransportState
from ..transport import (
    DEFAULT_MAX_MESSAGE_SIZE,
    BotTracks,
    DeviceInfo,
    LocalTracks,
    Participant,
    Tracks,
    Transport,
    transport_error,
)
from ._browser import (
    Listeners,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCSessionDescription,
    js_error_text,
    js_value,
    now_ms,
)
from .media import (
    AudioLevels,
    DeviceWatcher,
    LocalMedia,
    MediaElement,
    enumerate_devices,
    get_display_media_track,
    media_stream,
    track_device_id,
)

logger = logging.getLogger("rtvi.transports.webrtc")

T = TypeVar("T")

#: Receiver indexes the bot maps to mic/camera (transceiver creation order).
AUDIO_INDEX = 0
VIDEO_INDEX = 1
SCREEN_INDEX = 2  # a third, send-only video transceiver (small-webrtc-transport 1.3+)

_KIND = {"audio": AUDIO_INDEX, "video": VIDEO_INDEX, "screen": SCREEN_INDEX}
_LOCAL = Participant(id="local", name="local", local=True)


class TransportNotConnectedError(RTVIError):
    """A message was sent while the data channel is not open (e.g. during a reconnect)."""

    default_message = "The data channel is not open"


@dataclass(frozen=True)
class ConnectionTarget:
    """Where and how to connect, resolved from the options and the auth bundle."""

    offer_url: str
    ice_servers: list[dict[str, Any]]
    ice_trickle: bool
    request_data: dict[str, Any] | None
    session_id: str | None = None


@dataclass(eq=False)
class _Session:
    """Everything one connect() opened; closed as a whole by disconnect()."""

    target: ConnectionTarget
    pc: Any = None  # _browser.RTCPeerConnection
    dc: Any = None  # _browser.RTCDataChannel
    transceivers: dict[str, Any] = field(default_factory=dict)
    channel_open: asyncio.Future[None] | None = None
    negotiation: asyncio.Lock = field(default_factory=asyncio.Lock)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    pending_candidates: list[dict[str, Any]] = field(default_factory=list)
    can_trickle: bool = False
    reconnecting: bool = False
    failed_attempts: int = 0
    bot_audio: Any = None
    bot_video: Any = None
    bot: Participant = field(default_factory=lambda: Participant(id="", name="bot"))
    bot_left: bool = False  # bot-disconnected was reported (once per session)
    closed: bool = False


class SmallWebRTCTransport(Transport):
    """WebRTC transport for Pipecat's SmallWebRTC bots, in the browser (Pyodide).

    Options (all keyword):

    - ``offer_url`` / ``webrtc_url``: where to POST offers when the auth bundle has no
      ``offer_url`` (connecting without a connect endpoint).
    - ``ice_servers``: ``RTCIceServer`` dicts; default: the bundle's, else none.
    - ``ice_trickle``: send candidates by ``PATCH`` instead of waiting for ICE gathering
      (pipecat ≥ 0.0.91). ``None``: the bundle decides (``ice_trickle``), default off.
    - ``request_data``: sent as ``requestData`` with every offer.
    - ``audio_element`` / ``video_element``: where the bot plays (element or CSS selector);
      by default a hidden ``<audio>`` is created (and removed on disconnect), bot video is
      played only when a ``video_element`` is given.
    - ``screen_share``: add the screen transceiver (index 2) so ``enable_screen_share`` works
      (pipecat's SmallWebRTC reads it as the screen video input); off by default.
    - timings, in seconds: ``ice_gathering_timeout`` (2), ``offer_timeout`` (10),
      ``open_timeout`` (15, offer answered → data channel open), ``ice_disconnected_grace``
      (2, how long ICE may stay ``disconnected`` before a reconnect), ``media_timeout`` (2,
      no bot audio packets for that long also means a lost connection; ``None`` turns this
      off, e.g. for bots that send no audio), ``reconnect_delay`` (1),
      ``keepalive_interval`` (1), ``audio_level_interval`` (0.1); ``reconnect_attempts`` (3).
    """

    def __init__(
        self,
        *,
        offer_url: str | None = None,
        webrtc_url: str | None = None,
        ice_servers: Sequence[Mapping[str, Any]] | None = None,
        ice_trickle: bool | None = None,
        request_data: Mapping[str, Any] | None = None,
        audio_element: Any = None,
        video_element: Any = None,
        ice_gathering_timeout: float = 2.0,
        offer_timeout: float = 10.0,
        open_timeout: float = 15.0,
        ice_disconnected_grace: float = 2.0,
        media_timeout: float | None = 2.0,
        reconnect_attempts: int = 3,
        reconnect_delay: float = 1.0,
        keepalive_interval: float = 1.0,
        audio_level_interval: float = 0.1,
        screen_share: bool = False,
    ) -> None:
        super().__init__()
        self.offer_url = offer_url or webrtc_url
        self.ice_servers = [dict(s) for s in ice_servers] if ice_servers is not None else None
        self.ice_trickle = ice_trickle
        self.request_data = dict(request_data) if request_data is not None else None
        self.ice_gathering_timeout = ice_gathering_timeout
        self.offer_timeout = offer_timeout
        self.open_timeout = open_timeout
        self.ice_disconnected_grace = ice_disconnected_grace
        self.media_timeout = media_timeout
        self.reconnect_attempts = reconnect_attempts
        self.reconnect_delay = reconnect_delay
        self.keepalive_interval = keepalive_interval
        self.audio_level_interval = audio_level_interval
        self.screen_share = screen_share
        self._audio_element_option = audio_element
        self._video_element_option = video_element
        self._session: _Session | None = None
        self._pc_id: str | None = None
        self._speaker_id: str | None = None
        # Browser objects, made on first use (so the class can be built in CPython).
        self._local: Any = None  # media.LocalMedia
        self._devices: Any = None  # media.DeviceWatcher
        self._bot_audio_element: Any = None  # media.MediaElement
        self._bot_video_element: Any = None
        self._levels: Any = None  # media.AudioLevels
        self._level_values: dict[str, float] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._screen_listeners = Listeners()  # on the shared screen track ("ended")
        self._screen_lock = asyncio.Lock()  # one start/stop at a time

    # --- public extras ----------------------------------------------------------------------

    @property
    def pc_id(self) -> str | None:
        """The bot's id for this peer connection (from the first answer)."""
        return self._pc_id

    @property
    def session_id(self) -> str | None:
        return self._session.target.session_id if self._session else None

    @property
    def peer_connection(self) -> Any:
        """The browser ``RTCPeerConnection`` of the current session (for stats), or ``None``."""
        session = self._session
        return session.pc.js if session and session.pc else None

    @property
    def data_channel(self) -> Any:
        """The browser ``RTCDataChannel`` of the current session, or ``None``."""
        session = self._session
        return session.dc.js if session and session.dc else None

    @property
    def audio_element(self) -> Any:
        """The ``<audio>`` element the bot plays in (created on first access if none given)."""
        return self._bot_media("audio").element

    def set_audio_element(self, element: Any) -> None:
        """Play the bot's audio in ``element`` (element or CSS selector) from now on."""
        self._audio_element_option = element
        if self._bot_audio_element is not None:
            self._bot_audio_element.set_element(element)

    def set_video_element(self, element: Any) -> None:
        """Play the bot's video in ``element`` (element or CSS selector) from now on."""
        self._video_element_option = element
        if self._bot_video_element is not None:
            self._bot_video_element.set_element(element)
        elif self._session is not None and self._session.bot_video is not None:
            self._bot_media("video").play(media_stream(self._session.bot_video))

    @property
    def local_audio_level(self) -> float:
        """Latest microphone level (RMS, 0..1); 0 when not measured."""
        return self._level_values.get("local", 0.0)

    @property
    def bot_audio_level(self) -> float:
        """Latest bot audio level (RMS, 0..1) as played; 0 when not measured."""
        return self._level_values.get("bot", 0.0)

    # --- lifecycle --------------------------------------------------------------------------

    async def init_devices(self) -> None:
        self.state = TransportState.INITIALIZING
        if self._local is None:
            self._local = LocalMedia()
        for kind, wanted in (("audio", self.is_mic_enabled), ("video", self.is_cam_enabled)):
            if wanted and self._local.track(kind) is None:
                await self._acquire(kind)
        if self._devices is None:
            self._devices = DeviceWatcher(self._on_device_change)
        self._devices.start()
        await self._report_devices()
        self.state = TransportState.INITIALIZED

    async def connect(self, auth_bundle: Any, abort: AbortSignal) -> None:
        if self._session is not None:
            raise TransportStartError("already connected: disconnect() first")
        target = self.resolve_target(auth_bundle)
        self.state = TransportState.CONNECTING
        session = _Session(target)
        self._session = session
        self._pc_id = None
        opening = asyncio.ensure_future(self._open(session))
        aborted = asyncio.ensure_future(abort.wait())
        try:
            await asyncio.wait({opening, aborted}, return_when=asyncio.FIRST_COMPLETED)
            if not opening.done():
                opening.cancel()
                with contextlib.suppress(BaseException):
                    await opening
                abort.throw_if_aborted()
            opening.result()
        except BaseException as exc:
            opening.cancel()  # e.g. our caller was cancelled: stop the offer/answer too
            await self._close_session(session)
            if self._session is session:
                self._session = None
            if isinstance(exc, RTVIError | asyncio.CancelledError):
                raise
            raise TransportStartError(f"WebRTC connection failed: {js_error_text(exc)}") from exc
        finally:
            aborted.cancel()
        if self._session is not session:  # disconnect() won the race
            raise AbortError()
        self._start_task(session, self._keepalive(session))
        self._start_task(session, self._report_levels(session))
        self._start_task(session, self._watch_media(session))
        self.state = TransportState.CONNECTED
        self.callbacks.on_connected()
        self.callbacks.on_bot_connected(session.bot)

    async def disconnect(self) -> None:
        session, self._session = self._session, None
        if session is None and self.state in (
            TransportState.DISCONNECTED,
            TransportState.DISCONNECTING,
        ):
            self._release_devices()
            return
        self.state = TransportState.DISCONNECTING
        if session is not None:
            await self._close_session(session)
        self._release_devices()
        self._pc_id = None
        self.state = TransportState.DISCONNECTED
        self.callbacks.on_disconnected()

    def send_message(self, message: RTVIMessage) -> None:
        self.send_text(message.to_json())

    def send_text(self, text: str) -> None:
        """Send one text message on the data channel, refusing what SCTP would choke on."""
        session = self._session
        dc = session.dc if session else None
        if dc is None or dc.readyState != "open":
            raise TransportNotConnectedError()
        size = len(text.encode("utf-8"))
        if size > self.max_message_size:
            raise MessageTooLargeError(size, self.max_message_size)
        dc.send(text)

    @property
    def max_message_size(self) -> int:
        session = self._session
        size = session.pc.maxMessageSize if session and session.pc else None
        return size or DEFAULT_MAX_MESSAGE_SIZE

    # --- devices ----------------------------------------------------------------------------

    async def get_all_mics(self) -> list[DeviceInfo]:
        return await enumerate_devices("audioinput")

    async def get_all_cams(self) -> list[DeviceInfo]:
        return await enumerate_devices("videoinput")

    async def get_all_speakers(self) -> list[DeviceInfo]:
        return await enumerate_devices("audiooutput")

    async def update_mic(self, device_id: str) -> None:
        await self._switch_device("audio", device_id)

    async def update_cam(self, device_id: str) -> None:
        await self._switch_device("video", device_id)

    async def update_speaker(self, device_id: str) -> None:
        element = self._bot_media("audio")
        try:
            await element.set_sink_id(device_id)
        except NotImplementedError as exc:
            raise UnsupportedFeatureError(
                "speaker selection", type(self).__name__, str(exc)
            ) from None
        except Exception as exc:
            self.callbacks.on_device_error(exc)
            raise
        self._speaker_id = device_id
        device = await self._find_device("audiooutput", device_id)
        self.callbacks.on_speaker_updated(device)

    @property
    def selected_mic(self) -> DeviceInfo | None:
        return self._selected("audio")

    @property
    def selected_cam(self) -> DeviceInfo | None:
        return self._selected("video")

    @property
    def selected_speaker(self) -> DeviceInfo | None:
        if self._speaker_id is None:
            return None
        return DeviceInfo(device_id=self._speaker_id, kind="audiooutput")

    def enable_mic(self, enable: bool) -> None:
        super().enable_mic(enable)
        self._set_enabled("audio", enable)

    def enable_cam(self, enable: bool) -> None:
        super().enable_cam(enable)
        self._set_enabled("video", enable)

    def enable_screen_share(self, enable: bool) -> None:
        """Start (the browser asks what to share) or stop sharing the screen.

        Needs ``screen_share=True``; failures are reported as ``screen_share_error``.
        """
        if not self.screen_share:
            raise UnsupportedFeatureError(
                "screen share", type(self).__name__, "create it with screen_share=True"
            )
        self._start_background(self._share_screen() if enable else self._stop_screen())

    @property
    def is_sharing_screen(self) -> bool:
        return self._local is not None and self._local.screen is not None

    def tracks(self) -> Tracks:
        local = self._local
        session = self._session
        bot = BotTracks(audio=session.bot_audio, video=session.bot_video) if session else None
        return Tracks(
            local=LocalTracks(
                audio=local.mic if local else None,
                video=local.cam if local else None,
                screen_video=local.screen if local else None,
            ),
            bot=bot,
        )

    # --- connection target ------------------------------------------------------------------

    def resolve_target(self, auth_bundle: Any) -> ConnectionTarget:
        """The offer URL, ICE servers and trickle flag from the bundle and the options."""
        bundle: Mapping[str, Any] = auth_bundle if isinstance(auth_bundle, Mapping) else {}
        url = _first(bundle, "offer_url", "offerUrl", "webrtc_url", "webrtcUrl") or self.offer_url
        if not url or not isinstance(url, str):
            raise TransportStartError(
                "no offer URL: the connect reply has no 'offer_url' and no offer_url option is set"
            )
        ice: Any = self.ice_servers
        if ice is None:
            ice = _first(bundle, "ice_servers", "iceServers")
            ice_config = bundle.get("iceConfig")
            if ice is None and isinstance(ice_config, Mapping):
                ice = ice_config.get("iceServers")
        if ice is None:
            ice = []
        if not isinstance(ice, list) or not all(isinstance(s, Mapping) for s in ice):
            raise TransportStartError("ice_servers must be a list of RTCIceServer objects")
        trickle = self.ice_trickle
        if trickle is None:
            trickle = bool(_first(bundle, "ice_trickle", "iceTrickle"))
        request_data = self.request_data
        if request_data is None and not bundle and self._options is not None:
            # Direct connect (no connect endpoint): the offer is the only request made.
            request_data = dict(self.options.params.request_data) or None
        session_id = _first(bundle, "session_id", "sessionId")
        return ConnectionTarget(
            offer_url=url,
            ice_servers=[dict(s) for s in ice],
            ice_trickle=trickle,
            request_data=request_data,
            session_id=str(session_id) if session_id is not None else None,
        )

    # --- opening ----------------------------------------------------------------------------

    async def _open(self, session: _Session) -> None:
        loop = asyncio.get_running_loop()
        session.channel_open = loop.create_future()
        self._build_peer_connection(session)
        await self._attach_local_tracks(session)
        await self._negotiate(session, restart_pc=False)
        try:
            await asyncio.wait_for(asyncio.shield(session.channel_open), self.open_timeout)
        except TimeoutError:
            raise TransportStartError(
                f"the data channel did not open within {self.open_timeout:g} s "
                f"(ICE state {session.pc.iceConnectionState})"
            ) from None

    def _build_peer_connection(self, session: _Session) -> None:
        """A new pc with transceivers audio, video and the ``chat`` data channel, wired up."""

        pc = RTCPeerConnection(session.target.ice_servers)
        session.pc = pc
        session.transceivers = {
            "audio": pc.addTransceiver("audio", "sendrecv"),
            "video": pc.addTransceiver("video", "sendrecv"),
        }
        if self.screen_share:  # the bot only receives on it
            session.transceivers["screen"] = pc.addTransceiver("video", "sendonly")
        dc = pc.createDataChannel("chat", ordered=True)
        session.dc = dc
        pc.on("track", lambda event: self._on_track(session, pc, event))
        pc.on("iceconnectionstatechange", lambda _e: self._on_ice_state(session, pc))
        pc.on("connectionstatechange", lambda _e: self._on_connection_state(session, pc))
        if session.target.ice_trickle:
            pc.on("icecandidate", lambda event: self._on_ice_candidate(session, pc, event))
        dc.on("open", lambda _e: self._on_channel_open(session, dc))
        dc.on("close", lambda _e: self._on_channel_close(session, dc))
        dc.on("error", lambda event: self._on_channel_error(session, dc, event))
        dc.on("message", lambda event: self._on_channel_message(session, event))

    async def _attach_local_tracks(self, session: _Session) -> None:
        if self._local is None:
            return
        for kind, transceiver in session.transceivers.items():
            track = self._local.track(kind)
            if track is not None:
                await transceiver.replaceTrack(track)

    async def _negotiate(self, session: _Session, *, restart_pc: bool) -> None:
        """Offer → (gathering or trickle) → POST → answer, on ``session.pc``."""

        pc = session.pc
        async with session.negotiation:
            offer = await pc.createOffer()
            await pc.setLocalDescription(offer)
            if not session.target.ice_trickle:
                completed = await pc.wait_ice_gathering(self.ice_gathering_timeout)
                if not completed:
                    logger.debug("ICE gathering capped at %gs", self.ice_gathering_timeout)
            local = pc.localDescription
            assert local is not None
            body: dict[str, Any] = {
                "sdp": local.sdp,
                "type": local.type,
                "pc_id": self._pc_id,
                "restart_pc": restart_pc,
            }
            if session.target.request_data is not None:
                body["requestData"] = session.target.request_data
            answer = await self._request(session, "POST", body)
            if not isinstance(answer, Mapping) or not isinstance(answer.get("sdp"), str):
                raise TransportStartError("the offer endpoint sent no SDP answer")
            if answer.get("type", "answer") != "answer":
                raise TransportStartError(f"expected an SDP answer, got {answer.get('type')!r}")
            if session.closed or session.pc is not pc:
                raise AbortError()
            if answer.get("pc_id"):
                self._pc_id = str(answer["pc_id"])
                session.bot.id = self._pc_id
            await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        if session.target.ice_trickle:
            session.can_trickle = True
            self._flush_candidates(session)

    async def _request(self, session: _Session, method: str, body: dict[str, Any]) -> Any:
        """One JSON request to the offer URL; failures are ``TransportStartError``s."""
        http = self._http()
        url = session.target.offer_url
        headers = {"Content-Type": "application/json"}
        if self._options is not None:
            headers = {**self.options.params.headers, **headers}

        async def exchange() -> tuple[Any, str]:
            response = await http.request(
                method, url, headers=headers, body=json.dumps(body), timeout=self.offer_timeout
            )
            return response, await response.text()

        try:
            response, text = await asyncio.wait_for(exchange(), self.offer_timeout)
        except (TimeoutError, HTTPTimeoutError):
            raise TransportStartError(
                f"{method} {url}: no answer within {self.offer_timeout:g} s"
            ) from None
        except RTVIError as exc:
            raise TransportStartError(f"{method} {url} failed: {exc.message}") from exc
        except Exception as exc:
            raise TransportStartError(f"{method} {url} failed: {js_error_text(exc)}") from exc
        if not response.ok:
            raise TransportStartError(
                f"{method} {url} answered HTTP {response.status}{_error_detail(text)}",
                status=response.status,
            )
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise TransportStartError(f"{method} {url} answered with invalid JSON") from None

    def _http(self) -> Any:
        if self._options is not None and self.options.http is not None:
            return self.options.http
        from ..http import default_adapter

        return default_adapter()

    # --- trickle ICE ------------------------------------------------------------------------

    def _on_ice_candidate(self, session: _Session, pc: Any, event: Any) -> None:
        if session.pc is not pc or js_value(event.candidate) is None:
            return
        candidate = RTCIceCandidate.from_js(event.candidate)
        if not candidate.candidate:
            return  # end of candidates: nothing to tell
        session.pending_candidates.append(
            {
                "candidate": candidate.candidate,
                "sdp_mid": candidate.sdpMid,
                "sdp_mline_index": candidate.sdpMLineIndex,
            }
        )
        if session.can_trickle:
            self._flush_candidates(session)

    def _flush_candidates(self, session: _Session) -> None:
        if session.pending_candidates and self._pc_id and not session.closed:
            candidates, session.pending_candidates = session.pending_candidates, []
            self._start_task(session, self._send_candidates(session, candidates))

    async def _send_candidates(self, session: _Session, candidates: list[dict[str, Any]]) -> None:
        try:
            await self._request(session, "PATCH", {"pc_id": self._pc_id, "candidates": candidates})
        except RTVIError as exc:
            logger.warning("trickle ICE: %s", exc.message)

    # --- data channel -----------------------------------------------------------------------

    def _on_channel_open(self, session: _Session, dc: Any) -> None:
        if session.dc is not dc or session.closed:
            return
        logger.debug("data channel open (pc_id %s)", self._pc_id)
        self._send_track_status(session, "audio", self.is_mic_enabled)
        self._send_track_status(session, "video", self.is_cam_enabled)
        if self.screen_share:
            self._send_track_status(session, "screen", self.is_sharing_screen)
        if session.channel_open is not None and not session.channel_open.done():
            session.channel_open.set_result(None)

    def _on_channel_close(self, session: _Session, dc: Any) -> None:
        if session.dc is not dc or session.closed or self._session is not session:
            return
        if session.reconnecting or session.pc.iceConnectionState in ("disconnected", "failed"):
            logger.info("data channel closed with the network down: reconnecting")
            self._schedule_reconnect(session)
            return
        logger.info("data channel closed by the bot")
        self._bot_left(session)

    def _on_channel_error(self, session: _Session, dc: Any, event: Any) -> None:
        if session.dc is not dc or session.closed:
            return
        error = getattr(event, "error", None)
        text = str(getattr(error, "message", "") or "data channel error")
        logger.warning("data channel error: %s", text)

    def _on_channel_message(self, session: _Session, event: Any) -> None:
        data = event.data
        if not isinstance(data, str):
            logger.debug("ignoring a binary data channel message")
            return
        try:
            message = json.loads(data)
        except ValueError:
            logger.debug("ignoring a non-JSON data channel message: %.80r", data)
            return
        if not isinstance(message, dict):
            logger.debug("ignoring a data channel message that is not an object: %.80r", data)
            return
        if message.get("type") == "signalling":
            self._on_signalling(session, message.get("message"))
        elif message.get("label") == MESSAGE_LABEL:
            self.deliver(message)
        else:
            logger.debug("ignoring a non-RTVI data channel message: %.80r", data)

    def _on_signalling(self, session: _Session, message: Any) -> None:
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "renegotiate":
            logger.debug("the bot asks to renegotiate")
            self._start_task(session, self._renegotiate(session))
        elif kind == "peerLeft":
            logger.info("the bot left (peerLeft)")
            self._bot_left(session)
        else:
            logger.debug("ignoring signalling message %r", message)

    async def _renegotiate(self, session: _Session) -> None:
        if session.reconnecting:
            return
        try:
            await self._negotiate(session, restart_pc=False)
        except AbortError:
            pass
        except RTVIError as exc:
            logger.warning("renegotiation failed: %s", exc.message)
            self.callbacks.on_error(transport_error(f"renegotiation failed: {exc.message}"))

    def _send_track_status(self, session: _Session, kind: str, enabled: bool) -> None:
        dc = session.dc
        if dc is None or dc.readyState != "open":
            return
        status = {"type": "trackStatus", "receiver_index": _KIND[kind], "enabled": enabled}
        dc.send(json.dumps({"type": "signalling", "message": status}))

    async def _keepalive(self, session: _Session) -> None:
        while not session.closed:
            dc = session.dc
            if dc is not None and dc.readyState == "open":
                try:
                    dc.send(f"ping: {now_ms()}")
                except Exception as exc:
                    logger.debug("keepalive send failed: %s", js_error_text(exc))
            await asyncio.sleep(self.keepalive_interval)

    async def _watch_media(self, session: _Session) -> None:
        """Bot audio stopped arriving → handle it as a lost connection.

        A bot that dies without a goodbye is noticed by ICE consent checks only after ~7 s
        (then ``ice_disconnected_grace``); a Pipecat bot streams audio (silence included) all
        the time, so ``media_timeout`` seconds without a packet is a faster, reliable signal.
        """
        timeout = self.media_timeout
        if not timeout:
            return
        loop = asyncio.get_running_loop()
        pc: Any = None
        packets = 0
        changed = loop.time()
        while not session.closed:
            await asyncio.sleep(min(0.5, timeout / 2))
            if session.reconnecting or session.pc is None:
                pc = None
                continue
            try:
                count = await session.pc.inboundPackets("audio")
            except Exception as exc:
                logger.debug("getStats failed: %s", js_error_text(exc))
                continue
            now = loop.time()
            if session.pc is not pc or count != packets:
                pc, packets, changed = session.pc, count, now
            elif packets > 0 and now - changed >= timeout:
                logger.info("no audio from the bot for %.1f s: reconnecting", now - changed)
                pc = None
                self._schedule_reconnect(session)

    # --- media ------------------------------------------------------------------------------

    def _on_track(self, session: _Session, pc: Any, event: Any) -> None:
        if session.pc is not pc or session.closed:
            return

        track = event.track
        transceiver = js_value(event.transceiver)
        mid = js_value(transceiver.mid) if transceiver is not None else None
        kind = str(track.kind)
        logger.debug("bot %s track (mid %s)", kind, mid)

        previous = session.bot_audio if kind == "audio" else session.bot_video
        if previous is not None:  # a recreated connection replaces the bot's tracks
            self.callbacks.on_track_stopped(previous, session.bot)
        if kind == "audio":
            session.bot_audio = track
            self._bot_media("audio").play(media_stream(track))
            self._level_meters().watch("bot", track)
        else:
            session.bot_video = track
            if self._video_element_option is not None:
                self._bot_media("video").play(media_stream(track))
        self.callbacks.on_track_started(track, session.bot)

    def _bot_media(self, kind: str) -> Any:
        if kind == "audio":
            if self._bot_audio_element is None:
                self._bot_audio_element = MediaElement("audio", self._audio_element_option)
                if self._speaker_id:
                    self._start_background(self._bot_audio_element.set_sink_id(self._speaker_id))
            return self._bot_audio_element
        if self._bot_video_element is None:
            self._bot_video_element = MediaElement("video", self._video_element_option)
        return self._bot_video_element

    def _level_meters(self) -> Any:
        if self._levels is None:
            self._levels = AudioLevels()
            if self._local is not None and self._local.mic is not None:
                self._levels.watch("local", self._local.mic)
        return self._levels

    async def _report_levels(self, session: _Session) -> None:
        levels = self._level_meters()
        while not session.closed:
            local = levels.level("local")
            if local is not None:
                self._level_values["local"] = local
                self.callbacks.on_local_audio_level(local)
            bot = levels.level("bot")
            if bot is not None:
                self._level_values["bot"] = bot
                self.callbacks.on_remote_audio_level(bot, session.bot)
            await asyncio.sleep(self.audio_level_interval)

    async def _acquire(self, kind: str, device_id: str | None = None) -> Any:
        """Open the mic/cam (honouring its enabled flag); device errors are reported."""
        try:
            track = await self._local.acquire(kind, device_id)
        except Exception as exc:
            logger.warning("cannot open the %s device: %s", kind, js_error_text(exc))
            self.callbacks.on_device_error(exc)
            raise
        track.enabled = self.is_mic_enabled if kind == "audio" else self.is_cam_enabled
        session = self._session
        if session is not None and session.transceivers and not session.closed:
            await session.transceivers[kind].replaceTrack(track)
        if kind == "audio" and self._levels is not None:
            self._levels.watch("local", track)
        self.callbacks.on_track_started(track, _LOCAL)
        return track

    async def _switch_device(self, kind: str, device_id: str) -> None:
        if self._local is None:
            self._local = LocalMedia()
        await self._acquire(kind, device_id)
        device = self._selected(kind) or DeviceInfo(device_id=device_id)
        if kind == "audio":
            self.callbacks.on_mic_updated(device)
        else:
            self.callbacks.on_cam_updated(device)

    def _selected(self, kind: str) -> DeviceInfo | None:
        track = self._local.track(kind) if self._local is not None else None
        device_id = track_device_id(track)
        if track is None or device_id is None:
            return None
        return DeviceInfo(
            device_id=device_id,
            label=str(track.label),
            kind="audioinput" if kind == "audio" else "videoinput",
        )

    def _set_enabled(self, kind: str, enabled: bool) -> None:
        if self._local is None:
            return
        if self._local.track(kind) is None:
            if enabled and self.state not in (
                TransportState.DISCONNECTED,
                TransportState.DISCONNECTING,
            ):
                # Enabled later than init_devices: open the device now (complaint #9/#15:
                # a disabled mic is never opened).
                self._start_background(self._acquire_quietly(kind))
        else:
            self._local.set_enabled(kind, enabled)
        if self._session is not None:
            self._send_track_status(self._session, kind, enabled)

    async def _acquire_quietly(self, kind: str) -> None:
        with contextlib.suppress(Exception):
            await self._acquire(kind)

    async def _share_screen(self) -> None:
        async with self._screen_lock:
            if self.is_sharing_screen:
                return
            try:
                track = await get_display_media_track()
            except Exception as exc:
                text = js_error_text(exc)
                logger.warning("screen share failed: %s", text)
                self.callbacks.on_screen_share_error(text)
                return
            if self._local is None:
                self._local = LocalMedia()
            self._local.screen = track
            # The person pressed the browser's own "Stop sharing".
            self._screen_listeners.add(
                track, "ended", lambda _e: self._start_background(self._stop_screen())
            )
            await self._send_screen(track, True)
        self.callbacks.on_screen_track_started(track, _LOCAL)

    async def _stop_screen(self) -> None:
        async with self._screen_lock:
            track = self._local.screen if self._local is not None else None
            if track is None:
                return
            self._local.screen = None
            self._screen_listeners.clear()
            track.stop()
            await self._send_screen(None, False)
        self.callbacks.on_screen_track_stopped(track, _LOCAL)

    async def _send_screen(self, track: Any, enabled: bool) -> None:
        session = self._session
        if session is None or session.closed or "screen" not in session.transceivers:
            return
        await session.transceivers["screen"].replaceTrack(track)
        self._send_track_status(session, "screen", enabled)

    async def _find_device(self, kind: str, device_id: str) -> DeviceInfo:
        with contextlib.suppress(Exception):
            for device in await enumerate_devices(kind):
                if device.device_id == device_id:
                    return device
        return DeviceInfo(device_id=device_id, kind=kind)

    def _on_device_change(self) -> None:
        self._start_background(self._report_devices())

    async def _report_devices(self) -> None:
        try:
            mics = await enumerate_devices("audioinput")
            cams = await enumerate_devices("videoinput")
            speakers = await enumerate_devices("audiooutput")
        except Exception as exc:
            logger.warning("cannot list media devices: %s", js_error_text(exc))
            self.callbacks.on_device_error(exc)
            return
        self.callbacks.on_available_mics_updated(mics)
        self.callbacks.on_available_cams_updated(cams)
        self.callbacks.on_available_speakers_updated(speakers)

    # --- network trouble --------------------------------------------------------------------

    def _on_ice_state(self, session: _Session, pc: Any) -> None:
        if session.pc is not pc or session.closed:
            return
        state = pc.iceConnectionState
        logger.debug("ICE connection state: %s", state)
        if state in ("connected", "completed"):
            session.failed_attempts = 0
        elif state == "failed":
            self._schedule_reconnect(session)
        elif state == "disconnected":
            self._start_task(session, self._recheck_disconnected(session, pc))

    def _on_connection_state(self, session: _Session, pc: Any) -> None:
        if session.pc is not pc or session.closed:
            return
        if pc.connectionState == "failed":
            self._schedule_reconnect(session)

    async def _recheck_disconnected(self, session: _Session, pc: Any) -> None:
        await asyncio.sleep(self.ice_disconnected_grace)
        if session.pc is pc and pc.iceConnectionState in ("disconnected", "failed"):
            self._schedule_reconnect(session)

    def _schedule_reconnect(self, session: _Session) -> None:
        if session.reconnecting or session.closed or self._session is not session:
            return
        if session.channel_open is None or not session.channel_open.done():
            return  # still connecting: connect() reports the failure itself
        session.reconnecting = True
        self._start_task(session, self._reconnect(session))

    async def _reconnect(self, session: _Session) -> None:
        """Recreate the peer connection (``restart_pc``) until it works or attempts run out.

        A 4xx answer to the offer (e.g. 404: the bot no longer knows this session, as after a
        bot restart) is final: no further attempts.
        """
        reason = f"gave up after {self.reconnect_attempts} reconnect attempts"
        try:
            while session.failed_attempts < self.reconnect_attempts and not session.closed:
                session.failed_attempts += 1
                attempt = session.failed_attempts
                logger.info("reconnecting, attempt %d of %d", attempt, self.reconnect_attempts)
                try:
                    await self._recreate(session)
                    logger.info("reconnected (attempt %d)", attempt)
                    return
                except AbortError:
                    return
                except Exception as exc:
                    logger.warning("reconnect attempt %d failed: %s", attempt, js_error_text(exc))
                    status = getattr(exc, "status", None)
                    if isinstance(status, int) and 400 <= status < 500 and status not in (408, 429):
                        reason = f"the bot refused to reconnect (HTTP {status})"
                        break
                if session.failed_attempts < self.reconnect_attempts:
                    await asyncio.sleep(self.reconnect_delay)
        finally:
            session.reconnecting = False
        if session.closed or self._session is not session:
            return
        text = f"connection lost; {reason}"
        logger.warning(text)
        self.callbacks.on_error(transport_error(text, fatal=True))
        self._report_bot_left(session)
        await self.disconnect()

    async def _recreate(self, session: _Session) -> None:
        old_pc, old_dc = session.pc, session.dc
        loop = asyncio.get_running_loop()
        session.channel_open = loop.create_future()
        session.can_trickle = False
        session.pending_candidates = []
        self._build_peer_connection(session)
        try:
            await self._attach_local_tracks(session)
            await self._negotiate(session, restart_pc=True)
        except BaseException:
            session.dc.close()
            session.pc.close()
            session.pc, session.dc = old_pc, old_dc
            raise
        old_dc.close()
        old_pc.close()
        await asyncio.wait_for(asyncio.shield(session.channel_open), self.open_timeout)

    def _bot_left(self, session: _Session) -> None:
        if session.closed or self._session is not session or session.bot_left:
            return
        self._report_bot_left(session)
        self._start_background(self.disconnect())

    def _report_bot_left(self, session: _Session) -> None:
        """bot-disconnected, once: peerLeft is usually followed by the channel closing."""
        if not session.bot_left:
            session.bot_left = True
            self.callbacks.on_bot_disconnected(session.bot)

    # --- teardown ---------------------------------------------------------------------------

    async def _close_session(self, session: _Session) -> None:
        if session.closed:
            return
        session.closed = True
        current = asyncio.current_task()
        for task in list(session.tasks):
            if task is not current:
                task.cancel()
        if session.channel_open is not None and not session.channel_open.done():
            session.channel_open.cancel()
        if session.dc is not None:
            session.dc.close()
        if session.pc is not None:
            session.pc.close()
        for track in (session.bot_audio, session.bot_video):
            if track is not None:
                self.callbacks.on_track_stopped(track, session.bot)
        if self._bot_audio_element is not None:
            self._bot_audio_element.release()
            self._bot_audio_element = None
        if self._bot_video_element is not None:
            self._bot_video_element.release()
            self._bot_video_element = None
        if self._levels is not None:
            self._levels.close()
            self._levels = None
        self._level_values.clear()
        pending = [t for t in session.tasks if t is not current]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def _release_devices(self) -> None:
        if self._devices is not None:
            self._devices.stop()
        self._screen_listeners.clear()
        if self._local is not None:
            for track in (self._local.mic, self._local.cam):
                if track is not None:
                    self.callbacks.on_track_stopped(track, _LOCAL)
            if self._local.screen is not None:
                self.callbacks.on_screen_track_stopped(self._local.screen, _LOCAL)
            self._local.release()

    # --- tasks ------------------------------------------------------------------------------

    def _start_task(self, session: _Session, coro: Awaitable[T]) -> asyncio.Task[T]:
        task: asyncio.Task[T] = asyncio.ensure_future(coro)
        session.tasks.add(task)
        task.add_done_callback(session.tasks.discard)
        task.add_done_callback(_log_failure)
        return task

    def _start_background(self, coro: Awaitable[T]) -> asyncio.Task[T]:
        task: asyncio.Task[T] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)
        return task


def _first(bundle: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = bundle.get(key)
        if value is not None:
            return value
    return None


def _error_detail(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return f": {text.strip()[:200]}" if text.strip() else ""
    if isinstance(data, Mapping):
        parts = [str(data[k]) for k in ("error", "detail", "info", "message") if data.get(k)]
        if parts:
            return ": " + ": ".join(parts)[:300]
    return ""


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("transport task failed", exc_info=task.exception())
