"""uvicorn's h11 protocol with read deadlines, a header-size limit and a chunk-size limit.

uvicorn (0.55) times out idle keep-alive connections only: a client that opens a connection and
sends half its headers, or announces a body and stalls, holds the connection forever, and a chunked
body announcing an absurd chunk size (`FFFFFFFFFFFFFFFFFFFF`) is waited for forever too. Here:

- the request headers must be complete within `header_timeout` seconds of the connection being
  made (or of the first byte of the next request on a kept-alive one): else 408 and close;
- the whole request body must arrive within `body_timeout` seconds of the headers: else close
  (the application sees the client gone);
- a chunk larger than `max_chunk` bytes is refused (413) and the connection closed;
- request headers (request line included) over `max_header_bytes` are refused (431) and the
  connection closed, however the client split them into packets (h11 alone refuses an
  *incomplete* head over its buffer limit but takes a complete one of any size in one write);
- a request that is not HTTP is answered 400 in the same JSON `{"error", "detail"}` shape as
  every other error (uvicorn answers `text/plain` "Invalid HTTP request received.").

A WebSocket upgrade ends them: the connection is the socket's from then on (a relayed session
lasts minutes), so no deadline armed for its request may close it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("pyrtvi.protocol")

#: The end of a request head (h11 takes bare LF line ends too).
HEAD_END = re.compile(rb"\r?\n\r?\n")


class GuardedH11Protocol(H11Protocol):
    header_timeout: float = 10.0
    body_timeout: float = 20.0
    max_chunk: int = 1024 * 1024
    max_header_bytes: int = 16 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._phase = ""
        self._upgraded = False

    def _arm(self, phase: str, seconds: float) -> None:
        self._disarm()
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None
        self._phase = ""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("headers", self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            if self._deadline is None:
                self._arm("headers", self.header_timeout)
            if self._head_too_large(data):
                return
        super().data_received(data)

    def _head_too_large(self, data: bytes) -> bool:
        """Refuse (431) a request head over `max_header_bytes`, whole or not yet complete."""
        head = self.conn.trailing_data[0] + data
        end = HEAD_END.search(head)
        size = end.end() if end else len(head)
        if size <= self.max_header_bytes:
            return False
        log.info("refused request headers of %s bytes", size if end else f"{size}+")
        self._refuse(
            431,
            "request headers too large",
            f"request headers are at most {self.max_header_bytes} bytes",
        )
        return True

    def send_400_response(self, msg: str) -> None:
        """Malformed HTTP (h11's `RemoteProtocolError`): JSON, as every other error."""
        if len(self.conn.trailing_data[0]) > self.max_header_bytes:
            self._refuse(
                431,
                "request headers too large",
                f"request headers are at most {self.max_header_bytes} bytes",
            )
            return
        self._refuse(400, "invalid HTTP request", "the request is not valid HTTP/1.1")

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._upgraded = True
        self._disarm()
        super().handle_websocket_upgrade(event)

    def handle_events(self) -> None:
        super().handle_events()
        if self._upgraded or self.transport.is_closing():
            self._disarm()
            return
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            if self._phase != "body":
                self._arm("body", self.body_timeout)
            reader = getattr(self.conn, "_reader", None)
            if getattr(reader, "_bytes_in_chunk", 0) > self.max_chunk:
                log.warning("refused a %s chunk", getattr(reader, "_bytes_in_chunk", 0))
                self._refuse(413, "chunk too large", f"chunks are at most {self.max_chunk} bytes")
        elif state is h11.IDLE and self.conn.trailing_data[0]:
            pass  # part of the next request's headers: the header deadline keeps running
        elif self._phase:
            self._disarm()

    def _expired(self) -> None:
        phase, self._deadline = self._phase, None
        if self.transport.is_closing():
            return
        if phase == "headers" and not self.conn.trailing_data[0]:
            self.transport.close()  # connected (or kept alive) and sent nothing
            return
        log.info("closing a connection whose request %s came too slowly", phase)
        self._refuse(408, "request timeout", f"the request {phase} came too slowly")

    def _refuse(self, status: int, error: str, detail: str) -> None:
        """Answer `status` if no answer has started, then close the connection."""
        self._disarm()
        cycle = self.cycle
        started = cycle is not None and cycle.response_started
        if not started and self.conn.our_state in {h11.IDLE, h11.SEND_RESPONSE}:
            body = json.dumps({"error": error, "detail": detail}).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ]
            with contextlib.suppress(h11.LocalProtocolError):
                self.transport.write(
                    self.conn.send(h11.Response(status_code=status, headers=headers))
                    + (self.conn.send(h11.Data(data=body)) or b"")
                    + (self.conn.send(h11.EndOfMessage()) or b"")
                )
        if cycle is not None:
            cycle.disconnected = True  # the application's further sends are dropped
            cycle.message_event.set()
        self.transport.close()


def guarded_protocol(
    header_timeout: float,
    body_timeout: float,
    max_chunk: int,
    max_header_bytes: int = GuardedH11Protocol.max_header_bytes,
) -> type[GuardedH11Protocol]:
    """A `GuardedH11Protocol` subclass with these limits (uvicorn instantiates the class)."""
    return type(
        "ConfiguredH11Protocol",
        (GuardedH11Protocol,),
        {
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "max_chunk": max_chunk,
            "max_header_bytes": max_header_bytes,
        },
    )
