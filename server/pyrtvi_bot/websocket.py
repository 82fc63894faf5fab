"""The bot's WebSocket endpoint: pipecat's protobuf WebSocket, serving the same conversation.

    WS /ws                          a conversation with the default settings (no /start needed)
    WS /sessions/{id}/ws            the conversation of a session made by POST /start

Every message is one protobuf `pipecat.Frame` (pipecat's `ProtobufFrameSerializer`): RTVI JSON as
`MessageFrame`, mic and bot audio as `AudioRawFrame` (16-bit PCM; the bot hears 16 kHz mono and
speaks 24 kHz). A page on another host is refused (the bot listens on loopback only, and only
pages served from loopback may use it); an unknown session is closed with code 4404 and a reason.
Messages are capped by uvicorn's `ws_max_size` (see `__main__`).
"""

from __future__ import annotations

import asyncio
import hmac
import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from loguru import logger
from starlette.websockets import WebSocket

from pyrtvi_bot.state import check_config

if TYPE_CHECKING:
    from pyrtvi_bot.app import Session, SessionRoutes

#: Origins allowed to open the socket: pages served from this machine (or no browser at all).
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
#: Close codes: policy violation (origin), unknown session, too many connections.
CLOSE_POLICY = 1008
CLOSE_UNKNOWN_SESSION = 4404
CLOSE_TOO_MANY = 4429


def origin_allowed(origin: str | None) -> bool:
    if not origin:
        return True  # not a browser: the loopback bind is the boundary
    return (urlsplit(origin).hostname or "") in LOOPBACK_HOSTS


async def serve_websocket(service: SessionRoutes, websocket: WebSocket) -> None:
    """Accept one client and run its pipeline until either side leaves."""
    from pyrtvi_bot.app import MAX_CONNECTIONS_PER_SESSION, TOKEN_HEADER, Session

    token = os.environ.get("PYRTVI_BOT_TOKEN", "")
    origin = websocket.headers.get("origin")
    if token:
        # Launched by pyrtvi serve: only its relay (which checked the page's origin against the
        # server's allowed origins) holds the per-launch token.
        sent = websocket.headers.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(sent.encode(), token.encode()):
            logger.warning("websocket without the bot token refused")
            await websocket.close(code=CLOSE_POLICY)  # before accept: the client sees a 403
            return
    elif not origin_allowed(origin):
        logger.warning(f"websocket from origin {origin!r} refused")
        await websocket.close(code=CLOSE_POLICY)  # before accept: the browser sees a 403
        return
    await websocket.accept()
    session_id = websocket.path_params.get("session_id")
    session: Session | None
    if session_id is None:
        session = Session("ws-" + hex(id(websocket))[2:], {}, {}, check_config([]))
    else:
        session = service.sessions.get(session_id)
    if session is None:
        await websocket.close(CLOSE_UNKNOWN_SESSION, f"unknown session {session_id!r}")
        return
    if session.websockets >= MAX_CONNECTIONS_PER_SESSION:
        await websocket.close(CLOSE_TOO_MANY, "too many connections in this session")
        return
    task = asyncio.current_task()
    assert task is not None
    service.bots.add(task)
    session.websockets += 1
    logger.info(f"session {session.id}: websocket client connected")
    try:
        await service.flavor.run_websocket_bot(websocket, session)
    except Exception:
        logger.exception(f"session {session.id}: websocket bot failed")
    finally:
        session.websockets -= 1
        service.bots.discard(task)
        logger.info(f"session {session.id}: websocket bot ended")
