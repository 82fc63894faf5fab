"""``Recovery``: noticing that a session's connection is lost, and rebuilding it or giving up.

A connection is lost when ICE ``failed``, the connection ``failed``, ICE stays ``disconnected``
past the grace, or the bot's audio stops (``media_timeout``). Then, if the session is the
current one and was established, the peer connection is rebuilt (``restart_pc``) under the
reconnect policy; once it gives up, ``give_up(session, text)`` ends the session. The timers are
:class:`~rtvi.transports.liveness.LivenessWatch`'s, the attempts
:func:`~rtvi.transports.reconnect.reconnect`'s: here is only the WebRTC wiring.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from .._browser import inbound_packets
from .._interop import js_error_text, now_ms
from ..liveness import LivenessTimings, LivenessWatch, PacketSample
from ..reconnect import reconnect
from .session import Session
from .signalling import keepalive_text

logger = logging.getLogger("rtvi.transports.webrtc")


class Recovery:
    """The liveness timers and the reconnects of the transport's sessions."""

    def __init__(
        self,
        current: Callable[[], Session | None],
        timings: Callable[[], LivenessTimings],
        give_up: Callable[[Session, str], Coroutine[Any, Any, None]],
    ) -> None:
        self._current = current
        self._timings = timings
        self._give_up = give_up

    def _watch(self, session: Session) -> LivenessWatch:
        return LivenessWatch(
            self._timings(),
            lambda reason: self.lost(session, reason),
            log=logger,
            describe=js_error_text,
        )

    def start(self, session: Session) -> None:
        """The keepalive and the bot-audio stall watch, as tasks of the session."""
        watch = self._watch(session)

        def running() -> bool:
            return not session.closed

        def ping() -> None:
            if session.channel_is_open:
                session.send(keepalive_text(now_ms()))

        async def audio_packets() -> PacketSample:
            pc = session.pc
            if session.reconnecting or pc is None:
                return None
            return pc, await inbound_packets(pc, "audio")

        session.tasks.start(watch.keepalive(ping, running))
        session.tasks.start(watch.watch_packets(audio_packets, running, "audio from the bot"))

    # --- what the browser says ------------------------------------------------------------

    def on_ice_state(self, session: Session) -> None:
        pc = session.pc
        assert pc is not None
        state = pc.iceConnectionState
        logger.debug("ICE connection state: %s", state)
        if state in ("connected", "completed"):
            session.attempts.reset()
        elif state == "failed":
            self.schedule(session)
        elif state == "disconnected":

            def still_lost() -> bool:
                return session.pc is pc and pc.iceConnectionState in ("disconnected", "failed")

            watch = self._watch(session)
            session.tasks.start(watch.confirm_lost(still_lost, "ICE disconnected"))

    def on_connection_state(self, session: Session) -> None:
        if session.pc is not None and session.pc.connectionState == "failed":
            self.schedule(session)

    def lost(self, session: Session, reason: str) -> None:
        logger.info("%s: reconnecting", reason)
        self.schedule(session)

    # --- rebuilding -----------------------------------------------------------------------

    def schedule(self, session: Session) -> None:
        """Start rebuilding ``session``'s connection, unless that is running or pointless."""
        if session.reconnecting or session.closed or self._current() is not session:
            return
        if not session.established:
            return  # still connecting: connect() reports the failure itself
        session.attempts.begin()
        session.tasks.start(self._reconnect(session))

    async def _reconnect(self, session: Session) -> None:
        result = await reconnect(
            session.attempts,
            session.rebuild,
            closed=lambda: session.closed,
            log=logger,
            describe=js_error_text,
        )
        if not result.gave_up or session.closed or self._current() is not session:
            return
        await self._give_up(session, f"connection lost; {result.reason}")
