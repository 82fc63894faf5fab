"""Incremental ``text/event-stream`` parsing for the disconnected-action reply. Pure, no I/O.

Each event's ``data:`` lines are joined (without separators: the payload is one base64 string
that servers may wrap) and returned when the event ends with a blank line. Other fields
(``event:``, ``id:``, ``retry:``) and comments are ignored — unlike the JS client, which
concatenated every line containing a colon and so broke on ``event:`` lines.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .errors import InvalidMessageError


class SSEParser:
    def __init__(self) -> None:
        self._buffer = ""
        self._data: list[str] = []
        self._has_data = False

    def feed(self, chunk: str) -> list[str]:
        """Add text; return the data of every event completed by it."""
        self._buffer += chunk
        events: list[str] = []
        while True:
            line, sep, rest = self._split_line(self._buffer)
            if not sep:
                break
            self._buffer = rest
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[str]:
        """End of stream: return the last event if it was not terminated by a blank line."""
        events = []
        if self._buffer:
            event = self._line(self._buffer)
            self._buffer = ""
            if event is not None:
                events.append(event)
        event = self._line("")
        if event is not None:
            events.append(event)
        return events

    @staticmethod
    def _split_line(buffer: str) -> tuple[str, str, str]:
        for i, ch in enumerate(buffer):
            if ch == "\n":
                return buffer[:i], "\n", buffer[i + 1 :]
            if ch == "\r":
                if i + 1 == len(buffer):
                    return buffer, "", ""  # wait: maybe "\r\n" split across chunks
                if buffer[i + 1] == "\n":
                    return buffer[:i], "\r\n", buffer[i + 2 :]
                return buffer[:i], "\r", buffer[i + 1 :]
        return buffer, "", ""

    def _line(self, line: str) -> str | None:
        if line == "":
            if not self._has_data:
                return None
            data = "".join(self._data)
            self._data = []
            self._has_data = False
            return data
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value.strip())
            self._has_data = True
        return None


def decode_event_data(data: str) -> Any:
    """One event's data → the RTVI message object it carries.

    The realtime-ai format is base64 of the JSON envelope; plain JSON is accepted as well.
    """
    text = data.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise InvalidMessageError(f"event data is not valid JSON: {exc}", data) from None
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidMessageError(f"event data is neither JSON nor base64: {exc}", data) from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidMessageError(f"decoded event data is not JSON: {exc}", data) from None
