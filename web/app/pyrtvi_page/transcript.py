"""The conversation's turns as pure state: what was said in, the turns that changed out.

No ``js`` here, so the rules run (and are tested) in CPython. The page feeds the client's events
in (speech, transcriptions, typed text, the bot's streamed LLM text and the words its TTS
actually spoke) and renders the turns each call returns; a turn's ``id`` says which one it
replaces. Only the open turns are kept: a closed turn is never changed again.

The rules:

- A user turn opens when the user starts speaking or a transcription arrives, and closes with a
  final transcription, the LLM's view of the user's text (``user-llm-text``) or the bot's next
  LLM reply. Speech that was never transcribed shows as ``(speech)``.
- Typed text is a closed user turn of its own; the echo of the same text (``user-llm-text``)
  adds nothing.
- The bot's LLM text streams into the current LLM turn (a new one opens when there is none);
  the words spoken are kept underneath it (``spoken``). Speech without an LLM turn (e.g. the
  ``tts:say`` action) is a turn of its own, closed when the bot stops speaking.
- An LLM turn is *final* when its text has stopped streaming; it stays current, collecting the
  words spoken, until the bot stops speaking with every word said (:func:`spoken_complete`).
  So an interrupted reply (the bot stops early) keeps its partial ``spoken`` line and is closed
  by the bot's next reply.
- Disconnecting closes every open turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

Role = Literal["user", "bot"]
#: Where a bot turn's text comes from: the LLM's stream, or the TTS alone. "" for user turns.
Source = Literal["", "llm", "tts"]

#: What an open user turn shows when speech was heard but never transcribed.
UNTRANSCRIBED = "(speech)"


@dataclass(frozen=True)
class Turn:
    """One line of the conversation as the page shows it."""

    id: int
    role: Role
    who: str
    text: str = ""
    final: bool = False
    source: Source = ""
    #: Words the bot's TTS has spoken of an LLM turn, in order.
    spoken: tuple[str, ...] = ()

    @property
    def spoken_text(self) -> str:
        """The spoken words as the page shows them (each followed by a space)."""
        return "".join(f"{word} " for word in self.spoken)


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def spoken_complete(text: str, spoken: str) -> bool:
    """Whether the words spoken so far cover the whole text (punctuation and spacing aside)."""
    return len(_letters(spoken)) >= len(_letters(text))


def payload_text(data: Any) -> str:
    """The ``text`` of a transcript/LLM/TTS event payload, ``""`` when it has none."""
    return str(data.get("text") or "") if isinstance(data, Mapping) else ""


class Transcript:
    """The open turns and the rules that change them. Every input returns the changed turns."""

    def __init__(self) -> None:
        self.user: Turn | None = None
        self.bot: Turn | None = None
        self._next_id = 0
        self._last_typed = ""
        self._changes: dict[int, Turn] = {}

    def open_ids(self) -> frozenset[int]:
        """The ids of the turns that may still change."""
        return frozenset(turn.id for turn in (self.user, self.bot) if turn is not None)

    # --- the user ------------------------------------------------------------------------------

    def user_started_speaking(self) -> list[Turn]:
        if self.user is None:
            self._open_user()
        return self._flush()

    def user_stopped_speaking(self) -> list[Turn]:
        if self.user is not None and not self.user.text:
            self.user = self._put(replace(self.user, text=UNTRANSCRIBED))
        return self._flush()

    def user_transcript(self, text: str, *, final: bool) -> list[Turn]:
        """A transcription of the user's speech (interim ones replace each other)."""
        turn = self.user if self.user is not None else self._open_user()
        self.user = self._put(replace(turn, text=text))
        if final:
            self._close_user()
        return self._flush()

    def user_llm_text(self, text: str) -> list[Turn]:
        """The user's words as the LLM received them: they end the open user turn."""
        if not text:
            return []
        if self.user is not None:
            self.user = self._put(replace(self.user, text=text))
            self._close_user()
        elif text != self._last_typed:
            self._put(self._new("user", "You", text, final=True))
        return self._flush()

    def typed(self, text: str) -> list[Turn]:
        """Text the person sent from the text box."""
        self._last_typed = text
        self._put(self._new("user", "You (typed)", text, final=True))
        return self._flush()

    # --- the bot -------------------------------------------------------------------------------

    def bot_llm_started(self) -> list[Turn]:
        self._open_llm_turn()
        return self._flush()

    def bot_llm_text(self, token: str) -> list[Turn]:
        if self.bot is None or self.bot.source != "llm":
            self._open_llm_turn()
        assert self.bot is not None
        self.bot = self._put(replace(self.bot, text=self.bot.text + token))
        return self._flush()

    def bot_llm_stopped(self) -> list[Turn]:
        if self.bot is not None:
            self.bot = self._put(replace(self.bot, final=True))
        return self._flush()

    def bot_tts_text(self, word: str) -> list[Turn]:
        """A word the bot's TTS spoke: under the LLM text, or a turn of its own without one."""
        if not word:
            return []
        turn = self.bot
        if turn is None:
            turn = self._new("bot", "Bot (speaking)", "", final=True, source="tts")
        if turn.source == "tts":
            self.bot = self._put(replace(turn, text=f"{turn.text} {word}".strip()))
        else:
            self.bot = self._put(replace(turn, spoken=(*turn.spoken, word)))
        return self._flush()

    def bot_stopped_speaking(self) -> list[Turn]:
        """A finished turn closes once it has been spoken; later speech starts a new one."""
        turn = self.bot
        if turn is not None and (
            turn.source == "tts" or (turn.final and spoken_complete(turn.text, turn.spoken_text))
        ):
            self.bot = None
        return self._flush()

    # --- the session ---------------------------------------------------------------------------

    def close(self) -> list[Turn]:
        """The session ended: every open turn is final."""
        for turn in (self.user, self.bot):
            if turn is not None and not turn.final:
                self._put(replace(turn, final=True))
        self.user = self.bot = None
        return self._flush()

    # --- helpers -------------------------------------------------------------------------------

    def _new(self, role: Role, who: str, text: str, *, final: bool, source: Source = "") -> Turn:
        self._next_id += 1
        return Turn(self._next_id, role, who, text, final, source)

    def _put(self, turn: Turn) -> Turn:
        self._changes[turn.id] = turn
        return turn

    def _flush(self) -> list[Turn]:
        changes, self._changes = list(self._changes.values()), {}
        return changes

    def _open_user(self) -> Turn:
        self.user = self._put(self._new("user", "You (speaking)", "", final=False))
        return self.user

    def _close_user(self) -> None:
        if self.user is not None:
            self._put(replace(self.user, final=True))
            self.user = None

    def _open_llm_turn(self) -> None:
        self._close_user()
        if self.bot is not None and not self.bot.final:
            self._put(replace(self.bot, final=True))
        self.bot = self._put(self._new("bot", "Bot", "", final=False, source="llm"))


