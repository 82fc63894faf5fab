"""The bot on pipecat 1.x (tested with 1.14): RTVI 2.x, no config or actions messages.

The PipelineWorker adds its own RTVIProcessor (at the head of the pipeline) and observer and sends
bot-ready on client-ready; pipecat answers config/action messages with "Unsupported type". The
session's `/start` config (voice, model, messages) still seeds the conversation, and the HTTP
`/action` endpoint works as on 0.0.x because it does not involve pipecat.

The observer also reports raw VAD (`vad-user-started/stopped-speaking`), and `ClientInputEcho`
tells the client what it received from the RTVI 2.x inputs pipecat turns into frames (`dtmf`
→ `InputDTMFFrame`, a non-image `send-file` → `UserFileRawFrame`) as a
`server-message`, so a client can see them arrive.
"""

from __future__ import annotations

from typing import Any

from pipecat.frames.frames import (
    Frame,
    InputDTMFFrame,
    LLMRunFrame,
    UserFileRawFrame,
)
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.processors.frameworks.rtvi import RTVIObserverParams, RTVIProcessor
from pipecat.processors.frameworks.rtvi.frames import RTVIServerMessageFrame
from pipecat.workers.runner import WorkerRunner

from pyrtvi_bot.flavor import BaseFlavor, Conversation
from pyrtvi_bot.pipeline import FUNCTION_CALL_REPORT_LEVEL


def received(frame: Frame) -> dict[str, Any] | None:
    """What the bot says it received for a client input frame (None for any other frame)."""
    if isinstance(frame, InputDTMFFrame):
        return {"received": "dtmf", "button": frame.button.value}
    if isinstance(frame, UserFileRawFrame):
        return {
            "received": "file",
            "text": frame.text,
            "format": frame.format,
            "source_type": frame.type,
            "file": frame.file[:200],
        }
    return None


class ClientInputEcho(FrameProcessor):
    """Reports each DTMF key and file the client sent, as a `server-message`."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        report = received(frame)
        if report is not None:
            await self.push_frame(RTVIServerMessageFrame(data=report))
        if not isinstance(frame, UserFileRawFrame):
            await self.push_frame(frame, direction)  # files stop here: the stand-in LLM has no use


class ModernBot(BaseFlavor[PipelineWorker]):
    """`app.Flavor` for pipecat 1.x."""

    def worker(self, conversation: Conversation) -> PipelineWorker:
        worker = PipelineWorker(
            conversation.pipeline(after_input=[ClientInputEcho()]),
            params=PipelineParams(enable_metrics=True, enable_usage_metrics=True),
            rtvi_observer_params=RTVIObserverParams(
                vad_user_speaking_enabled=True,
                function_call_report_level=FUNCTION_CALL_REPORT_LEVEL,
            ),
        )
        if conversation.settings.run_on_config:

            async def on_client_ready(processor: RTVIProcessor) -> None:
                await worker.queue_frame(LLMRunFrame())

            worker.rtvi.add_event_handler("on_client_ready", on_client_ready)
        return worker

    async def run(self, worker: PipelineWorker) -> None:
        await WorkerRunner(handle_sigint=False).run(worker)
