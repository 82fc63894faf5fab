"""The client tells its transport which events nobody listens to (``set_unheard_events``), again
whenever a callback or handler makes a difference (only then); the transport may skip their
work."""

from __future__ import annotations

from collections.abc import Callable

from rtvi import RTVIClient, RTVIEvent
from rtvi.routing import quiet_types
from rtvi.transports.memory import MemoryTransport

E = RTVIEvent


class Told(MemoryTransport):
    def __init__(self, transport: MemoryTransport) -> None:
        super().__init__(transport.bot)
        self.told: list[frozenset[RTVIEvent]] = []

    def set_unheard_events(self, events: frozenset[RTVIEvent]) -> None:
        super().set_unheard_events(events)
        self.told.append(events)


def test_the_transport_hears_of_every_change(
    transport: MemoryTransport, make_client: Callable[..., RTVIClient]
) -> None:
    everything = frozenset(RTVIEvent)
    told = Told(transport)
    client = make_client(transport=told, callbacks={"on_metrics": lambda data: None})
    assert told.told == [everything - {E.METRICS}]

    def text(data: object) -> None: ...

    client.on(E.BOT_TRANSCRIPT, text)
    assert told.told[-1] == everything - {E.METRICS, E.BOT_TRANSCRIPT}
    client.off(E.BOT_TRANSCRIPT, text)
    assert told.told[-1] == everything - {E.METRICS}
    client.once(E.BOT_LLM_TEXT, text)
    assert "bot-llm-text" not in quiet_types(told.told[-1])
    client._handle_message({"label": "rtvi-ai", "type": "bot-llm-text", "data": {"text": "hi"}})
    assert told.told[-1] == everything - {E.METRICS}  # the once handler is gone

    @client.on("localAudioLevel")
    def level(value: float) -> None: ...

    assert E.LOCAL_AUDIO_LEVEL not in told.told[-1]
    # Another handler of an event already heard changes nothing: the transport is not told again
    # (a page adds dozens of handlers as it starts).
    times = len(told.told)
    client.on(E.LOCAL_AUDIO_LEVEL, text)
    client.off(E.LOCAL_AUDIO_LEVEL, text)
    assert len(told.told) == times
    client.remove_all_listeners()
    assert told.told[-1] == everything - {E.METRICS}
