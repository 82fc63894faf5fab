"""The bot on pipecat 1.x (tested with 1.14): RTVI 2.x, no config or actions messages.

The PipelineWorker adds its own RTVIProcessor (at the head of the pipeline) and observer and sends
bot-ready on client-ready; pipecat answers config/action messages with "Unsupported type". The
session's `/start` config (voice, model, messages) still seeds the conversation, and the HTTP
`/action` endpoint works as on 0.0.x because it does not involve pipecat.
"""

from __future__ import annotations

from pipecat.frames.frames import LLMRunFrame
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frameworks.rtvi import RTVIProcessor
from pipecat.workers.runner import WorkerRunner

from pyrtvi_bot.flavor import BaseFlavor, Conversation


class ModernBot(BaseFlavor[PipelineWorker]):
    """`app.Flavor` for pipecat 1.x."""

    def worker(self, conversation: Conversation) -> PipelineWorker:
        worker = PipelineWorker(conversation.pipeline(), params=PipelineParams())
        if conversation.settings.run_on_config:

            async def on_client_ready(processor: RTVIProcessor) -> None:
                await worker.queue_frame(LLMRunFrame())

            worker.rtvi.add_event_handler("on_client_ready", on_client_ready)
        return worker

    async def run(self, worker: PipelineWorker) -> None:
        await WorkerRunner(handle_sigint=False).run(worker)
