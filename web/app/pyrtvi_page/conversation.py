"""The conversation panel: the transcript (its rules in :mod:`.transcript`) and the text box."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rtvi import LLMHelper, RTVIClient

from . import model
from .dom import Bindings, by_id, h, query, set_text
from .transcript import Transcript, Turn


class TranscriptView:
    """``#transcript``: one ``li.turn`` per turn, redrawn in place when it changes."""

    def __init__(self, element: Any) -> None:
        self.element = element
        #: The elements of the turns that may still change (the open ones).
        self._items: dict[int, Any] = {}

    def render(self, turns: list[Turn], open_ids: frozenset[int]) -> None:
        for turn in turns:
            item = self._items.get(turn.id)
            if item is None:
                item = self._items[turn.id] = h(
                    "li",
                    {"class": f"turn {turn.role}", "data-role": turn.role},
                    h("span", {"class": "who", "text": turn.who}),
                    h("span", {"class": "text"}),
                )
                self.element.append(item)
            self._update(item, turn)
        self._items = {i: item for i, item in self._items.items() if i in open_ids}
        if turns:
            self.element.scrollTop = self.element.scrollHeight

    @staticmethod
    def _update(item: Any, turn: Turn) -> None:
        item.dataset.final = "true" if turn.final else "false"
        if turn.source:
            item.dataset.source = turn.source
        set_text(query(item, ".text"), turn.text)
        if turn.spoken:
            spoken = query(item, ".spoken")
            if spoken is None:
                spoken = h("span", {"class": "spoken"})
                item.append(spoken)
            set_text(spoken, "spoken: " + turn.spoken_text)


class Conversation:
    """The transcript and the text box. ``apply(changes)`` draws what a transcript input
    changed; the text box sends with ``send-text`` or ``llm:append_to_messages``."""

    def __init__(
        self,
        client: RTVIClient,
        llm: LLMHelper,
        bind: Bindings,
        log: Callable[..., None],
    ) -> None:
        self.client = client
        self.llm = llm
        self._log = log
        self.transcript = Transcript()
        self.view = TranscriptView(by_id("transcript"))
        self.form = by_id("text-form")
        self.input = by_id("text-input")
        self.mode = by_id("text-mode")
        self.send = by_id("text-send")
        bind.on(self.form, "submit", self.on_submit)

    def apply(self, changes: list[Turn]) -> None:
        self.view.render(changes, self.transcript.open_ids())

    def enable(self, ready: bool) -> None:
        for control in (self.input, self.send, self.mode):
            control.disabled = not ready

    def bot_version(self) -> str | None:
        data = self.client.bot_ready_data
        version = data.get("version") if isinstance(data, dict) else None
        return str(version) if version else None

    async def on_submit(self, _event: Any) -> None:
        text = str(self.input.value).strip()
        if not text:
            return
        mode = model.text_mode(str(self.mode.value), self.bot_version())
        self.apply(self.transcript.typed(text))
        self.input.value = ""
        if mode == "send-text":
            self._log("send_text()", {"content": text}, kind="call")
            self.client.send_text(text)
        else:
            self._log("llm.append_to_messages()", {"content": text}, kind="call")
            await self.llm.append_to_messages({"role": "user", "content": text}, True)
