"""What both bot flavours share: one conversation pipeline per peer connection or WebSocket.

`BaseFlavor.run_bot` builds a `Conversation` on the connection's SmallWebRTC transport (and
`run_websocket_bot` on pipecat's FastAPI WebSocket transport with its protobuf serializer), lets the
flavour make the pipecat object that runs its pipeline (the flavour's `worker`), answers client
messages and ends when the client leaves. Both enable pipecat's metrics and usage metrics in their
PipelineParams, so the RTVI observer sends `metrics` messages (the services' TTFB, processing,
tokens and characters). The flavours differ only in that object:

* `legacy` (pipecat 0.0.x): its own RTVIProcessor right after `transport.input()`, with the 0.3
  config and actions registered, in a PipelineTask run by a PipelineRunner;
* `modern` (pipecat 1.x): a PipelineWorker, which puts its own RTVIProcessor at the head of the
  pipeline, run by a WorkerRunner.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

from loguru import logger
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.processors.frameworks.rtvi import RTVIProcessor
from pipecat.processors.frameworks.rtvi.models import PROTOCOL_VERSION, ClientMessage
from pipecat.serializers.protobuf import ProtobufFrameSerializer
from pipecat.transports.base_transport import BaseTransport, TransportParams
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport
from starlette.websockets import WebSocket

from pyrtvi_bot import pipeline
from pyrtvi_bot.app import Session
from pyrtvi_bot.services import real_service
from pyrtvi_bot.state import BotSettings


@dataclass
class Conversation:
    """One client's conversation: what its pipeline is built from."""

    session: Session
    settings: BotSettings
    context: LLMContext
    transport: BaseTransport

    @classmethod
    def open(cls, connection: SmallWebRTCConnection, session: Session) -> Conversation:
        transport = SmallWebRTCTransport(
            webrtc_connection=connection,
            params=TransportParams(audio_in_enabled=True, audio_out_enabled=True),
        )
        return cls.on(transport, session)

    @classmethod
    def open_websocket(cls, websocket: WebSocket, session: Session) -> Conversation:
        """On an accepted WebSocket: every message one protobuf `pipecat.Frame`."""
        params = FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            add_wav_header=False,
            serializer=ProtobufFrameSerializer(),
        )
        return cls.on(FastAPIWebsocketTransport(websocket=websocket, params=params), session)

    @classmethod
    def on(cls, transport: BaseTransport, session: Session) -> Conversation:
        settings = session.settings()
        context = LLMContext(messages=cast(Any, copy.deepcopy(settings.messages)))
        return cls(session, settings, context, transport)

    def pipeline(
        self, rtvi: RTVIProcessor | None = None, after_input: Sequence[FrameProcessor] = ()
    ) -> Pipeline:
        """The processors of `pipeline.py` (or real services) between the transport's ends;
        `rtvi`, when given, right after `transport.input()`, then `after_input`."""
        settings, services = self.settings, self.session.services
        vad = pipeline.vad_params()
        stt = real_service("stt", services)
        llm = real_service("llm", services) or pipeline.StandInLLM(settings)
        tts = real_service("tts", services) or pipeline.EspeakTTSService(settings)
        processors: list[FrameProcessor] = [
            self.transport.input(),
            *([rtvi] if rtvi else []),
            *after_input,
            VADProcessor(vad_analyzer=SileroVADAnalyzer(params=vad)),
            *([stt] if stt else []),
            pipeline.SpeechTurns(
                echo=stt is None, vad_start_secs=vad.start_secs, vad_stop_secs=vad.stop_secs
            ),
            pipeline.ContextKeeper(self.context),
            llm,
            pipeline.AssistantRecorder(self.context),
            tts,
            self.transport.output(),
        ]
        return Pipeline(processors)

    async def answer(self, processor: RTVIProcessor, message: ClientMessage) -> None:
        """The RTVIProcessor's `on_client_message`: a `server-response` or an `error-response`."""
        ok, payload = pipeline.client_message_reply(message.type, message.data, self.settings)
        if ok:
            await processor.send_server_response(message, payload)
        else:
            await processor.send_error_response(message, payload)


class Worker(Protocol):
    """What pipecat's PipelineTask (0.0.x) and PipelineWorker (1.x) both offer."""

    @property
    def rtvi(self) -> RTVIProcessor: ...

    async def cancel(self) -> None: ...


WorkerT = TypeVar("WorkerT", bound=Worker)


class BaseFlavor(ABC, Generic[WorkerT]):
    """An `app.Flavor`: runs a `Conversation` with the `WorkerT` its pipecat version offers."""

    def __init__(self, pipecat_version: str) -> None:
        self.pipecat_version = pipecat_version
        self.rtvi_version = PROTOCOL_VERSION

    @abstractmethod
    def worker(self, conversation: Conversation) -> WorkerT:
        """The pipecat object that will run `conversation.pipeline(...)`."""

    @abstractmethod
    async def run(self, worker: WorkerT) -> None:
        """Run `worker` until its pipeline ends (signals are the HTTP server's business)."""

    async def run_bot(self, connection: SmallWebRTCConnection, session: Session) -> None:
        await self.run_conversation(Conversation.open(connection, session))

    async def run_websocket_bot(self, websocket: WebSocket, session: Session) -> None:
        await self.run_conversation(Conversation.open_websocket(websocket, session))

    async def run_conversation(self, conversation: Conversation) -> None:
        session = conversation.session
        worker = self.worker(conversation)

        async def on_client_disconnected(transport: Any, client: Any) -> None:
            logger.info(f"session {session.id}: client left")
            await worker.cancel()

        worker.rtvi.add_event_handler("on_client_message", conversation.answer)
        conversation.transport.add_event_handler("on_client_disconnected", on_client_disconnected)
        await self.run(worker)
