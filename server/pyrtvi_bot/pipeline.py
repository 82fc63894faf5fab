"""Pipecat processors shared by both bot flavours (their APIs match in 0.0.108 and 1.14).

The conversation path, all offline:

    transport.input() → [RTVI] → VADProcessor → [real STT] → SpeechTurns → ContextKeeper
        → StandInLLM (or a real LLM) → AssistantRecorder → EspeakTTSService → transport.output()

* `SpeechTurns` turns VAD frames into user started/stopped speaking (and interrupts the bot); with
  no STT it stands in for one: each speech turn becomes a user message saying how long it was, so
  real bot speech follows user speech.
* `ContextKeeper` owns the `LLMContext`: appends/updates/runs (from send-text, actions, speech)
  become an `LLMContextFrame` for the LLM, exactly what a real pipecat LLM service consumes.
* `StandInLLM` answers from `rules.reply()`, streaming word tokens between the usual
  LLMFullResponseStart/End frames; `AssistantRecorder` writes the reply back into the context.
  Like a pipecat LLM service it reports its metrics (when the pipeline enables them): TTFB (the
  context in, the first token out), processing (the whole answer) and token usage
  (`rules.token_usage`: its own word-sized tokens).
  For a weather question it first "calls" `rules.get_weather`, pushing the function-call frames
  an LLM service pushes (started, in progress, result), which pipecat's RTVI observer reports as
  `llm-function-call-*` messages (report level FULL for it: `FUNCTION_CALL_REPORT_LEVEL`).
* `EspeakTTSService` is a regular pipecat `TTSService`, so TTS and bot-speaking events are pipecat's,
  and so are its metrics: TTFB (text in, first audio out: the espeak-ng run), processing per
  sentence, and characters (`start_tts_usage_metrics`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator
from typing import Any, cast

from loguru import logger
from pipecat.audio.utils import create_stream_resampler
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    CancelFrame,
    EndFrame,
    ErrorFrame,
    Frame,
    FunctionCallFromLLM,
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    FunctionCallsStartedFrame,
    InputAudioRawFrame,
    InterruptionFrame,
    LLMConfigureOutputFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMMessagesAppendFrame,
    LLMMessagesUpdateFrame,
    LLMRunFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import LLMTokenUsage, MetricsData
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.processors.frameworks.rtvi import RTVIFunctionCallReportLevel
from pipecat.services.settings import TTSSettings
from pipecat.services.tts_service import TTSService

from pyrtvi_bot import espeak, rules
from pyrtvi_bot.state import BotSettings

# How this pipecat ends a session from inside the pipeline (as its RTVI `disconnect-bot` does):
# 1.4+ pushes EndWorkerFrame downstream, older ones EndTaskFrame upstream.
try:
    from pipecat.frames.frames import (  # type: ignore[attr-defined]  # absent before 1.4
        EndWorkerFrame as _EndSession,
    )

    _END_DIRECTION = FrameDirection.DOWNSTREAM
except ImportError:  # pipecat < 1.4
    from pipecat.frames.frames import EndTaskFrame as _EndSession

    _END_DIRECTION = FrameDirection.UPSTREAM

#: Seconds between streamed stand-in LLM tokens (a little pacing makes the stream observable).
TOKEN_DELAY = 0.02
#: TTS audio is pushed in chunks of this many seconds.
TTS_CHUNK_SECONDS = 0.1
#: Silence that ends a user turn. Pipecat's VAD default (0.2 s) leaves turn ends to a turn
#: analyzer; with no such analyzer here, a longer pause keeps one spoken sentence one turn.
VAD_STOP_SECS = 0.8


def vad_params() -> VADParams:
    return VADParams(stop_secs=VAD_STOP_SECS)


class SpeechTurns(FrameProcessor):
    """User speaking events from VAD frames; a speech-turn message when there is no STT."""

    def __init__(self, *, echo: bool, vad_start_secs: float, vad_stop_secs: float) -> None:
        super().__init__()
        self._echo = echo
        self._start_secs = vad_start_secs
        self._stop_secs = vad_stop_secs
        self._speaking = False
        self._captured = 0.0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, VADUserStartedSpeakingFrame):
            self._speaking, self._captured = True, 0.0
            await self.broadcast_interruption()  # type: ignore[no-untyped-call]  # an inherited pipecat method
            await self.broadcast_frame(UserStartedSpeakingFrame)
        elif isinstance(frame, VADUserStoppedSpeakingFrame) and self._speaking:
            self._speaking = False
            await self.broadcast_frame(UserStoppedSpeakingFrame)
            if self._echo:
                seconds = max(0.0, self._captured + self._start_secs - self._stop_secs)
                await self._user_turn(rules.speech_marker(seconds))
        elif isinstance(frame, InputAudioRawFrame) and self._speaking:
            bytes_per_second = 2 * frame.num_channels * frame.sample_rate
            self._captured += len(frame.audio) / bytes_per_second
        elif isinstance(frame, TranscriptionFrame) and not self._echo and frame.text.strip():
            # A real STT is in the pipeline: each final transcript is a user turn.
            await self._user_turn(frame.text.strip())

    async def _user_turn(self, text: str) -> None:
        message: Any = {"role": "user", "content": text}
        await self.push_frame(LLMMessagesAppendFrame(messages=[message], run_llm=True))


class ContextKeeper(FrameProcessor):
    """Owns the conversation's `LLMContext`; turns context edits and runs into LLMContextFrames."""

    def __init__(self, context: LLMContext) -> None:
        super().__init__()
        self.context = context

    async def run(self) -> None:
        await self.push_frame(LLMContextFrame(context=self.context))

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMMessagesAppendFrame):
            self.context.add_messages(cast(Any, list(frame.messages)))
            if frame.run_llm:
                await self.run()
        elif isinstance(frame, LLMMessagesUpdateFrame):
            self.context.set_messages(cast(Any, list(frame.messages)))
            if frame.run_llm:
                await self.run()
        elif isinstance(frame, LLMRunFrame):
            await self.run()
        else:
            await self.push_frame(frame, direction)