# --- a session file's transcript (``#log-export`` / ``#log-import``) ----------------------------


def turn_to_json(turn: Turn) -> dict[str, Any]:
    """A turn as the session file holds it (its id is the page's own, so it is left out)."""
    return {
        "role": turn.role,
        "who": turn.who,
        "text": turn.text,
        "final": turn.final,
        "source": turn.source,
        "spoken": list(turn.spoken),
    }


def turns_from_json(items: Any) -> list[Turn]:
    """The turns :func:`turn_to_json` wrote, numbered from 1; ``ValueError`` when `items` is
    not such a list."""
    if not isinstance(items, list):
        raise ValueError("the transcript is not a list")
    turns = []
    sources: dict[str, Source] = {"": "", "llm": "llm", "tts": "tts"}
    for number, item in enumerate(items, start=1):
        role = item.get("role") if isinstance(item, Mapping) else None
        if role not in ("user", "bot"):
            raise ValueError(f"turn {number} has no role (user or bot)")
        source = sources.get(item.get("source") or "")
        spoken = item.get("spoken") or []
        if source is None or not isinstance(spoken, list):
            raise ValueError(f"turn {number} is not a transcript turn")
        turns.append(
            Turn(
                number,
                role,
                str(item.get("who") or ("You" if role == "user" else "Bot")),
                str(item.get("text") or ""),
                final=bool(item.get("final", True)),
                source=source,
                spoken=tuple(str(word) for word in spoken),
            )
        )
    return turns
