"""A Pipecat 1.14 bot whose UI worker is pipecat's own `UIWorker`, on the development runner.

    .venvs/runner-1.14.0/bin/python tests/ui_bot/bot.py -t webrtc --host 127.0.0.1 --port 7860

Nothing of pyrtvi is imported. The session is a `PipelineWorker` (RTVI on, so pipecat connects
UI workers to the client itself) beside a `UIWorker` subclass, `PageAgent`, as pipecat's docs
have it. A real UI worker would let its LLM pick what to do; here the page tells it, so no model
is needed (the LLM service is built, never called), and what reaches the page is what
`UIWorker` sends:

- the page's `ui-event` `act` `{command, name, ...}`: the worker looks the element called
  `name` up in the latest snapshot the page streamed (`UIWorker.snapshot`) and sends the
  command for its ref with its own helpers (`click`, `scroll_to`, `highlight`, `select_text`,
  `set_input_value`) or `send_command` (`focus`, `toast`, `navigate`, anything else);
  `ref` instead of `name` sends that ref as it is;
- `ui-event` `report`: the worker answers with a `ui-command` `seen` carrying the latest
  snapshot it holds and its `selection`.

Every snapshot the bot receives is appended as one JSON line to `UI_BOT_RECORD` (when set).
"""

from __future__ import annotations

import json
import os
from typing import Any

from loguru import logger
from pipecat.bus.messages import BusMessage
from pipecat.bus.ui.messages import UI_SNAPSHOT_EVENT_NAME, BusUIEventMessage
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frameworks.rtvi.models import Focus, Navigate, Toast
from pipecat.runner.types import RunnerArguments
from pipecat.runner.utils import create_transport
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.transports.base_transport import BaseTransport, TransportParams
from pipecat.workers.runner import WorkerRunner
from pipecat.workers.ui import UIWorker, ui_event


def named_refs(node: dict[str, Any], out: dict[str, str]) -> dict[str, str]:
    """name -> ref for every named node of a snapshot tree (the first of each name)."""
    name, ref = node.get("name"), node.get("ref")
    if name and ref:
        out.setdefault(name, ref)
    for child in node.get("children") or ():
        named_refs(child, out)
    return out


class PageAgent(UIWorker):
    """pipecat's UIWorker, driven by the page's `act` events instead of an LLM."""

    async def on_bus_message(self, message: BusMessage) -> None:
        if isinstance(message, BusUIEventMessage) and message.event_name == UI_SNAPSHOT_EVENT_NAME:
            path = os.environ.get("UI_BOT_RECORD")
            if path:
                with open(path, "a", encoding="utf-8") as out:
                    out.write(json.dumps(message.payload) + "\n")
        await super().on_bus_message(message)

    def ref_for(self, payload: dict[str, Any]) -> str:
        if payload.get("ref"):
            return str(payload["ref"])
        root = (self.snapshot or {}).get("root") or {}
        refs = named_refs(root, {})
        if payload["name"] not in refs:
            logger.warning(f"no element named {payload['name']!r} in {sorted(refs)}")
        return refs.get(payload["name"], "e0")

    @ui_event("act")
    async def on_act(self, message: BusUIEventMessage) -> None:
        payload = dict(message.payload or {})
        command = payload.pop("command")
        if command == "toast":
            await self.send_command("toast", Toast(**payload))
            return
        if command == "navigate":
            await self.send_command("navigate", Navigate(**payload))
            return
        if "name" not in payload and "ref" not in payload:
            await self.send_command(command, payload)
            return
        ref = self.ref_for(payload)
        if command == "click":
            await self.click(ref)
        elif command == "scroll_to":
            await self.scroll_to(ref)
        elif command == "highlight":
            await self.highlight(ref)
        elif command == "focus":
            await self.send_command("focus", Focus(ref=ref))
        elif command == "select_text":
            await self.select_text(
                ref, start_offset=payload.get("start_offset"), end_offset=payload.get("end_offset")
            )
        elif command == "set_input_value":
            await self.set_input_value(ref, payload["value"], replace=payload.get("replace", True))
        else:
            extra = {k: v for k, v in payload.items() if k not in ("name", "ref")}
            await self.send_command(command, {"ref": ref, **extra})

    @ui_event("report")
    async def on_report(self, message: BusUIEventMessage) -> None:
        selection = self.selection
        await self.send_command(
            "seen",
            {"snapshot": self.snapshot, "selection": selection._asdict() if selection else None},
        )


async def run_bot(transport: BaseTransport, runner_args: RunnerArguments) -> None:
    pipeline = Pipeline([transport.input(), transport.output()])
    session = PipelineWorker(pipeline)
    # Built, never called: every command here comes from the page's `act` events.
    agent = PageAgent("page-agent", llm=OpenAILLMService(api_key="offline", model="offline"))
    runner = WorkerRunner(handle_sigint=runner_args.handle_sigint)

    @transport.event_handler("on_client_disconnected")
    async def on_client_disconnected(transport: BaseTransport, client: Any) -> None:
        logger.info("client left")
        await runner.cancel()

    await runner.add_workers(session, agent)
    await runner.run()


async def bot(runner_args: RunnerArguments) -> None:
    """The runner's entry point: one call per session."""
    transport = await create_transport(
        runner_args,
        {"webrtc": lambda: TransportParams(audio_in_enabled=False, audio_out_enabled=False)},
    )
    await run_bot(transport, runner_args)


if __name__ == "__main__":
    from pipecat.runner.run import main

    main()
