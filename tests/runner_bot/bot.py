"""A stock Pipecat bot on the development runner, as a Pipecat user writes one (pipecat-ai 1.14).

    .venvs/runner-1.14.0/bin/python tests/runner_bot/bot.py -t webrtc --host 127.0.0.1 --port 7860
    .venvs/runner-1.14.0/bin/python tests/runner_bot/bot.py -t websocket --host localhost --port 7860

Nothing of pyrtvi is imported: this is the bot a user already has, and the tests check that
pyrtvi talks to it as it is. Offline stand-ins replace the cloud services: Silero VAD (bundled
with pipecat), an "LLM" that echoes what it was told, a TTS that answers with a short tone.

`RUNNER_BOT_ANSWER_DELAY_MS` (env), or `answer_delay_ms` in a session's body, delays every
answer by that many ms (the kit's latency tests: a known delay must show in voice to voice).

For the tests it records each session's `runner_args.body`:
- appended as one JSON line to the file named by `RUNNER_BOT_RECORD` (when set);
- and answered to the RTVI client message `body` (a `server-response` carrying it).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import struct
from collections.abc import AsyncGenerator
from typing import Any

from loguru import logger
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import (
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TTSAudioRawFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.processors.frameworks.rtvi import RTVIProcessor
from pipecat.runner.types import RunnerArguments
from pipecat.runner.utils import create_transport
from pipecat.serializers.protobuf import ProtobufFrameSerializer
from pipecat.services.settings import TTSSettings
from pipecat.services.tts_service import TTSService
from pipecat.transports.base_transport import BaseTransport, TransportParams
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams
from pipecat.workers.runner import WorkerRunner

TONE_HZ = 440.0
TONE_SECONDS = 0.4


class EchoLLM(FrameProcessor):
    """Stands in for an LLM service: answers the last user message with "You said: …",
    after ``delay`` seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if not isinstance(frame, LLMContextFrame):
            await self.push_frame(frame, direction)
            return
        said = ""
        for message in reversed(frame.context.get_messages()):
            if isinstance(message, dict) and message.get("role") == "user":
                content = message.get("content")
                said = content if isinstance(content, str) else json.dumps(content)
                break
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        await self.push_frame(LLMFullResponseStartFrame())
        for word in f"You said: {said or 'nothing'}.".split(" "):
            await self.push_frame(LLMTextFrame(text=word + " "))
        await self.push_frame(LLMFullResponseEndFrame())


class ToneTTS(TTSService):
    """Stands in for a TTS service: every sentence is a short sine tone."""

    def __init__(self, **kwargs: Any) -> None:
        settings = TTSSettings(model="tone", voice="tone", language=None)
        super().__init__(push_start_frame=True, push_stop_frames=True, settings=settings, **kwargs)

    def can_generate_metrics(self) -> bool:
        return True

    async def run_tts(  # type: ignore[override]
        self, text: str, context_id: str
    ) -> AsyncGenerator[Frame, None]:
        rate = self.sample_rate
        samples = int(rate * TONE_SECONDS)
        pcm = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * TONE_HZ * i / rate)))
            for i in range(samples)
        )
        step = rate // 10 * 2  # 100 ms chunks
        for start in range(0, len(pcm), step):
            yield TTSAudioRawFrame(
                audio=pcm[start : start + step],
                sample_rate=rate,
                num_channels=1,
                context_id=context_id,
            )


def record(runner_args: RunnerArguments) -> None:
    path = os.environ.get("RUNNER_BOT_RECORD")
    if path:
        line = json.dumps({"session_id": runner_args.session_id, "body": runner_args.body})
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")


def answer_delay(runner_args: RunnerArguments) -> float:
    body = runner_args.body if isinstance(runner_args.body, dict) else {}
    delay_ms = body.get("answer_delay_ms", os.environ.get("RUNNER_BOT_ANSWER_DELAY_MS", 0))
    return float(delay_ms) / 1000


async def run_bot(transport: BaseTransport, runner_args: RunnerArguments) -> None:
    context = LLMContext(messages=[{"role": "system", "content": "Echo the user."}])
    user, assistant = LLMContextAggregatorPair(
        context, user_params=LLMUserAggregatorParams(vad_analyzer=SileroVADAnalyzer())
    )
    pipeline = Pipeline(
        [
            transport.input(),
            user,
            EchoLLM(answer_delay(runner_args)),
            ToneTTS(),
            transport.output(),
            assistant,
        ]
    )
    worker = PipelineWorker(pipeline, params=PipelineParams(enable_metrics=True))

    @worker.rtvi.event_handler("on_client_message")
    async def on_client_message(rtvi: RTVIProcessor, message: Any) -> None:
        if message.type == "body":
            await rtvi.send_server_response(message, runner_args.body)
        else:
            await rtvi.send_error_response(message, f"unknown message type {message.type!r}")

    @transport.event_handler("on_client_disconnected")
    async def on_client_disconnected(transport: BaseTransport, client: Any) -> None:
        logger.info("client left")
        await worker.cancel()

    await WorkerRunner(handle_sigint=runner_args.handle_sigint).run(worker)


async def bot(runner_args: RunnerArguments) -> None:
    """The runner's entry point: one call per session."""
    record(runner_args)
    transport = await create_transport(
        runner_args,
        {
            "webrtc": lambda: TransportParams(audio_in_enabled=True, audio_out_enabled=True),
            # `/ws-client`: the protobuf frames @pipecat-ai/websocket-transport speaks.
            "websocket": lambda: FastAPIWebsocketParams(
                audio_in_enabled=True,
                audio_out_enabled=True,
                serializer=ProtobufFrameSerializer(),
            ),
        },
    )
    await run_bot(transport, runner_args)


if __name__ == "__main__":
    from pipecat.runner.run import main

    main()
