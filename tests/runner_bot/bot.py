"""A stock Pipecat bot on the development runner, as a Pipecat user writes one (pipecat-ai 1.14).

    .venvs/runner-1.14.0/bin/python tests/runner_bot/bot.py -t webrtc --host 127.0.0.1 --port 7860
    .venvs/runner-1.14.0/bin/python tests/runner_bot/bot.py -t websocket --host localhost --port 7860

Nothing of pyrtvi is imported: this is the bot a user already has, and the tests check that
pyrtvi talks to it as it is. Offline services stand in for the cloud ones:

- Silero VAD (bundled with pipecat);
- a real offline STT: CMU PocketSphinx (`pocketsphinx` 5 on PyPI, whose wheel carries its en-us
  acoustic model, language model and dictionary; no download at run time), on pipecat's
  segmented STT shape (`SegmentedSTTService`: one transcription per VAD segment). It is what a
  user without a cloud key would use, and it hears espeak-ng's voice well enough for short
  sentences ("hello there" comes back as said); a stand-in that always "heard" a fixed text
  would test nothing of the audio path;
- a stand-in LLM *service* (`RuleLLM`, an `LLMService`): "weather" in the user's message calls
  the registered function `get_weather` through pipecat's own function calling
  (`register_function`, `run_function_calls`; the RTVI `llm-function-call-*` messages reach the
  client, report level FULL for it), then answers with its result; "story" gets a long answer
  (a dozen sentences: something to interrupt); anything else is echoed ("You said: ...");
- a TTS that answers each sentence with a short tone;
- pipecat's `DTMFAggregator`, as a phone bot has it: keypad keys (RTVI `dtmf`) become the user's
  turn "DTMF: 42#" (after `#`, or 2 s without a key), which the LLM echoes like any other.

`RUNNER_BOT_ANSWER_DELAY_MS` (env), or `answer_delay_ms` in a session's body, delays every
answer by that many ms (the kit's latency tests: a known delay must show in voice to voice).
`RUNNER_BOT_STT=none` (env) runs it without STT: the user's turn then ends on pipecat's fixed
turn-stop timeout (~5 s), whatever the machine's load, where PocketSphinx's decoding time
varies with it (tests that measure a known delay want the steady bot).

For the tests it records each session's `runner_args.body`:
- appended as one JSON line to the file named by `RUNNER_BOT_RECORD` (when set);
- and answered to the RTVI client message `body` (a `server-response` carrying it).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import struct
import uuid
from collections.abc import AsyncGenerator
from typing import Any

from loguru import logger
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import (
    Frame,
    FunctionCallFromLLM,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.dtmf_aggregator import DTMFAggregator
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.processors.frameworks.rtvi import (
    RTVIFunctionCallReportLevel,
    RTVIObserverParams,
    RTVIProcessor,
)
from pipecat.runner.types import RunnerArguments
from pipecat.runner.utils import create_transport
from pipecat.serializers.protobuf import ProtobufFrameSerializer
from pipecat.services.llm_service import FunctionCallParams, LLMService
from pipecat.services.settings import LLMSettings, STTSettings, TTSSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.services.tts_service import TTSService
from pipecat.transports.base_transport import BaseTransport, TransportParams
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams
from pipecat.utils.time import time_now_iso8601
from pipecat.workers.runner import WorkerRunner

TONE_HZ = 440.0
TONE_SECONDS = 0.4
STORY = " ".join(
    f"This is sentence {n} of a long story, told slowly so that you can interrupt it."
    for n in range(1, 13)
)
WEATHER = FunctionSchema(
    name="get_weather",
    description="The current weather in a city.",
    properties={"location": {"type": "string", "description": "the city"}},
    required=["location"],
)


async def get_weather(params: FunctionCallParams) -> None:
    """The registered function (a real bot would ask a weather service)."""
    location = str(params.arguments.get("location", ""))
    await params.result_callback({"location": location, "conditions": "sunny", "celsius": 21})


class PocketSphinxSTT(SegmentedSTTService):
    """Offline speech to text: one PocketSphinx decode per VAD segment (16-bit PCM)."""

    def __init__(self, **kwargs: Any) -> None:
        settings = STTSettings(model="pocketsphinx-en-us", language=None)
        super().__init__(settings=settings, **kwargs)
        self._decoder: Any = None

    @property
    def wants_wav_segments(self) -> bool:
        return False

    def can_generate_metrics(self) -> bool:
        return True

    def _decode(self, pcm: bytes) -> str:
        from pocketsphinx import Decoder  # type: ignore[import-untyped]

        if self._decoder is None:  # loads the bundled en-us model (~0.3 s)
            self._decoder = Decoder(samprate=self.sample_rate)
        self._decoder.start_utt()
        self._decoder.process_raw(pcm, full_utt=True)
        self._decoder.end_utt()
        hypothesis = self._decoder.hyp()
        return str(hypothesis.hypstr).strip() if hypothesis is not None else ""

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:  # type: ignore[override]
        await self.start_processing_metrics()
        text = await asyncio.to_thread(self._decode, audio)
        await self.stop_processing_metrics()
        logger.info(f"heard: {text!r}")
        if text:
            yield TranscriptionFrame(text, self._user_id, time_now_iso8601())


class RuleLLM(LLMService):
    """Stands in for an LLM service, after ``delay`` seconds: calls ``get_weather`` for a
    weather question, tells a long story when asked for one, echoes anything else."""

    def __init__(self, delay: float = 0.0, **kwargs: Any) -> None:
        # None: what a rule does not use (pipecat logs an error for a field left unset).
        settings = LLMSettings(
            model="rules",
            system_instruction=None,
            temperature=None,
            max_tokens=None,
            top_p=None,
            top_k=None,
            frequency_penalty=None,
            presence_penalty=None,
            seed=None,
            filter_incomplete_user_turns=None,
            user_turn_completion_config=None,
        )
        super().__init__(settings=settings, **kwargs)
        self.delay = delay

    def can_generate_metrics(self) -> bool:
        return True

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            await self.answer(frame.context)
        else:
            await self.push_frame(frame, direction)

    async def answer(self, context: LLMContext) -> None:
        messages: list[Any] = [m for m in context.get_messages() if isinstance(m, dict)]
        last: dict[str, Any] = messages[-1] if messages else {}
        content = last.get("content")
        said = content if isinstance(content, str) else json.dumps(content)
        await self.start_ttfb_metrics()
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        await self.push_frame(LLMFullResponseStartFrame())
        if last.get("role") == "tool":
            result = json.loads(said)
            text = f"In {result['location']} it is {result['conditions']}, {result['celsius']} degrees."
        elif last.get("role") == "user" and "weather" in said.lower():
            found = re.search(r"\bin ([A-Za-z]+)", said)
            call = FunctionCallFromLLM(
                function_name="get_weather",
                tool_call_id=f"call_{uuid.uuid4().hex[:12]}",
                arguments={"location": found.group(1).capitalize() if found else "Paris"},
                context=context,
            )
            await self.stop_ttfb_metrics()
            await self.push_frame(LLMFullResponseEndFrame())
            await self.run_function_calls([call])
            return
        elif last.get("role") == "user" and "story" in said.lower():
            text = STORY
        else:
            text = f"You said: {said or 'nothing'}."
        await self.stop_ttfb_metrics()
        for word in text.split(" "):
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
    context = LLMContext(
        messages=[{"role": "system", "content": "Echo the user; tell the weather."}],
        tools=ToolsSchema(standard_tools=[WEATHER]),
    )
    llm = RuleLLM(answer_delay(runner_args))
    llm.register_function("get_weather", get_weather)
    user, assistant = LLMContextAggregatorPair(
        context, user_params=LLMUserAggregatorParams(vad_analyzer=SileroVADAnalyzer())
    )
    pipeline = Pipeline(
        [
            transport.input(),
            *([] if os.environ.get("RUNNER_BOT_STT") == "none" else [PocketSphinxSTT()]),
            DTMFAggregator(),
            user,
            llm,
            ToneTTS(),
            transport.output(),
            assistant,
        ]
    )
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(enable_metrics=True),
        # The client may see get_weather's arguments and result (pipecat's default: neither).
        rtvi_observer_params=RTVIObserverParams(
            function_call_report_level={"get_weather": RTVIFunctionCallReportLevel.FULL}
        ),
    )

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