#: The RTVI observer's report level: the client sees get_weather's arguments and result.
FUNCTION_CALL_REPORT_LEVEL = {rules.WEATHER_FUNCTION: RTVIFunctionCallReportLevel.FULL}


class StandInLLM(FrameProcessor):
    """An LLM service stand-in: answers each LLMContextFrame from the rule set, streaming tokens.

    After its farewell (`rules.ends_conversation`) has been spoken it ends the session, as a
    Pipecat bot ending a call does; an interruption cancels that.
    """

    def __init__(self, settings: BotSettings, token_delay: float = TOKEN_DELAY) -> None:
        super().__init__()
        self._settings = settings
        self._token_delay = token_delay
        self._skip_tts = False
        self._task: asyncio.Task[None] | None = None
        #: None, or the farewell's progress: "said" (streamed) → "speaking" → session ends
        self._farewell: str | None = None

    def can_generate_metrics(self) -> bool:
        return True

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            await self._stop_generating()
            messages = list(frame.context.get_messages())
            self._task = self.create_task(self._generate(messages), "stand-in-llm")
        elif isinstance(frame, LLMConfigureOutputFrame):
            self._skip_tts = frame.skip_tts
        elif isinstance(frame, InterruptionFrame | EndFrame | CancelFrame):
            self._farewell = None
            await self._stop_generating()
            await self.push_frame(frame, direction)
        else:
            await self.push_frame(frame, direction)
            if direction == FrameDirection.UPSTREAM and self._farewell is not None:
                await self._follow_farewell(frame)

    async def _follow_farewell(self, frame: Frame) -> None:
        if isinstance(frame, BotStartedSpeakingFrame):
            self._farewell = "speaking"
        elif isinstance(frame, BotStoppedSpeakingFrame) and self._farewell == "speaking":
            await self._end_session()

    async def _end_session(self) -> None:
        self._farewell = None
        logger.info(f"{self}: farewell said, ending the session")
        await self.push_frame(_EndSession(), _END_DIRECTION)

    async def _stop_generating(self) -> None:
        if self._task is not None and not self._task.done():
            await self.cancel_task(self._task)
        self._task = None

    def _mark(self, frame: Frame) -> Frame:
        if self._skip_tts and hasattr(frame, "skip_tts"):
            frame.skip_tts = True
        return frame

    async def _call_function(self, arguments: dict[str, Any]) -> str:
        """Call `rules.get_weather` as an LLM service does (its frames); the answer text."""
        name, call_id = rules.WEATHER_FUNCTION, f"call_{uuid.uuid4().hex[:12]}"
        call = FunctionCallFromLLM(
            function_name=name, tool_call_id=call_id, arguments=arguments, context=None
        )
        await self.push_frame(FunctionCallsStartedFrame(function_calls=[call]))
        await self.push_frame(
            FunctionCallInProgressFrame(
                function_name=name, tool_call_id=call_id, arguments=arguments
            )
        )
        result = rules.get_weather(arguments)
        await self.push_frame(
            FunctionCallResultFrame(
                function_name=name, tool_call_id=call_id, arguments=arguments, result=result
            )
        )
        return rules.weather_reply(result)

    async def _generate(self, messages: list[Any]) -> None:
        # As a pipecat LLM service measures: TTFB up to the first token, processing up to the
        # last, then the usage (frames only when the pipeline's params enable metrics).
        self.set_core_metrics_data(MetricsData(processor=self.name, model=self._settings.model))
        await self.start_processing_metrics()
        await self.start_ttfb_metrics()
        arguments = rules.function_call(messages) if self._settings.model != "echo" else None
        if arguments is not None:
            await self.stop_ttfb_metrics()  # the function call is the first thing out
            text = await self._call_function(arguments)
        else:
            text = rules.reply(messages, self._settings.model)
        logger.debug(f"{self}: replying {text!r}")
        farewell = rules.ends_conversation(text)
        if farewell and not self._skip_tts:
            self._farewell = "said"  # before the tokens: the bot may start speaking at once
        await self.push_frame(self._mark(LLMFullResponseStartFrame()))
        for token in rules.tokens(text):
            await self.stop_ttfb_metrics()  # reports once: the first token
            await self.push_frame(self._mark(LLMTextFrame(text=token)))
            await asyncio.sleep(self._token_delay)
        prompt, completion = rules.token_usage(messages, text)
        await self.start_llm_usage_metrics(
            LLMTokenUsage(
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
            )
        )
        await self.stop_processing_metrics()
        await self.push_frame(self._mark(LLMFullResponseEndFrame()))
        if farewell and self._skip_tts:
            await self._end_session()  # nothing will be spoken: end now


