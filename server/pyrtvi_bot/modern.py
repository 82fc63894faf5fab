"""The bot on pipecat 1.x (tested with 1.14): RTVI 2.x, no config or actions messages.

The PipelineWorker adds its own RTVIProcessor (at the head of the pipeline) and observer and sends
bot-ready on client-ready; pipecat answers config/action messages with "Unsupported type". The
session's `/start` config (voice, model, messages) still seeds the conversation, and the HTTP
`/action` endpoint works as on 0.0.x because it does not involve pipecat.
"""

from __future__ import annotations

import copy
from typing import Any, cast

from loguru import logger
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import LLMRunFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frameworks.rtvi import RTVIProcessor
from pipecat.processors.frameworks.rtvi.models import PROTOCOL_VERSION
from pipecat.transports.base_transport import TransportParams
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport
from pipecat.workers.runner import WorkerRunner

from pyrtvi_bot import pipeline
from pyrtvi_bot.app import Session
from pyrtvi_bot.services import real_service


class ModernBot:
    """`app.Flavor` for pipecat 1.x."""

    def __init__(self, pipecat_version: str) -> None:
        self.pipecat_version = pipecat_version
        self.rtvi_version = PROTOCOL_VERSION

    async def run_bot(self, connection: SmallWebRTCConnection, session: Session) -> None:
        settings = session.settings()
        context = LLMContext(messages=cast(Any, copy.deepcopy(settings.messages)))
        transport = SmallWebRTCTransport(
            webrtc_connection=connection,
            params=TransportParams(audio_in_enabled=True, audio_out_enabled=True),
        )
        vad = pipeline.vad_params()
        stt = real_service("stt", session.services)
        llm = real_service("llm", session.services) or pipeline.StandInLLM(settings)
        tts = real_service("tts", session.services) or pipeline.EspeakTTSService(settings)
        processors = [
            transport.input(),
            VADProcessor(vad_analyzer=SileroVADAnalyzer(params=vad)),
            *([stt] if stt else []),
            pipeline.SpeechTurns(
                echo=stt is None, vad_start_secs=vad.start_secs, vad_stop_secs=vad.stop_secs
            ),
            pipeline.ContextKeeper(context),
            llm,
            pipeline.AssistantRecorder(context),
            tts,
            transport.output(),
        ]
        worker = PipelineWorker(Pipeline(processors), params=PipelineParams())

        @worker.rtvi.event_handler("on_client_message")
        async def on_client_message(processor: RTVIProcessor, message: Any) -> None:
            ok, payload = pipeline.client_message_reply(message.type, message.data, settings)
            if ok:
                await processor.send_server_response(message, payload)
            else:
                await processor.send_error_response(message, payload)

        if settings.run_on_config:

            @worker.rtvi.event_handler("on_client_ready")
            async def on_client_ready(processor: RTVIProcessor) -> None:
                await worker.queue_frame(LLMRunFrame())

        @transport.event_handler("on_client_disconnected")
        async def on_client_disconnected(transport: Any, client: Any) -> None:
            logger.info(f"session {session.id}: client left")
            await worker.cancel()

        await WorkerRunner(handle_sigint=False).run(worker)
