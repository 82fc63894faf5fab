"""The bot on pipecat 0.0.x (0.0.108): RTVI 1.2 plus the deprecated 0.3 config and actions.

Its `RTVIProcessor` sits right after `transport.input()` (0.0.x needs it there to see client
messages) and the PipelineTask finds it with its observer, so pipecat itself answers client-ready
with bot-ready, get/update-config, describe-actions and action messages; this module registers the
config services and action handlers they use.
"""

from __future__ import annotations

import copy
from typing import Any, cast

from loguru import logger
from pipecat import version as pipecat_version
from pipecat.frames.frames import LLMRunFrame, OutputTransportMessageUrgentFrame, TTSSpeakFrame
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frameworks.rtvi import RTVIObserver, RTVIObserverParams, RTVIProcessor
from pipecat.processors.frameworks.rtvi.models import PROTOCOL_VERSION
from pipecat.processors.frameworks.rtvi.models_deprecated import (
    RTVIAction,
    RTVIActionArgument,
    RTVIConfig,
    RTVIService,
    RTVIServiceConfig,
    RTVIServiceOption,
    RTVIServiceOptionConfig,
)

from pyrtvi_bot import actions, state
from pyrtvi_bot.flavor import BaseFlavor, Conversation
from pyrtvi_bot.pipeline import FUNCTION_CALL_REPORT_LEVEL
from pyrtvi_bot.state import BotSettings


class ConfigurableRTVIProcessor(RTVIProcessor):
    """RTVIProcessor with three fixes for 0.3 clients: describe-config also lists allowed values
    (the espeak voices); bot-ready really carries the config for a client-ready without a
    version (0.0.108 builds that message but pydantic drops the field when serializing); bad
    action calls get an error-response. It also runs the LLM once the bot is ready when the
    config asks (`llm.run_on_config`)."""

    def __init__(self, *, settings: BotSettings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._bot_settings = settings

    async def _handle_describe_config(self, request_id: str) -> None:
        await self.push_transport_message_dict(
            {
                "label": "rtvi-ai",
                "type": "config-available",
                "id": request_id,
                "data": {"config": state.describe_config()},
            }
        )

    async def _handle_get_config(self, request_id: str) -> None:
        # Also the reply to update-config. Values the server operator set stay hidden.
        config = state.redact(self._config.model_dump()["config"])
        await self.push_transport_message_dict(
            {"label": "rtvi-ai", "type": "config", "id": request_id, "data": {"config": config}}
        )

    async def push_transport_message_dict(self, message: dict[str, Any]) -> None:
        await self.push_frame(OutputTransportMessageUrgentFrame(message=message))

    async def _send_bot_ready(self, about: Any = None) -> None:
        if self._client_version[0] >= 1:
            await super()._send_bot_ready(about=about)
            return
        data = {
            "version": PROTOCOL_VERSION,
            "about": about or {"library": "pipecat-ai", "library_version": pipecat_version()},
            "config": state.redact(self._config.model_dump()["config"]),
        }
        await self.push_transport_message_dict(
            {"label": "rtvi-ai", "type": "bot-ready", "id": self._client_ready_id, "data": data}
        )

    async def _handle_action(self, request_id: str | None, data: Any) -> None:
        # pipecat's action loop dies on a handler exception: answer bad calls with an error.
        try:
            await super()._handle_action(request_id, data)
        except actions.ActionError as exc:
            await self._send_error_response(request_id or "", str(exc))

    async def set_bot_ready(self, about: Any = None) -> None:
        await super().set_bot_ready(about)
        if self._bot_settings.run_on_config:
            await self.push_frame(LLMRunFrame())


class PipelineAssistant:
    """`actions.Assistant` over a live pipeline: context edits are immediate, runs are frames."""

    def __init__(self, rtvi: RTVIProcessor, context: LLMContext) -> None:
        self._rtvi = rtvi
        self._context = context

    def get_messages(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], copy.deepcopy(list(self._context.get_messages())))

    def set_messages(self, messages: list[dict[str, Any]]) -> None:
        self._context.set_messages(cast(Any, messages))

    def add_messages(self, messages: list[dict[str, Any]]) -> None:
        self._context.add_messages(cast(Any, messages))

    async def run_llm(self, interrupt: bool) -> None:
        if interrupt:
            await self._rtvi.interrupt_bot()
        await self._rtvi.push_frame(LLMRunFrame())

    async def say(self, text: str, interrupt: bool, save_in_context: bool) -> None:
        if interrupt:
            await self._rtvi.interrupt_bot()
        await self._rtvi.push_frame(TTSSpeakFrame(text=text))
        if save_in_context:
            self._context.add_message({"role": "assistant", "content": text})

    async def interrupt(self) -> None:
        await self._rtvi.interrupt_bot()


def _register_config(rtvi: RTVIProcessor, settings: BotSettings, context: LLMContext) -> None:
    async def on_option(
        processor: RTVIProcessor, service: str, option: RTVIServiceOptionConfig
    ) -> None:
        value = state.check_option(service, option.name, option.value)
        settings.apply(service, option.name, value)
        if service == "llm" and option.name in ("messages", "initial_messages"):
            context.set_messages(copy.deepcopy(value))
        logger.info(
            f"config: {service}.{option.name} = {value if option.name != 'messages' else '...'}"
        )

    for service, options in state.CONFIG_SCHEMA.items():
        rtvi.register_service(
            RTVIService(
                name=service,
                options=[
                    RTVIServiceOption(name=name, type=kind, handler=on_option)
                    for name, kind in options.items()
                ],
            )
        )


def _register_actions(rtvi: RTVIProcessor, assistant: PipelineAssistant) -> None:
    for spec in actions.ACTIONS:

        async def handler(
            processor: RTVIProcessor,
            service: str,
            arguments: dict[str, Any],
            spec: actions.ActionSpec = spec,
        ) -> Any:
            return await actions.run_action(assistant, spec.service, spec.action, arguments)

        rtvi.register_action(
            RTVIAction(
                service=spec.service,
                action=spec.action,
                arguments=[RTVIActionArgument(name=n, type=t) for n, t in spec.arguments],
                result=spec.result,
                handler=handler,
            )
        )


class LegacyBot(BaseFlavor[PipelineTask]):
    """`app.Flavor` for pipecat 0.0.x."""

    def worker(self, conversation: Conversation) -> PipelineTask:
        settings, context = conversation.settings, conversation.context
        rtvi = ConfigurableRTVIProcessor(
            settings=settings,
            transport=conversation.transport,
            config=RTVIConfig(
                config=[
                    RTVIServiceConfig(
                        service=entry["service"],
                        options=[RTVIServiceOptionConfig(**o) for o in entry["options"]],
                    )
                    for entry in conversation.session.config
                ]
            ),
        )
        _register_config(rtvi, settings, context)
        _register_actions(rtvi, PipelineAssistant(rtvi, context))
        return PipelineTask(
            conversation.pipeline(rtvi),
            params=PipelineParams(
                allow_interruptions=True, enable_metrics=True, enable_usage_metrics=True
            ),
            observers=[
                RTVIObserver(
                    rtvi,
                    params=RTVIObserverParams(
                        function_call_report_level=FUNCTION_CALL_REPORT_LEVEL
                    ),
                )
            ],
        )

    async def run(self, worker: PipelineTask) -> None:
        await PipelineRunner(handle_sigint=False).run(worker)