class AssistantRecorder(FrameProcessor):
    """Adds each LLM reply (or what was said of it before an interruption) to the context."""

    def __init__(self, context: LLMContext) -> None:
        super().__init__()
        self._context = context
        self._parts: list[str] | None = None

    def _commit(self) -> None:
        text = "".join(self._parts or []).strip()
        if text:
            self._context.add_message({"role": "assistant", "content": text})
        self._parts = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMFullResponseStartFrame):
            self._parts = []
        elif isinstance(frame, LLMTextFrame) and self._parts is not None:
            self._parts.append(frame.text)
        elif isinstance(frame, LLMFullResponseEndFrame | InterruptionFrame):
            self._commit()
        await self.push_frame(frame, direction)


class EspeakTTSService(TTSService):
    """Text to speech with the local espeak-ng; voice and rate are read live from the settings."""

    def __init__(self, settings: BotSettings, **kwargs: Any) -> None:
        # voice/language live in BotSettings (changed by update-config); pipecat wants every
        # TTSSettings field given, None meaning "not used by this service".
        tts_settings = TTSSettings(model="espeak-ng", voice=settings.voice, language=None)
        super().__init__(
            push_start_frame=True, push_stop_frames=True, settings=tts_settings, **kwargs
        )
        self._bot_settings = settings
        self._resampler = create_stream_resampler()

    def can_generate_metrics(self) -> bool:
        return True

    async def run_tts(  # type: ignore[override]  # pipecat declares it as a coroutine
        self, text: str, context_id: str
    ) -> AsyncGenerator[Frame, None]:
        voice, rate = self._bot_settings.voice, self._bot_settings.rate
        logger.debug(f"{self}: speaking [{text}] with voice {voice}")
        try:
            await self.start_tts_usage_metrics(text)
            pcm, source_rate = await espeak.synthesize(text, voice, rate)
            await self.stop_ttfb_metrics()
            audio = await self._resampler.resample(pcm, source_rate, self.sample_rate)
            step = max(2, int(self.sample_rate * TTS_CHUNK_SECONDS) * 2)
            for start in range(0, len(audio), step):
                yield TTSAudioRawFrame(
                    audio=audio[start : start + step],
                    sample_rate=self.sample_rate,
                    num_channels=1,
                    context_id=context_id,
                )
        except espeak.EspeakError as exc:
            yield ErrorFrame(error=f"espeak-ng: {exc}")
        finally:
            await self.stop_ttfb_metrics()


def client_message_reply(kind: str, data: Any, settings: BotSettings) -> tuple[bool, Any]:
    """(ok, payload) for an RTVI `client-message`: payload is the `server-response` data or an
    error text. Types: ping, echo, voices, settings."""
    if kind == "ping":
        return True, {"pong": True, "time": time.time(), "data": data}
    if kind == "echo":
        return True, data
    if kind == "voices":
        return True, {"voices": list(espeak.voices()), "current": settings.voice}
    if kind == "settings":
        return True, {"model": settings.model, "voice": settings.voice, "speed": settings.rate}
    return False, f"unknown client message type {kind!r} (known: ping, echo, voices, settings)"
