"""``SmallWebRTCTransport``: the facade. The ``Transport`` API on top of the package's parts.

The parts, one concept each: :mod:`.signalling` (pure wire formats), :mod:`.offer_client` (the
offer endpoint over HTTP), :mod:`.session` (one connect()'s peer connection), :mod:`.recovery`
(lost connections: rebuild or give up); shared with the WebSocket transport:
:mod:`~rtvi.transports.bot_media` (the bot's tracks and the audio levels) and
:mod:`~rtvi.transports.devices` (mic, camera, screen). This module creates them and maps their events to
the client's callbacks; the session lifecycle (connect, disconnect, the bot leaving, giving up)
is :class:`~rtvi.transports.lifecycle.SessionTransport`'s, shared with the WebSocket transport.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import (
    AbortError,
    MessageTooLargeError,
    RTVIError,
    TransportNotConnectedError,
    UnsupportedFeatureError,
)
from ...messages import RTVIMessage
from ...state import TransportState
from ...transport import (
    DEFAULT_MAX_MESSAGE_SIZE,
    BotTracks,
    DeviceInfo,
    LocalTracks,
    Tracks,
    transport_error,
)
from .._browser import max_message_size
from .._interop import js_value
from ..browser_transport import BrowserTransport
from ..liveness import LivenessTimings
from ..media import enumerate_devices
from ..reconnect import ReconnectPolicy
from .offer_client import OfferClient
from .recovery import Recovery
from .session import Peer, Session, SessionEvents, discard_peer, prepare_peer
from .signalling import (
    ConnectionTarget,
    InboundKind,
    PeerConfig,
    classify,
    filter_codec,
    prepared_config,
    request_params,
    resolve_target,
    reusable,
    track_status_text,
)

logger = logging.getLogger("rtvi.transports.webrtc")

#: The default reconnect policy: 3 recreations in a row, 1 s apart.
DEFAULT_RECONNECT = ReconnectPolicy(attempts=3, delay=1.0)

__all__ = ["SmallWebRTCTransport", "TransportNotConnectedError"]


class SmallWebRTCTransport(BrowserTransport[Session]):
    """WebRTC transport for Pipecat's SmallWebRTC bots, in the browser (Pyodide).

    Options (all keyword):

    - ``offer_url`` / ``webrtc_url``: where to POST offers when the auth bundle has no
      ``offer_url`` (connecting without a connect endpoint).
    - ``offer_url_template``: the offer URL of a runner session started with
      ``start_bot``, for services whose paths differ from the runner's
      (default ``"{base}/sessions/{session_id}/api/offer"``, ``{base}`` = the start endpoint
      without ``/start``; ``{start_endpoint}`` is the whole endpoint).
    - ``ice_servers``: ``RTCIceServer`` dicts; default: the bundle's, else none.
    - ``ice_trickle``: send candidates by ``PATCH`` instead of waiting for ICE gathering
      (pipecat ≥ 0.0.91). ``None``: the bundle decides (``ice_trickle``), else on, as in
      client-js (measured: ~145 ms sooner to bot-ready on loopback, docs/transport.md);
      ``False`` for bots older than pipecat 0.0.91.
      ``wait_for_ice_gathering`` is client-js's spelling (its inverse).
    - ``webrtc_request_params``: client-js's ``APIRequest`` for the offer: ``{"endpoint",
      "headers", "requestData"}`` (the URL, headers and request data of every offer).
      ``connection_url`` is client-js's deprecated spelling of ``offer_url``.
    - ``audio_codec`` / ``video_codec``: offer only that codec (e.g. ``"opus"``, ``"VP8"``,
      ``"H264"``); ``None`` or ``"default"``: all the browser has. Also
      :meth:`set_audio_codec` / :meth:`set_video_codec` (from the next offer on).
    - ``request_data``: sent as ``requestData`` with every offer.
    - ``audio_element`` / ``video_element``: where the bot plays (element or CSS selector);
      by default a hidden ``<audio>`` is created (and removed on disconnect), bot video is
      played only when a ``video_element`` is given.
    - ``audio_source``: a ``MediaStreamTrack`` sent instead of opening the microphone (e.g. a
      :class:`~rtvi.transports.virtual_mic.VirtualMic`'s track); see :meth:`set_audio_source`.
    - ``screen_share``: add the screen transceiver (index 2) so ``enable_screen_share`` works
      (pipecat's SmallWebRTC reads it as the screen video input); off by default (the
      client's ``enable_screen_share=True`` turns it on too).
    - timings, in seconds: ``ice_gathering_timeout`` (2), ``offer_timeout`` (10),
      ``open_timeout`` (15, offer answered → data channel open), ``ice_disconnected_grace``
      (2, how long ICE may stay ``disconnected`` before a reconnect), ``media_timeout`` (2,
      no bot audio packets for that long also means a lost connection; ``None`` turns this
      off, e.g. for bots that send no audio), ``keepalive_interval`` (1),
      ``audio_level_interval`` (0.1).
    - ``reconnect``: a :class:`~rtvi.transports.reconnect.ReconnectPolicy` (default 3
      recreations in a row, 1 s apart). ``reconnect_attempts`` / ``reconnect_delay`` are its
      deprecated spellings (they still work, with a ``DeprecationWarning``).
    """

    pipe_name = "WebRTC"

    def __init__(
        self,
        *,
        offer_url: str | None = None,
        webrtc_url: str | None = None,
        offer_url_template: str | None = None,
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
        reconnect: ReconnectPolicy | None = None,
        reconnect_attempts: int | None = None,
        reconnect_delay: float | None = None,
        keepalive_interval: float = 1.0,
        audio_level_interval: float = 0.1,
        screen_share: bool = False,
        audio_source: Any = None,
        audio_codec: str | None = None,
        video_codec: str | None = None,
        webrtc_request_params: Mapping[str, Any] | None = None,
        connection_url: str | None = None,
        wait_for_ice_gathering: bool | None = None,
    ) -> None:
        super().__init__(
            logger,
            kinds=("audio", "video"),
            audio_element=audio_element,
            video_element=video_element,
            audio_level_interval=audio_level_interval,
            audio_source=audio_source,
        )
        if connection_url is not None:
            warnings.warn(
                "connection_url is deprecated (as in client-js): use offer_url or "
                "webrtc_request_params",
                DeprecationWarning,
                stacklevel=2,
            )
        self.offer_url = offer_url or webrtc_url or connection_url
        self.offer_url_template = offer_url_template
        self.ice_servers = [dict(s) for s in ice_servers] if ice_servers is not None else None
        if wait_for_ice_gathering is not None and ice_trickle is None:
            ice_trickle = not wait_for_ice_gathering  # client-js's spelling, inverted
        self.ice_trickle = ice_trickle
        self.audio_codec = audio_codec
        self.video_codec = video_codec
        self.webrtc_request_params = (
            request_params(webrtc_request_params) if webrtc_request_params is not None else None
        )
        self.request_data = dict(request_data) if request_data is not None else None
        self.ice_gathering_timeout = ice_gathering_timeout
        self.offer_timeout = offer_timeout
        self.open_timeout = open_timeout
        self.ice_disconnected_grace = ice_disconnected_grace
        self.media_timeout = media_timeout
        self.reconnect_policy = _deprecated_policy(
            reconnect or DEFAULT_RECONNECT, reconnect_attempts, reconnect_delay
        )
        self.keepalive_interval = keepalive_interval
        self.screen_share = screen_share
        #: The peer connection built while the start request is in flight (prepare_connect).
        self._prepared: tuple[PeerConfig, asyncio.Future[Peer]] | None = None
        self._recovery = Recovery(lambda: self._session, self._timings, self._give_up)
        self._events = SessionEvents(
            on_track=self._on_track,
            on_ice_state=self._recovery.on_ice_state,
            on_connection_state=self._recovery.on_connection_state,
            on_channel_open=self._on_channel_open,
            on_channel_close=self._on_channel_close,
            on_channel_message=self._on_channel_message,
        )

    # --- public extras ----------------------------------------------------------------------

    @property
    def pc_id(self) -> str | None:
        """The bot's id for this peer connection (from the first answer)."""
        return self._session.pc_id if self._session else None

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

    def set_audio_codec(self, codec: str | None) -> None:
        """Offer only ``codec`` for audio (e.g. ``"opus"``; ``None`` or ``"default"``: every
        codec the browser has) from the next offer on (client-js ``setAudioCodec``)."""
        self.audio_codec = codec

    def set_video_codec(self, codec: str | None) -> None:
        """Offer only ``codec`` for video (e.g. ``"VP8"``, ``"H264"``) from the next offer on
        (client-js ``setVideoCodec``)."""
        self.video_codec = codec

    def _filter_sdp(self, sdp: str) -> str:
        sdp = filter_codec(sdp, "audio", self.audio_codec)
        return filter_codec(sdp, "video", self.video_codec)

    def set_audio_element(self, element: Any) -> None:
        """Play the bot's audio in ``element`` (element or CSS selector) from now on."""
        self._media.set_audio_element(element)

    def set_video_element(self, element: Any) -> None:
        """Play the bot's video in ``element`` (element or CSS selector) from now on."""
        self._media.set_video_element(element)

    # --- the pipe ----------------------------------------------------------------------------

    def send_message(self, message: RTVIMessage) -> None:
        self.send_text(message.to_json())

    def send_ready_now(self, message: RTVIMessage) -> bool:
        """``client-ready`` as the data channel opens (``Transport.connected_now``)."""
        self.send_message(message)
        self.state = TransportState.READY
        return True

    def send_text(self, text: str) -> None:
        """Send one text message on the data channel, refusing what SCTP would choke on."""
        session = self._session
        if session is None or not session.channel_is_open:
            raise TransportNotConnectedError("The data channel is not open")
        size = len(text.encode("utf-8"))
        if size > self.max_message_size:
            raise MessageTooLargeError(size, self.max_message_size)
        session.send(text)

    @property
    def max_message_size(self) -> int:
        session = self._session
        size = max_message_size(session.pc) if session and session.pc else None
        return size or DEFAULT_MAX_MESSAGE_SIZE

    def resolve_target(self, auth_bundle: Any) -> ConnectionTarget:
        """The offer URL, ICE servers and trickle flag from the bundle and the options."""
        return resolve_target(
            auth_bundle,
            offer_url=self.offer_url,
            offer_url_template=self.offer_url_template,
            ice_servers=self.ice_servers,
            ice_trickle=self.ice_trickle,
            request_data=self.request_data,
            direct_request_data=self.options.params.request_data if self._options else None,
            webrtc_request_params=self.webrtc_request_params,
            default_trickle=True,
        )

    # --- devices ----------------------------------------------------------------------------

    async def get_all_cams(self) -> list[DeviceInfo]:
        return await enumerate_devices("videoinput")

    async def update_cam(self, device_id: str) -> None:
        await self._devices.switch("video", device_id)

    @property
    def selected_cam(self) -> DeviceInfo | None:
        return self._devices.selected("video")

    def enable_cam(self, enable: bool) -> None:
        super().enable_cam(enable)
        self._devices.set_enabled("video", enable)

    def enable_screen_share(self, enable: bool) -> None:
        """Start (the browser asks what to share) or stop sharing the screen.

        Needs ``screen_share=True``; failures are reported as ``screen_share_error``.
        """
        if not self._screen_share_on:
            raise UnsupportedFeatureError(
                "screen share", type(self).__name__, "create it with screen_share=True"
            )
        devices = self._devices
        self._start_background(devices.share_screen() if enable else devices.stop_screen())

    @property
    def is_sharing_screen(self) -> bool:
        return self._devices.sharing_screen

    def tracks(self) -> Tracks:
        media, devices = self._media, self._devices
        return Tracks(
            local=LocalTracks(
                audio=devices.track("audio"),
                video=devices.track("video"),
                screen_video=devices.track("screen"),
            ),
            bot=BotTracks(audio=media.audio, video=media.video) if self._session else None,
        )

    # --- the session's wiring ---------------------------------------------------------------

    def prepare_connect(self) -> None:
        """Build the peer connection, its transceivers, data channel and offer (the local
        tracks on) in the background, for the ICE servers and trickle choice the options
        give; ``connect()`` uses it if the bundle's target needs the same
        (:func:`~.signalling.reusable`), else drops it and builds afresh."""
        self.drop_prepared()
        if self._session is not None:
            return
        config = prepared_config(self.ice_servers, self.ice_trickle, self._screen_share_on)
        self._prepared = (config, asyncio.ensure_future(prepare_peer(config, self._devices.track)))

    def drop_prepared(self) -> None:
        prepared, self._prepared = self._prepared, None
        if prepared is not None:
            discard_peer(prepared[1])

    def _take_prepared(self, target: ConnectionTarget) -> asyncio.Future[Peer] | None:
        """The prepared peer connection if it may serve ``target``; else it is dropped."""
        prepared, self._prepared = self._prepared, None
        if prepared is None:
            return None
        config, peer = prepared
        if reusable(config, target, self._screen_share_on):
            return peer
        logger.debug("the prepared peer connection does not fit the bundle's: dropped")
        discard_peer(peer)
        return None

    async def disconnect(self) -> None:
        self.drop_prepared()
        await super().disconnect()

    def _new_session(self, auth_bundle: Any) -> Session:
        target = self.resolve_target(auth_bundle)
        prepared = self._take_prepared(target)
        http = self.options.http if self._options is not None else None
        if http is None:
            from ...http import default_adapter

            http = default_adapter()
        return Session(
            target,
            OfferClient(
                http,
                target.offer_url,
                headers=self.offer_headers(target),
                timeout=self.offer_timeout,
            ),
            self._events,
            local_track=self._devices.track,
            screen_share=self._screen_share_on,
            ice_gathering_timeout=self.ice_gathering_timeout,
            open_timeout=self.open_timeout,
            reconnect=self.reconnect_policy,
            sdp_filter=self._filter_sdp,
            prepared=prepared,
        )

    def offer_headers(self, target: ConnectionTarget) -> dict[str, str]:
        """The offer requests' headers: the client's ``params.headers``, the ``start_bot``
        request's when the offer URL comes from its endpoint (as client-js), then
        ``webrtc_request_params``' own."""
        headers = dict(self.options.params.headers) if self._options is not None else {}
        start = self.start_bot_params
        if target.from_start and start is not None:
            headers.update(start.headers)
        headers.update(target.headers)
        return headers

    @property
    def _screen_share_on(self) -> bool:
        """``screen_share=True``, or the client's ``enable_screen_share=True``."""
        return self.screen_share or (
            self._options is not None and self._options.enable_screen_share
        )

    async def _open(self, session: Session) -> None:
        await session.open()

    def _opened(self, session: Session) -> None:
        self._recovery.start(session)
        super()._opened(session)

    def _timings(self) -> LivenessTimings:
        return LivenessTimings(
            self.keepalive_interval, self.media_timeout, self.ice_disconnected_grace
        )

    async def _attach_track(self, kind: str, track: Any) -> bool:
        session = self._session
        if session is None or session.closed or kind not in session.transceivers:
            return False
        await session.transceivers[kind].sender.replaceTrack(track)
        return True

    def _send_track_status(self, kind: str, enabled: bool) -> None:
        if self._session is not None:
            self._session.send(track_status_text(kind, enabled))

    # --- session events ---------------------------------------------------------------------

    def _on_track(self, session: Session, event: Any) -> None:
        track = event.track
        transceiver = js_value(event.transceiver)
        mid = js_value(transceiver.mid) if transceiver is not None else None
        logger.debug("bot %s track (mid %s)", track.kind, mid)
        previous = self._media.play(track)
        if previous is not None:  # a recreated connection replaces the bot's tracks
            self.callbacks.on_track_stopped(previous, session.bot)
        self.callbacks.on_track_started(track, session.bot)

    def _on_channel_open(self, session: Session) -> None:
        logger.debug("data channel open (pc_id %s)", session.pc_id)
        self._send_track_status("audio", self.is_mic_enabled)
        self._send_track_status("video", self.is_cam_enabled)
        if self._screen_share_on:
            self._send_track_status("screen", self.is_sharing_screen)
        session.mark_open()
        # connected, and client-ready, from this event: not four event-loop hops later, once
        # the coroutine awaiting the channel (open() in open_or_abort in connect()) resumes.
        self._pipe_opened(session)

    def _on_channel_close(self, session: Session) -> None:
        if self._session is not session:
            return
        ice = session.pc.iceConnectionState if session.pc else ""
        if session.reconnecting or ice in ("disconnected", "failed"):
            logger.info("data channel closed with the network down: reconnecting")
            self._recovery.schedule(session)
            return
        logger.info("data channel closed by the bot")
        self._bot_left(session)

    def _on_channel_message(self, session: Session, event: Any) -> None:
        inbound = classify(event.data)
        if inbound.kind is InboundKind.RTVI:
            assert inbound.message is not None
            self.deliver(inbound.message)
        elif inbound.kind is InboundKind.RENEGOTIATE:
            logger.debug("the bot asks to renegotiate")
            session.tasks.start(self._renegotiate(session))
        elif inbound.kind is InboundKind.PEER_LEFT:
            logger.info("the bot left (peerLeft)")
            self._bot_left(session)
        else:
            logger.debug("ignoring %s", inbound.note)

    async def _renegotiate(self, session: Session) -> None:
        if session.reconnecting:
            return
        try:
            await session.negotiate(restart_pc=False)
        except AbortError:
            pass
        except RTVIError as exc:
            logger.warning("renegotiation failed: %s", exc.message)
            self.callbacks.on_error(transport_error(f"renegotiation failed: {exc.message}"))

    # --- teardown ---------------------------------------------------------------------------

    async def _close_session(self, session: Session) -> None:
        session.close()
        self._stop_bot_media(session)
        await session.tasks.wait()

    # --- deprecated options ---------------------------------------------------------------

    @property
    def reconnect_attempts(self) -> int:
        """Deprecated: ``reconnect_policy.attempts``."""
        return self.reconnect_policy.attempts

    @reconnect_attempts.setter
    def reconnect_attempts(self, attempts: int) -> None:
        self.reconnect_policy = _deprecated_policy(self.reconnect_policy, attempts, None)

    @property
    def reconnect_delay(self) -> float:
        """Deprecated: ``reconnect_policy.delay``."""
        return self.reconnect_policy.delay

    @reconnect_delay.setter
    def reconnect_delay(self, delay: float) -> None:
        self.reconnect_policy = _deprecated_policy(self.reconnect_policy, None, delay)


def _deprecated_policy(
    policy: ReconnectPolicy, attempts: int | None, delay: float | None
) -> ReconnectPolicy:
    """``policy`` with the old ``reconnect_attempts`` / ``reconnect_delay`` applied (warned)."""
    if attempts is None and delay is None:
        return policy
    warnings.warn(
        "reconnect_attempts / reconnect_delay are deprecated: "
        "use reconnect=ReconnectPolicy(attempts=..., delay=...)",
        DeprecationWarning,
        stacklevel=3,
    )
    return dataclasses.replace(
        policy,
        attempts=policy.attempts if attempts is None else attempts,
        delay=policy.delay if delay is None else delay,
    )
