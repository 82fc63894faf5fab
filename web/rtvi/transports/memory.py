"""An in-memory transport and a scripted fake bot, for tests, docs and offline demos.

    bot = FakeBot(config=[{"service": "llm", "options": [{"name": "model", "value": "x"}]}])
    bot.add_action("llm", "run", lambda args: True)
    client = RTVIClient(transport=MemoryTransport(bot), params={"base_url": None,
                        "endpoints": {"connect": None}})
    await client.connect()          # → bot-ready data

Messages travel through the event loop (``call_soon``), never synchronously, so ordering is
realistic. The bot speaks RTVI 0.3-style config/actions *and* the 1.x message types; set
``supports_config_actions=False`` to behave like pipecat ≥ 1.0 ("Unsupported type ...").
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

from ..abort import AbortSignal
from ..errors import TransportStartError
from ..messages import MESSAGE_LABEL, MessageType, RTVIMessage, new_id
from ..state import TransportState
from ..transport import DeviceInfo, Participant, Transport

ActionHandler = Callable[[dict[str, Any]], Any]
ClientMessageHandler = Callable[[Any], Any]

BOT = Participant(id="memory-bot", name="bot", local=False)
_MIC = DeviceInfo("memory-mic", "Memory microphone", "audioinput")
_SPEAKER = DeviceInfo("memory-speaker", "Memory speaker", "audiooutput")


class FakeBot:
    """A scripted bot on the other end of a :class:`MemoryTransport`.

    Everything it receives is appended to ``received`` (wire dicts). Replies reuse the
    request id, as pipecat does.
    """

    def __init__(
        self,
        *,
        protocol_version: str = "1.0.0",
        config: list[dict[str, Any]] | None = None,
        config_description: list[dict[str, Any]] | None = None,
        supports_config_actions: bool = True,
        answer_ready: bool = True,
        ready_delay: float = 0.0,
        reply_delay: float = 0.0,
        capabilities: dict[str, Any] | None = None,
    ) -> None:
        self.protocol_version = protocol_version
        self.capabilities = capabilities
        self.config: list[dict[str, Any]] = copy.deepcopy(config or [])
        self.config_description = config_description or [
            {
                "name": entry.get("service"),
                "options": [
                    {"name": o.get("name"), "type": type(o.get("value")).__name__}
                    for o in entry.get("options", [])
                ],
            }
            for entry in self.config
        ]
        self.supports_config_actions = supports_config_actions
        self.answer_ready = answer_ready
        self.ready_delay = ready_delay
        self.reply_delay = reply_delay
        self.received: list[dict[str, Any]] = []
        self.function_results: list[dict[str, Any]] = []
        self.texts: list[dict[str, Any]] = []
        self.actions: dict[tuple[str, str], ActionHandler] = {}
        self.action_descriptions: list[dict[str, Any]] = []
        self.client_message_handlers: dict[str, ClientMessageHandler] = {}
        self.transport: MemoryTransport | None = None
        self._waiters: list[tuple[Callable[[dict[str, Any]], bool], asyncio.Future[Any]]] = []

    # --- scripting ----------------------------------------------------------------------------

    def add_action(
        self,
        service: str,
        action: str,
        handler: ActionHandler,
        arguments: list[dict[str, str]] | None = None,
        result: str = "object",
    ) -> None:
        """Register ``service:action``; ``handler({name: value})`` returns the result."""
        self.actions[(service, action)] = handler
        self.action_descriptions.append(
            {"service": service, "action": action, "arguments": arguments or [], "result": result}
        )

    def on_client_message(self, msg_type: str, handler: ClientMessageHandler) -> None:
        """Answer ``client-message`` of type ``msg_type`` with ``server-response`` of
        ``handler(d)``; a handler that raises answers ``error-response``."""
        self.client_message_handlers[msg_type] = handler

    def send(self, msg_type: str, data: Any = None, id: str | None = None) -> None:
        """Push a message to the client (pipecat omits ``id``/``data`` on events)."""
        obj: dict[str, Any] = {"label": MESSAGE_LABEL, "type": msg_type}
        if id is not None:
            obj["id"] = id
        if data is not None:
            obj["data"] = data
        self.send_raw(json.dumps(obj))

    def send_raw(self, raw: str | bytes | Mapping[str, Any]) -> None:
        """Push anything, even garbage, to the client."""
        if self.transport is not None:
            self.transport._to_client(raw)

    def call_function(self, function_name: str, arguments: Any, *, legacy: bool = True) -> str:
        """Ask the client to run a function; returns the tool_call_id."""
        tool_call_id = "call_" + new_id()
        if legacy:
            self.send(
                MessageType.LLM_FUNCTION_CALL,
                {"function_name": function_name, "tool_call_id": tool_call_id, "args": arguments},
            )
        else:
            self.send(
                MessageType.LLM_FUNCTION_CALL_IN_PROGRESS,
                {
                    "function_name": function_name,
                    "tool_call_id": tool_call_id,
                    "arguments": arguments,
                },
            )
        return tool_call_id

    async def wait_for(
        self, msg_type: str, predicate: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any]:
        """Wait until the bot has received a message of ``msg_type`` (past or future)."""

        def match(obj: dict[str, Any]) -> bool:
            return obj.get("type") == msg_type and (predicate is None or predicate(obj))

        for obj in self.received:
            if match(obj):
                return obj
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append((match, future))
        result: dict[str, Any] = await future
        return result

    # --- protocol -----------------------------------------------------------------------------

    def receive(self, obj: dict[str, Any]) -> None:
        self.received.append(obj)
        for waiter in list(self._waiters):
            match, future = waiter
            if match(obj) and not future.done():
                future.set_result(obj)
                self._waiters.remove(waiter)
        msg_type = obj.get("type")
        msg_id = obj.get("id")
        data = obj.get("data") or {}
        handler = getattr(self, "_on_" + str(msg_type).replace("-", "_"), None)
        if msg_type in _CONFIG_ACTION_TYPES and not self.supports_config_actions:
            handler = None
        if handler is None:
            self._reply("error-response", {"error": f"Unsupported type {msg_type}"}, msg_id)
            return
        handler(data, msg_id)

    def _reply(self, msg_type: str, data: Any, msg_id: Any, delay: float | None = None) -> None:
        obj = {"label": MESSAGE_LABEL, "type": msg_type, "id": msg_id, "data": data}
        if self.transport is not None:
            self.transport._to_client(json.dumps(obj), self.reply_delay if delay is None else delay)

    def _on_client_ready(self, data: dict[str, Any], msg_id: Any) -> None:
        if not self.answer_ready:
            return
        ready: dict[str, Any] = {
            "version": self.protocol_version,
            "about": {"library": "pyrtvi-fakebot"},
        }
        if self.protocol_version.startswith("0."):
            ready["config"] = copy.deepcopy(self.config)
        if self.capabilities is not None:
            ready["capabilities"] = dict(self.capabilities)
        self._reply("bot-ready", ready, msg_id, delay=self.ready_delay)

    def _accept(self, data: dict[str, Any], msg_id: Any) -> None:
        """Types the fake bot takes without answering (kept in ``received``)."""

    _on_dtmf = _on_send_file = _on_ui_event = _on_ui_snapshot = _on_ui_cancel_job_group = _accept

    def _on_get_config(self, data: dict[str, Any], msg_id: Any) -> None:
        self._reply("config", {"config": copy.deepcopy(self.config)}, msg_id)

    def _on_update_config(self, data: dict[str, Any], msg_id: Any) -> None:
        for entry in data.get("config") or []:
            target = next(
                (c for c in self.config if c.get("service") == entry.get("service")), None
            )
            if target is None:
                self._reply(
                    "error-response", {"error": f"Unknown service {entry.get('service')}"}, msg_id
                )
                return
            for option in entry.get("options") or []:
                options = target.setdefault("options", [])
                for i, existing in enumerate(options):
                    if existing.get("name") == option.get("name"):
                        options[i] = option
                        break
                else:
                    options.append(option)
        self._reply("config", {"config": copy.deepcopy(self.config)}, msg_id)

    def _on_describe_config(self, data: dict[str, Any], msg_id: Any) -> None:
        self._reply("config-available", {"config": self.config_description}, msg_id)

    def _on_describe_actions(self, data: dict[str, Any], msg_id: Any) -> None:
        self._reply("actions-available", {"actions": self.action_descriptions}, msg_id)

    def _on_action(self, data: dict[str, Any], msg_id: Any) -> None:
        key = (str(data.get("service")), str(data.get("action")))
        handler = self.actions.get(key)
        if handler is None:
            self._reply(
                "error-response", {"error": f"Action {key[0]}:{key[1]} not registered"}, msg_id
            )
            return
        args = {a.get("name"): a.get("value") for a in data.get("arguments") or []}
        try:
            result = handler(args)
        except Exception as exc:
            self._reply("error-response", {"error": str(exc)}, msg_id)
            return
        self._reply("action-response", {"result": result}, msg_id)

    def _on_client_message(self, data: dict[str, Any], msg_id: Any) -> None:
        handler = self.client_message_handlers.get(str(data.get("t")))
        if handler is None:
            return  # fire-and-forget message nobody listens to
        try:
            result = handler(data.get("d"))
        except Exception as exc:
            self._reply("error-response", {"error": str(exc)}, msg_id)
            return
        self._reply("server-response", {"t": data.get("t"), "d": result}, msg_id)

    def _on_send_text(self, data: dict[str, Any], msg_id: Any) -> None:
        self.texts.append(data)
        self.send("bot-llm-started")
        self.send("bot-llm-text", {"text": f"You said: {data.get('content')}"})
        self.send("bot-llm-stopped")
        self.send(
            "bot-output",
            {
                "text": f"You said: {data.get('content')}",
                "aggregated_by": "sentence",
                "spoken": False,
            },
        )

    def _on_llm_function_call_result(self, data: dict[str, Any], msg_id: Any) -> None:
        self.function_results.append(data)

    def _on_disconnect_bot(self, data: dict[str, Any], msg_id: Any) -> None:
        if self.transport is not None:
            self.transport._bot_left()


_CONFIG_ACTION_TYPES = {
    "get-config",
    "update-config",
    "describe-config",
    "describe-actions",
    "action",
}


class MemoryTransport(Transport):
    """A transport whose other end is a :class:`FakeBot` in the same process.

    Options: ``connect_delay`` (seconds spent in ``connecting``), ``fail_connect`` (raise
    ``TransportStartError``), ``max_message_size``.
    """

    def __init__(
        self,
        bot: FakeBot | None = None,
        *,
        connect_delay: float = 0.0,
        fail_connect: bool = False,
        max_message_size: int | None = None,
    ) -> None:
        super().__init__()
        self.bot = bot if bot is not None else FakeBot()
        self.connect_delay = connect_delay
        self.fail_connect = fail_connect
        self._max_message_size = max_message_size
        self.auth_bundle: Any = None
        self.sent: list[dict[str, Any]] = []
        self.init_devices_calls = 0
        self._selected_mic: DeviceInfo | None = _MIC
        self._selected_speaker: DeviceInfo | None = _SPEAKER

    @property
    def max_message_size(self) -> int:
        return self._max_message_size or super().max_message_size

    async def init_devices(self) -> None:
        self.init_devices_calls += 1
        self.state = TransportState.INITIALIZING
        await asyncio.sleep(0)
        self.state = TransportState.INITIALIZED
        self.callbacks.on_available_mics_updated([_MIC])
        self.callbacks.on_available_speakers_updated([_SPEAKER])

    async def connect(self, auth_bundle: Any, abort: AbortSignal) -> None:
        self.auth_bundle = auth_bundle
        self.state = TransportState.CONNECTING
        if self.connect_delay:
            await asyncio.sleep(self.connect_delay)
        abort.throw_if_aborted()
        if self.fail_connect:
            self.state = TransportState.ERROR
            raise TransportStartError("memory transport refused to connect (fail_connect)")
        self.bot.transport = self
        self.state = TransportState.CONNECTED
        self.callbacks.on_connected()
        self.callbacks.on_bot_connected(BOT)

    async def disconnect(self) -> None:
        if self.state == TransportState.DISCONNECTED:
            return
        self.state = TransportState.DISCONNECTING
        await asyncio.sleep(0)
        if self.bot.transport is self:
            self.bot.transport = None
        self.state = TransportState.DISCONNECTED
        self.callbacks.on_disconnected()

    def send_message(self, message: RTVIMessage) -> None:
        if self.state not in (TransportState.CONNECTED, TransportState.READY):
            raise TransportStartError(f"memory transport cannot send in state {self.state}")
        obj = json.loads(message.to_json())
        self.sent.append(obj)
        asyncio.get_running_loop().call_soon(self._to_bot, obj)

    def _to_bot(self, obj: dict[str, Any]) -> None:
        if self.bot.transport is self:
            self.bot.receive(obj)

    def _to_client(self, raw: str | bytes | Mapping[str, Any], delay: float = 0.0) -> None:
        loop = asyncio.get_running_loop()
        if delay:
            loop.call_later(delay, self._deliver_if_connected, raw)
        else:
            loop.call_soon(self._deliver_if_connected, raw)

    def _deliver_if_connected(self, raw: str | bytes | Mapping[str, Any]) -> None:
        if self.bot.transport is self:
            self.deliver(raw)

    def _bot_left(self) -> None:
        self.bot.transport = None
        self.callbacks.on_bot_disconnected(BOT)

    # --- devices ------------------------------------------------------------------------------

    async def get_all_mics(self) -> list[DeviceInfo]:
        return [_MIC]

    async def get_all_speakers(self) -> list[DeviceInfo]:
        return [_SPEAKER]

    async def update_mic(self, device_id: str) -> None:
        if device_id != _MIC.device_id:
            raise ValueError(f"no microphone {device_id!r}")
        self._selected_mic = _MIC
        self.callbacks.on_mic_updated(_MIC)

    async def update_speaker(self, device_id: str) -> None:
        if device_id != _SPEAKER.device_id:
            raise ValueError(f"no speaker {device_id!r}")
        self._selected_speaker = _SPEAKER
        self.callbacks.on_speaker_updated(_SPEAKER)

    @property
    def selected_mic(self) -> DeviceInfo | None:
        return self._selected_mic

    @property
    def selected_speaker(self) -> DeviceInfo | None:
        return self._selected_speaker
