"""The client tells its transport which message types would do nothing (``set_quiet_types``),
again whenever a callback or handler makes a difference."""

from __future__ import annotations

from collections.abc import Callable

from rtvi import RTVIClient, RTVIEvent
from rtvi.routing import quiet_types
from rtvi.transports.memory import MemoryTransport


class Told(MemoryTransport):
    def __init__(self, transport: MemoryTransport) -> None:
        super().__init__(transport.bot)
        self.told: list[frozenset[str]] = []

    def set_quiet_types(self, types: frozenset[str]) -> None:
        super().set_quiet_types(types)
        self.told.append(types)


def test_the_transport_hears_of_every_change(
    transport: MemoryTransport, make_client: Callable[..., RTVIClient]
) -> None:
    nobody = quiet_types(lambda event: False)
    told = Told(transport)
    client = make_client(transport=told, callbacks={"on_metrics": lambda data: None})
    assert told.told == [nobody - {"metrics"}]

    def text(data: object) -> None: ...

    client.on(RTVIEvent.BOT_TRANSCRIPT, text)
    assert told.told[-1] == nobody - {"metrics", "bot-transcription"}
    client.off(RTVIEvent.BOT_TRANSCRIPT, text)
    assert told.told[-1] == nobody - {"metrics"}
    client.once(RTVIEvent.BOT_LLM_TEXT, text)
    assert "bot-llm-text" not in told.told[-1]
    client._handle_message({"label": "rtvi-ai", "type": "bot-llm-text", "data": {"text": "hi"}})
    assert told.told[-1] == nobody - {"metrics"}  # the once handler is gone

    @client.on("botOutput")
    def output(data: object) -> None: ...

    assert "bot-output" not in told.told[-1]
    client.remove_all_listeners()
    assert told.told[-1] == nobody - {"metrics"}
