"""``Session``: one ``connect()``'s peer connection to the bot, negotiated and rebuilt.

A session holds the current ``RTCPeerConnection`` with its transceivers (audio 0, video 1,
screen 2 when enabled) and the ``chat`` data channel, the bot's ``pc_id``, the trickle queue and
the tasks it started. It opens (offer → answer → channel open), renegotiates, rebuilds itself
with ``restart_pc`` (the old connection is closed only once the new one is answered) and closes
as a whole. Browser events of its current connection go to a :class:`SessionEvents` (the
transport); events of a replaced connection are dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...errors import AbortError, RTVIError, TransportStartError
from .._browser import (
    RTCDataChannel,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
    ice_candidate,
    wait_ice_gathering,
)
from .._interop import js_value
from ..lifecycle import TransportSession
from ..reconnect import ReconnectPolicy
from .offer_client import OfferClient
from .signalling import (
    DATA_CHANNEL_LABEL,
    ConnectionTarget,
    PeerConfig,
    TrickleQueue,
    candidate_entry,
    offer_body,
    parse_answer,
    trickle_body,
)

logger = logging.getLogger("rtvi.transports.webrtc")


@dataclass(frozen=True)
class SessionEvents:
    """Where a session sends the browser events of its current connection (the transport)."""

    on_track: Callable[[Session, Any], None]
    on_ice_state: Callable[[Session], None]
    on_connection_state: Callable[[Session], None]
    on_channel_open: Callable[[Session], None]
    on_channel_close: Callable[[Session], None]
    on_channel_message: Callable[[Session, Any], None]


class Peer:
    """A peer connection with its transceivers (audio 0, video 1, screen 2) and the ``chat``
    data channel, not yet wired to a session: a session builds one per connection, and the
    transport may build one before the bundle is known (:func:`prepare_peer`). Its trickled
    ICE candidates wait in ``trickle``; ``on_candidate`` says one came (the session sends it)."""

    def __init__(
        self, ice_servers: list[dict[str, Any]], *, ice_trickle: bool, screen_share: bool
    ) -> None:
        pc = RTCPeerConnection(ice_servers)
        self.pc = pc
        self.transceivers: dict[str, RTCRtpTransceiver] = {
            "audio": pc.addTransceiver("audio", "sendrecv"),
            "video": pc.addTransceiver("video", "sendrecv"),
        }
        if screen_share:  # the bot only receives on it
            self.transceivers["screen"] = pc.addTransceiver("video", "sendonly")
        self.dc: RTCDataChannel = pc.createDataChannel(DATA_CHANNEL_LABEL, ordered=True)
        self.trickle = TrickleQueue()
        self.on_candidate: Callable[[], None] = lambda: None
        #: The local tracks put on the senders, by kind.
        self.tracks: dict[str, Any] = {}
        #: The offer set as local description (without candidates when trickling), once made.
        self.offer: RTCSessionDescription | None = None
        if ice_trickle:
            pc.addEventListener("icecandidate", self._on_ice_candidate)

    def _on_ice_candidate(self, event: Any) -> None:
        if js_value(event.candidate) is None:
            return
        candidate = ice_candidate(event.candidate)
        entry = candidate_entry(candidate.candidate, candidate.sdpMid, candidate.sdpMLineIndex)
        if entry is None:
            return  # end of candidates: nothing to tell
        self.trickle.add(entry)
        self.on_candidate()

    async def attach(self, local_track: Callable[[str], Any]) -> None:
        """Put the current local tracks on the senders (those that changed since last time)."""
        for kind, transceiver in self.transceivers.items():
            track = local_track(kind)
            if track is not None and track is not self.tracks.get(kind):
                await transceiver.sender.replaceTrack(track)
                self.tracks[kind] = track

    async def make_offer(self) -> RTCSessionDescription:
        """Set the offer as local description (an implicit ``createOffer()``: one call)."""
        await self.pc.setLocalDescription()
        local = self.pc.localDescription
        assert local is not None
        self.offer = local
        return local

    def close(self) -> None:
        self.dc.close()
        self.pc.close()


async def prepare_peer(config: PeerConfig, local_track: Callable[[str], Any]) -> Peer:
    """A peer connection for ``config`` with the local tracks on and its offer made, built
    before the bundle is known (a track opened later follows with ``replaceTrack``, which
    needs no new offer). Closed again if this is cancelled or fails."""
    peer = Peer(
        config.ice_servers, ice_trickle=config.ice_trickle, screen_share=config.screen_share
    )
    try:
        await peer.attach(local_track)
        await peer.make_offer()
    except BaseException:
        peer.close()
        raise
    return peer


def discard_peer(peer: asyncio.Future[Peer]) -> None:
    """Let a prepared peer connection go: stop its making, or close it once made."""

    def close(done: asyncio.Future[Peer]) -> None:
        if not done.cancelled() and done.exception() is None:
            done.result().close()

    peer.add_done_callback(close)
    peer.cancel()


class Session(TransportSession):
    """The peer connection, data channel and tasks of one ``connect()``."""

    def __init__(
        self,
        target: ConnectionTarget,
        offer: OfferClient,
        events: SessionEvents,
        *,
        local_track: Callable[[str], Any] = lambda kind: None,
        screen_share: bool = False,
        ice_gathering_timeout: float = 2.0,
        open_timeout: float = 15.0,
        reconnect: ReconnectPolicy | None = None,
        sdp_filter: Callable[[str], str] = lambda sdp: sdp,
        prepared: asyncio.Future[Peer] | None = None,
    ) -> None:
        super().__init__(reconnect or ReconnectPolicy(), bot_id="", log=logger)
        self.sdp_filter = sdp_filter  # the codec choice, applied to each offer
        self.target = target
        self.offer = offer
        self.events = events
        self.local_track = local_track
        self.screen_share = screen_share
        self.ice_gathering_timeout = ice_gathering_timeout
        self.open_timeout = open_timeout
        self.pc: RTCPeerConnection | None = None
        self.dc: RTCDataChannel | None = None
        self.transceivers: dict[str, RTCRtpTransceiver] = {}
        self.pc_id: str | None = None
        self.channel_open: asyncio.Future[None] | None = None
        self.negotiation = asyncio.Lock()
        self.trickle = TrickleQueue()
        #: A peer connection built for this target before the bundle was known, or None.
        self.prepared = prepared

    @property
    def channel_is_open(self) -> bool:
        return self.dc is not None and self.dc.readyState == "open"

    @property
    def established(self) -> bool:
        """The first connection opened: trouble from now on is for a reconnect to fix."""
        return self.channel_open is not None and self.channel_open.done()

    def send(self, text: str) -> bool:
        """Send on the data channel if it is open; False if it is not."""
        if self.dc is None or not self.channel_is_open:
            return False
        self.dc.send(text)
        return True

    # --- opening --------------------------------------------------------------------------

    async def open(self) -> None:
        """Build, offer, wait for the data channel (``open_timeout``)."""
        self.channel_open = asyncio.get_running_loop().create_future()
        peer = await self._take_prepared()
        if peer is None:
            peer = self._build()
        else:
            self._wire(peer)
        await peer.attach(self.local_track)
        await self.negotiate(restart_pc=False, offer=peer.offer)
        try:
            await asyncio.wait_for(asyncio.shield(self.channel_open), self.open_timeout)
        except TimeoutError:
            assert self.pc is not None
            raise TransportStartError(
                f"the data channel did not open within {self.open_timeout:g} s "
                f"(ICE state {self.pc.iceConnectionState})"
            ) from None

    async def _take_prepared(self) -> Peer | None:
        """The prepared peer connection, once ready; None if there is none or it failed."""
        prepared, self.prepared = self.prepared, None
        if prepared is None:
            return None
        try:
            return await prepared
        except RTVIError:
            raise
        except Exception as exc:  # e.g. the browser refused: build afresh
            logger.debug("the prepared peer connection failed (%s): building a new one", exc)
            return None

    def _build(self) -> Peer:
        """A new pc with transceivers audio, video (and screen) and the data channel, wired up."""
        target = self.target
        peer = Peer(
            target.ice_servers, ice_trickle=target.ice_trickle, screen_share=self.screen_share
        )
        self._wire(peer)
        return peer

    def _wire(self, peer: Peer) -> None:
        """Make ``peer`` this session's connection: its events go to :class:`SessionEvents`."""
        pc, dc = peer.pc, peer.dc
        self.pc, self.dc = pc, dc
        self.trickle = peer.trickle
        self.transceivers = peer.transceivers
        events = self.events

        def on_pc(handler: Callable[[Any], None]) -> Callable[[Any], None]:
            return lambda event: handler(event) if self.pc is pc and not self.closed else None

        def on_dc(handler: Callable[[Any], None]) -> Callable[[Any], None]:
            return lambda event: handler(event) if self.dc is dc and not self.closed else None

        pc.addEventListener("track", on_pc(lambda event: events.on_track(self, event)))
        pc.addEventListener("iceconnectionstatechange", on_pc(lambda _: events.on_ice_state(self)))
        pc.addEventListener(
            "connectionstatechange", on_pc(lambda _: events.on_connection_state(self))
        )
        peer.on_candidate = lambda: self._flush_candidates() if self.pc is pc else None
        dc.addEventListener("open", on_dc(lambda _: events.on_channel_open(self)))
        dc.addEventListener("close", on_dc(lambda _: events.on_channel_close(self)))
        dc.addEventListener("error", lambda event: self._on_channel_error(dc, event))
        dc.addEventListener("message", lambda event: events.on_channel_message(self, event))

    async def negotiate(
        self, *, restart_pc: bool, offer: RTCSessionDescription | None = None
    ) -> None:
        """Offer → (gathering or trickle) → POST → answer, on the current pc. ``offer``: the
        local description already set (a prepared connection's), else it is made now."""
        pc = self.pc
        assert pc is not None
        async with self.negotiation:
            if offer is None:
                await pc.setLocalDescription()  # an implicit createOffer(): one call, not two
                offer = pc.localDescription
            trickle = self.target.ice_trickle
            if not trickle:
                if not await wait_ice_gathering(pc, self.ice_gathering_timeout):
                    logger.debug("ICE gathering capped at %gs", self.ice_gathering_timeout)
                offer = pc.localDescription  # with the candidates gathered
            local = offer
            assert local is not None
            body = offer_body(
                self.sdp_filter(local.sdp),
                local.type,
                pc_id=self.pc_id,
                restart_pc=restart_pc,
                request_data=self.target.request_data,
            )
            answer = parse_answer(await self.offer.post(body))
            if self.closed or self.pc is not pc:
                raise AbortError()
            if answer.pc_id:
                self.pc_id = answer.pc_id
                self.bot.id = answer.pc_id
            await pc.setRemoteDescription(RTCSessionDescription(answer.sdp, "answer"))
        if self.target.ice_trickle:
            self.trickle.open()
            self._flush_candidates()

    async def rebuild(self) -> None:
        """A new peer connection with ``restart_pc: true``; the old one stays until answered."""
        old_pc, old_dc = self.pc, self.dc
        self.channel_open = asyncio.get_running_loop().create_future()
        peer = self._build()
        try:
            await peer.attach(self.local_track)
            await self.negotiate(restart_pc=True)
        except BaseException:
            self._close_connection()
            self.pc, self.dc = old_pc, old_dc
            raise
        if old_dc is not None:
            old_dc.close()
        if old_pc is not None:
            old_pc.close()
        await asyncio.wait_for(asyncio.shield(self.channel_open), self.open_timeout)

    # --- trickle ICE ----------------------------------------------------------------------

    def _flush_candidates(self) -> None:
        if self.closed or self.pc_id is None:
            return
        candidates = self.trickle.take(self.pc_id)
        if candidates:
            self.tasks.start(self._send_candidates(self.pc_id, candidates))

    async def _send_candidates(self, pc_id: str, candidates: list[dict[str, Any]]) -> None:
        try:
            await self.offer.patch(trickle_body(pc_id, candidates))
        except RTVIError as exc:
            logger.warning("trickle ICE: %s", exc.message)

    # --- data channel ---------------------------------------------------------------------

    def _on_channel_error(self, dc: RTCDataChannel, event: Any) -> None:
        if self.dc is not dc or self.closed:
            return
        error = getattr(event, "error", None)
        text = str(getattr(error, "message", "") or "data channel error")
        logger.warning("data channel error: %s", text)

    def mark_open(self) -> None:
        """The data channel opened: ``open()`` / ``rebuild()`` may return."""
        if self.channel_open is not None and not self.channel_open.done():
            self.channel_open.set_result(None)

    # --- teardown -------------------------------------------------------------------------

    def _close_connection(self) -> None:
        if self.dc is not None:
            self.dc.close()
        if self.pc is not None:
            self.pc.close()

    def close(self) -> None:
        """Cancel the tasks, close the channel and the connection (await ``tasks.wait()``)."""
        self.closed = True
        self.tasks.cancel()
        if self.prepared is not None:
            discard_peer(self.prepared)
            self.prepared = None
        if self.channel_open is not None and not self.channel_open.done():
            self.channel_open.cancel()
        self._close_connection()
