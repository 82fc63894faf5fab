"""An aiortc WebRTC peer speaking RTVI over SmallWebRTC, as the browser transport does.

Reusable by any test that drives a bot session: give `RTVIPeer.connect()` the offer URL (the bot's
`/sessions/{id}/api/offer`, or the proxy's equivalent). The peer sends a WAV file as its microphone
(silence until `mic.play()`), records every RTVI message it receives and measures the energy of
the bot's audio. ICE uses no servers (`iceServers=[]`): aiortc would otherwise ask Google's STUN.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import fractions
import json
import time
import uuid
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import httpx
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

ROOT = Path(__file__).resolve().parents[2]
MIC_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms
#: Peak sample value above which a received audio frame counts as sound (not silence/noise).
SOUND_PEAK = 500


def speech_wav() -> Path:
    """The test speech file: the repo copy, else `../shared/data` next to the repo (as in CI)."""
    for path in (ROOT / "tests/data/speech48k.wav", ROOT.parent / "shared/data/speech48k.wav"):
        if path.exists():
            return path
    raise FileNotFoundError("speech48k.wav not found in tests/data/ or ../shared/data/")


def new_id() -> str:
    return uuid.uuid4().hex[:8]


class WavMic(MediaStreamTrack):
    """A 48 kHz mono microphone: silence until `play()`, then the WAV once, then silence again."""

    kind = "audio"

    def __init__(self, path: Path) -> None:
        super().__init__()
        with wave.open(str(path)) as wav:
            if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (MIC_RATE, 1, 2):
                raise ValueError(f"{path} must be 48 kHz mono 16-bit")
            self._pcm = wav.readframes(wav.getnframes())
        self._pos: int | None = None
        self._start: float | None = None
        self._timestamp = 0
        self.finished = asyncio.Event()

    @property
    def duration(self) -> float:
        return len(self._pcm) / 2 / MIC_RATE

    def play(self, offset: float = 0.0) -> None:
        """Start (or restart) the WAV, skipping its first `offset` seconds."""
        self.finished.clear()
        self._pos = int(offset * MIC_RATE) * 2

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._timestamp += FRAME_SAMPLES
            delay = self._start + self._timestamp / MIC_RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        chunk = b""
        if self._pos is not None:
            chunk = self._pcm[self._pos : self._pos + FRAME_SAMPLES * 2]
            self._pos += FRAME_SAMPLES * 2
            if self._pos >= len(self._pcm):
                self._pos = None
                self.finished.set()
        chunk = chunk.ljust(FRAME_SAMPLES * 2, b"\0")
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(chunk)
        frame.sample_rate = MIC_RATE
        frame.pts = self._timestamp
        frame.time_base = fractions.Fraction(1, MIC_RATE)
        return frame


@dataclass
class Received:
    at: float
    message: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.message.get("type"))


@dataclass
class AudioStats:
    """What the peer heard from the bot: frame count, and when frames carried sound."""

    frames: int = 0
    sound_frames: int = 0
    peak: int = 0
    sound_times: list[float] = field(default_factory=list)

    def sound_between(self, start: float, end: float | None = None) -> int:
        return sum(1 for t in self.sound_times if t >= start and (end is None or t <= end))


class RTVIPeer:
    """One peer connection with a `chat` data channel, a WAV microphone and RTVI bookkeeping."""

    def __init__(self, wav: Path | None = None) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.mic = WavMic(wav or speech_wav())
        self.channel: RTCDataChannel | None = None
        self.pc_id: str | None = None
        self.log: list[Received] = []
        self.signalling: list[dict[str, Any]] = []
        self.audio = AudioStats()
        self._arrived = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._open = asyncio.Event()

    # -- connection -------------------------------------------------------------------------

    async def connect(
        self,
        offer_url: str,
        client: httpx.AsyncClient,
        timeout: float = 20.0,
        *,
        pc_id: str | None = None,
        restart_pc: bool = False,
    ) -> dict[str, Any]:
        """Offer/answer over HTTP, then wait for the data channel to open. Returns the answer.

        With `pc_id` and `restart_pc=True` this peer replaces that (older) peer connection on the
        bot, as the transports do when they recreate a failed connection."""
        self.pc.addTransceiver(self.mic, direction="sendrecv")
        self.pc.addTransceiver("video", direction="sendrecv")
        channel = self.pc.createDataChannel("chat", ordered=True)
        self.channel = channel
        channel.on("open", self._open.set)
        channel.on("message", self._on_message)
        self.pc.on("track", self._on_track)
        answer = await self._negotiate(offer_url, client, pc_id, restart_pc, timeout)
        await asyncio.wait_for(self._open.wait(), timeout)
        self._tasks.append(asyncio.create_task(self._keepalive()))
        return answer

    async def renegotiate(
        self, offer_url: str, client: httpx.AsyncClient, timeout: float = 20.0
    ) -> dict[str, Any]:
        """A new offer on the same peer connection (`restart_pc: false`)."""
        return await self._negotiate(offer_url, client, self.pc_id, False, timeout)

    async def _negotiate(
        self,
        offer_url: str,
        client: httpx.AsyncClient,
        pc_id: str | None,
        restart_pc: bool,
        timeout: float,
    ) -> dict[str, Any]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = self.pc.localDescription
        body = {"sdp": offer.sdp, "type": offer.type, "pc_id": pc_id, "restart_pc": restart_pc}
        reply = await client.post(offer_url, json=body, timeout=timeout)
        reply.raise_for_status()
        answer: dict[str, Any] = reply.json()
        self.pc_id = answer["pc_id"]
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        return answer

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.pc.close()

    async def _keepalive(self) -> None:
        """SmallWebRTC counts the peer as gone after 3 s without a `ping` text message."""
        while True:
            self.send_raw(f"ping: {int(time.time() * 1000)}")
            await asyncio.sleep(1.0)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._tasks.append(asyncio.create_task(self._read_audio(track)))

    async def _read_audio(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if not isinstance(frame, av.AudioFrame):
                    continue
                samples = array.array("h", bytes(frame.planes[0]))
                peak = max(max(samples, default=0), -min(samples, default=0))
                self.audio.frames += 1
                self.audio.peak = max(self.audio.peak, peak)
                if peak > SOUND_PEAK:
                    self.audio.sound_frames += 1
                    self.audio.sound_times.append(time.monotonic())

    def _on_message(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except (TypeError, ValueError):
            return
        if not isinstance(message, dict):
            return
        if message.get("type") == "signalling":
            self.signalling.append(message)
            return
        self.log.append(Received(time.monotonic(), message))
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    # -- sending ------------------------------------------------------------------------------

    def send_raw(self, text: str) -> None:
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(text)

    def send(self, kind: str, data: Any = None, msg_id: str | None = None) -> str:
        """Send an RTVI message; returns its id."""
        msg_id = msg_id or new_id()
        message: dict[str, Any] = {"label": "rtvi-ai", "type": kind, "id": msg_id}
        if data is not None:
            message["data"] = data
        self.send_raw(json.dumps(message))
        return msg_id

    async def request(self, kind: str, data: Any = None, timeout: float = 10.0) -> dict[str, Any]:
        """Send a message and return the first reply carrying its id."""
        msg_id = self.send(kind, data)
        received = await self.wait_for(lambda m: m.get("id") == msg_id, timeout=timeout)
        return received.message

    # -- waiting ------------------------------------------------------------------------------

    async def wait_for(
        self,
        match: str | Callable[[dict[str, Any]], bool],
        *,
        after: float = 0.0,
        timeout: float = 10.0,
    ) -> Received:
        """The first logged message (received at or after `after`) matching a type or predicate."""
        predicate = (lambda m: m.get("type") == match) if isinstance(match, str) else match

        def find() -> Received | None:
            return next((r for r in self.log if r.at >= after and predicate(r.message)), None)

        async def wait() -> Received:
            while True:
                arrived = self._arrived
                found = find()
                if found is not None:
                    return found
                await arrived.wait()

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            seen = [r.type for r in self.log if r.at >= after]
            raise AssertionError(f"no {match!r} within {timeout} s; received {seen}") from None

    async def receive_audio(self, frames: int, timeout: float = 10.0) -> None:
        """Wait until `frames` more bot audio frames (20 ms each) have arrived."""
        target = self.audio.frames + frames
        deadline = time.monotonic() + timeout
        while self.audio.frames < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"bot audio stalled at {self.audio.frames} frames")
            await asyncio.sleep(0.02)

    async def say_goodbye(self) -> None:
        """Type a farewell: the bot must say it (audibly), then end the session (`peerLeft`)."""
        start = time.monotonic()
        self.send("send-text", {"content": "ok, bye", "options": {"run_immediately": True}})
        started = await self.wait_for("bot-started-speaking", after=start, timeout=15)
        stopped = await self.wait_for("bot-stopped-speaking", after=started.at, timeout=15)
        assert self.audio.sound_between(started.at, stopped.at) >= 10  # the farewell was heard
        assert await self.wait_for_bot_to_leave() == "peerLeft"

    async def wait_for_bot_to_leave(self, timeout: float = 10.0) -> str:
        """Wait until the bot ends the session: its `peerLeft`, or the channel/connection closing."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(m.get("message", {}).get("type") == "peerLeft" for m in self.signalling):
                return "peerLeft"
            if self.channel is not None and self.channel.readyState == "closed":
                return "data channel closed"
            if self.pc.connectionState in ("closed", "failed"):
                return f"connection {self.pc.connectionState}"
            await asyncio.sleep(0.05)
        raise AssertionError(f"the bot did not leave within {timeout} s")

    def types(self, after: float = 0.0) -> list[str]:
        return [r.type for r in self.log if r.at >= after]

    async def ready(self, version: str | None = "1.0.0", timeout: float = 10.0) -> dict[str, Any]:
        """Send client-ready (with a version, as client-js 1.x does, or `{}` as 0.x) → bot-ready."""
        data: dict[str, Any] = (
            {"version": version, "about": {"library": "pyrtvi-tests"}} if version else {}
        )
        msg_id = self.send("client-ready", data)
        received = await self.wait_for(
            lambda m: m.get("type") == "bot-ready" and m.get("id") == msg_id, timeout=timeout
        )
        return received.message


async def start_session(
    client: httpx.AsyncClient, base_url: str, body: dict[str, Any] | None = None
) -> str:
    """`POST /start` on a bot; returns the offer URL of the new session."""
    reply = await client.post(base_url + "/start", json=body or {})
    reply.raise_for_status()
    return f"{base_url}/sessions/{reply.json()['sessionId']}/api/offer"
