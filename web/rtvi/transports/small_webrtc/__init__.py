"""``SmallWebRTCTransport``: the client's default transport, a browser ``RTCPeerConnection``.

Talks to a Pipecat ``SmallWebRTCTransport`` bot (PROTOCOL §4): transceivers audio (index 0)
then video (index 1), a data channel ``"chat"`` (ordered) created before the offer, the SDP offer
POSTed as ``{sdp, type, pc_id, restart_pc, requestData}`` to the offer URL, the answer applied,
``pc_id`` kept for every later offer. ICE candidates are either gathered into the offer (the
wait is capped) or trickled by ``PATCH {pc_id, candidates}`` when the bot supports it.

Once the data channel is open: ``trackStatus`` for mic and camera, a ``"ping: <ms>"`` keepalive
every second, then the client sends ``client-ready``. The bot may ask to ``renegotiate``
(a new offer on the same connection) or say ``peerLeft`` (bot disconnected, then we
disconnect). ICE ``failed`` (or ``disconnected`` for longer than a grace period, or no bot audio
for ``media_timeout``) recreates the peer connection with ``restart_pc: true``, at most
``reconnect.attempts`` times in a row; then the transport reports an error and disconnects.

Media stays in the browser: the bot's audio plays in an ``<audio>`` element (its video, if any,
in a ``<video>`` element), levels come from WebAudio analysers. Every JS proxy the transport
creates is released on disconnect (see ``_browser.live_proxies``).

The package, one concept per module:

- ``transport``: the facade, :class:`SmallWebRTCTransport` (wiring and callbacks);
- ``signalling``: pure wire formats (bundle → target, offer, answer, trickle, channel text);
- ``offer_client``: the offer endpoint over HTTP, with its timeouts;
- ``session``: one ``connect()``'s peer connection, data channel and tasks;
- ``recovery``: a lost connection is rebuilt (``restart_pc``) or the session ends.

Shared with the WebSocket transport: the session lifecycle (:mod:`rtvi.transports.lifecycle`),
the devices and bot media (:mod:`rtvi.transports.browser_transport`, ``devices``,
``bot_media``) and the reconnect policy (:mod:`rtvi.transports.reconnect`). The liveness watch
(:mod:`rtvi.transports.liveness`) is this transport's alone (docs/websocket.md says why). ``js`` is imported only when
a browser object is first made, so this package imports anywhere.
"""

from __future__ import annotations

from .signalling import AUDIO_INDEX, SCREEN_INDEX, VIDEO_INDEX, ConnectionTarget
from .transport import SmallWebRTCTransport, TransportNotConnectedError

__all__ = [
    "AUDIO_INDEX",
    "SCREEN_INDEX",
    "VIDEO_INDEX",
    "ConnectionTarget",
    "SmallWebRTCTransport",
    "TransportNotConnectedError",
]
