"""The conversation panel: the transcript (its rules in :mod:`.transcript`) and the text box."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtvi import LLMHelper, RTVIEvent, TransportState

from . import model
from .base import Panel, Subscriptions
from .dom import by_id, clear, h, query, query_all, set_text
from .transcript import Transcript, Turn, payload_text, turn_to_json, turns_from_json

if TYPE_CHECKING:
    from .context import PanelContext


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


class Conversation(Panel):
    """The transcript and the text box. Client events go through the :class:`Transcript` rules
    and what they change is drawn; the text box sends with ``send-text`` or
    ``llm:append_to_messages`` (through the ``llm`` helper this panel registers).

    Its part of an exported session is every turn shown, in order."""

    export_key = "transcript"

    def __init__(self, ctx: PanelContext) -> None:
        super().__init__(ctx)
        self.llm = LLMHelper()
        self.client.register_helper("llm", self.llm)
        self.transcript = Transcript()
        self.view = TranscriptView(by_id("transcript"))
        self.form = by_id("text-form")
        self.input = by_id("text-input")
        self.mode = by_id("text-mode")
        self.send = by_id("text-send")
        #: Messages typed before the session was ready (while Python loaded): (text, picked
        #: mode), sent once it is.
        self.queued: list[tuple[str, str]] = []
        #: Every turn shown since the page opened (or since an import), by id, as last drawn.
        self.turns: dict[int, Turn] = {}
        #: The turns of an imported session (shown above the live ones).
        self.imported: list[Turn] = []
        ctx.bind.on(self.form, "submit", self.on_submit)

    def subscriptions(self) -> Subscriptions:
        draw, transcript = self.apply, self.transcript
        return {
            RTVIEvent.USER_STARTED_SPEAKING: lambda: draw(transcript.user_started_speaking()),
            RTVIEvent.USER_STOPPED_SPEAKING: lambda: draw(transcript.user_stopped_speaking()),
            RTVIEvent.BOT_STOPPED_SPEAKING: lambda: draw(transcript.bot_stopped_speaking()),
            RTVIEvent.USER_TRANSCRIPT: self.on_user_transcript,
            RTVIEvent.USER_LLM_TEXT: lambda d: draw(transcript.user_llm_text(payload_text(d))),
            RTVIEvent.BOT_LLM_STARTED: lambda: draw(transcript.bot_llm_started()),
            RTVIEvent.BOT_LLM_TEXT: lambda d: draw(transcript.bot_llm_text(payload_text(d))),
            RTVIEvent.BOT_LLM_STOPPED: lambda: draw(transcript.bot_llm_stopped()),
            RTVIEvent.BOT_TTS_TEXT: lambda d: draw(transcript.bot_tts_text(payload_text(d))),
            RTVIEvent.DISCONNECTED: lambda: draw(transcript.close()),
        }

    def update(self, state: TransportState) -> None:
        ready = state == TransportState.READY
        for control in (self.input, self.send, self.mode):
            control.disabled = not ready
        if ready and self.queued:
            queued, self.queued = self.queued, []
            for text, mode in queued:
                for pending in query_all(self.view.element, "li.pending")[:1]:
                    pending.remove()  # boot.js drew it; the transcript draws it as sent
                self.ctx.bind.spawn(self.send_text(text, mode))

    def queue(self, text: str, mode: str) -> None:
        """A message typed while Python loaded: sent when the session is ready."""
        self.queued.append((text, mode))
        self.update(self.client.state)

    def apply(self, changes: list[Turn]) -> None:
        """Draw what a transcript input changed."""
        self.turns.update((turn.id, turn) for turn in changes)
        self.view.render(changes, self.transcript.open_ids())

    def export_state(self) -> list[dict[str, Any]]:
        return [turn_to_json(turn) for turn in (*self.imported, *self.turns.values())]

    def import_state(self, data: Any) -> None:
        """The imported turns replace the transcript (all closed)."""
        turns = turns_from_json(data)
        clear(self.view.element)
        self.view = TranscriptView(self.view.element)
        self.transcript, self.turns, self.imported = Transcript(), {}, turns
        self.view.render(turns, frozenset())

    def on_user_transcript(self, data: Any) -> None:
        if isinstance(data, dict):
            text, final = payload_text(data), bool(data.get("final"))
            self.apply(self.transcript.user_transcript(text, final=final))

    def bot_version(self) -> str | None:
        data = self.client.bot_ready_data
        version = data.get("version") if isinstance(data, dict) else None
        return str(version) if version else None

    async def on_submit(self, _event: Any) -> None:
        text = str(self.input.value).strip()
        if not text:
            return
        self.input.value = ""
        await self.send_text(text, str(self.mode.value))

    async def send_text(self, text: str, picked: str) -> None:
        """Show `text` as typed and send it as `picked` (the mode picker's value) says."""
        mode = model.text_mode(picked, self.bot_version())
        self.apply(self.transcript.typed(text))
        if mode == "send-text":
            self.log("send_text()", {"content": text}, kind="call")
            self.client.send_text(text)
        else:
            self.log("llm.append_to_messages()", {"content": text}, kind="call")
            await self.llm.append_to_messages({"role": "user", "content": text}, True)
