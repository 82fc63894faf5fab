"""The RTVI client from CPython: Pipecat's protobuf WebSocket without a browser.

``PythonWebSocketTransport`` (:mod:`.transport`) is driven by ``RTVIClient`` as the browser
transports are (start/connect through the stdlib HTTP adapter, the default under CPython); its
audio (:mod:`.audio`) is a :class:`Microphone` fed with PCM and paced in real time, and
:class:`BotAudio`, the bot's frames with their arrival times. It needs the ``websockets`` package
(a dependency of ``pyrtvi``), imported when a session opens; the audio module is stdlib only.
"""

from __future__ import annotations

from .audio import AUDIBLE, PCM, BotAudio, Microphone
from .transport import FLUSH_ON, PythonWebSocketTransport

__all__ = ["AUDIBLE", "FLUSH_ON", "PCM", "BotAudio", "Microphone", "PythonWebSocketTransport"]
