"""The conversation's turn rules (web/app/pyrtvi_page/transcript.py), in CPython."""

from __future__ import annotations

import pytest
from pyrtvi_page.transcript import UNTRANSCRIBED, Transcript, Turn, payload_text, spoken_complete


class Page:
    """What the page shows: every turn a change has drawn, in order, as the view keeps them."""

    def __init__(self) -> None:
        self.transcript = Transcript()
        self.turns: dict[int, Turn] = {}

    def draw(self, changes: list[Turn]) -> list[Turn]:
        assert len({turn.id for turn in changes}) == len(changes), "one change per turn"
        for turn in changes:
            self.turns[turn.id] = turn
        return changes

    def lines(self) -> list[tuple[str, str, str, bool]]:
        return [(t.role, t.who, t.text, t.final) for t in self.turns.values()]

    def last(self) -> Turn:
        return list(self.turns.values())[-1]


@pytest.fixture
def page() -> Page:
    return Page()


def bot_reply(page: Page, text: str, words: list[str] | None = None) -> None:
    """An LLM reply streamed in two pieces, then (optionally) spoken word by word."""
    t = page.transcript
    page.draw(t.bot_llm_started())
    half = len(text) // 2
    page.draw(t.bot_llm_text(text[:half]))
    page.draw(t.bot_llm_text(text[half:]))
    page.draw(t.bot_llm_stopped())
    for word in words or []:
        page.draw(t.bot_tts_text(word))


def test_streamed_llm_text_merges_into_one_bot_turn(page: Page) -> None:
    t = page.transcript
    opened = page.draw(t.bot_llm_started())
    assert opened == [Turn(1, "bot", "Bot", "", final=False, source="llm")]
    page.draw(t.bot_llm_text("Hello, "))
    page.draw(t.bot_llm_text("world."))
    assert page.lines() == [("bot", "Bot", "Hello, world.", False)]
    page.draw(t.bot_llm_stopped())
    assert page.lines() == [("bot", "Bot", "Hello, world.", True)]


def test_llm_text_without_a_start_opens_a_turn_and_ends_the_user_turn(page: Page) -> None:
    t = page.transcript
    page.draw(t.user_started_speaking())
    changes = page.draw(t.bot_llm_text("Hi"))
    assert [(c.role, c.final) for c in changes] == [("user", True), ("bot", False)]
    assert page.last().text == "Hi" and page.last().source == "llm"
    assert t.user is None


def test_spoken_words_go_under_the_llm_text(page: Page) -> None:
    bot_reply(page, "Hello! I am here.", ["Hello!", "I", "am"])
    turn = page.last()
    assert (turn.text, turn.spoken) == ("Hello! I am here.", ("Hello!", "I", "am"))
    assert turn.spoken_text == "Hello! I am "
    assert len(page.turns) == 1


def test_a_fully_spoken_final_turn_closes_when_the_bot_stops_speaking(page: Page) -> None:
    t = page.transcript
    bot_reply(page, "Hello! I am here.", ["Hello!", "I", "am", "here."])
    assert page.draw(t.bot_stopped_speaking()) == []  # nothing to redraw: it just closes
    assert t.bot is None and t.open_ids() == frozenset()
    # Later speech is a turn of its own, not more of the closed one.
    page.draw(t.bot_tts_text("Again"))
    assert page.lines()[-1] == ("bot", "Bot (speaking)", "Again", True)
    assert page.turns[1].spoken == ("Hello!", "I", "am", "here.")


def test_a_partly_spoken_turn_stays_current(page: Page) -> None:
    """An interrupted reply: the bot stops before every word; the turn keeps collecting the
    words spoken, and the bot's next reply closes it."""
    t = page.transcript
    bot_reply(page, "One two three four.", ["One", "two"])
    page.draw(t.user_started_speaking())  # the person interrupts
    page.draw(t.bot_stopped_speaking())
    assert t.bot is not None and t.bot.id == 1
    page.draw(t.bot_tts_text("three"))
    assert page.turns[1].spoken == ("One", "two", "three")
    page.draw(t.user_transcript("stop", final=True))
    page.draw(t.bot_llm_started())
    assert page.lines() == [
        ("bot", "Bot", "One two three four.", True),
        ("user", "You (speaking)", "stop", True),
        ("bot", "Bot", "", False),
    ]


def test_a_still_streaming_turn_stays_current_when_the_bot_stops_speaking(page: Page) -> None:
    t = page.transcript
    page.draw(t.bot_llm_started())
    page.draw(t.bot_llm_text("Short"))
    page.draw(t.bot_tts_text("Short"))
    page.draw(t.bot_stopped_speaking())
    assert t.bot is not None  # not final yet: more text may come
    page.draw(t.bot_llm_text(" and more."))
    assert page.lines() == [("bot", "Bot", "Short and more.", False)]


def test_speech_without_an_llm_turn_is_a_turn_of_its_own(page: Page) -> None:
    t = page.transcript
    first = page.draw(t.bot_tts_text("Testing"))
    assert first == [Turn(1, "bot", "Bot (speaking)", "Testing", final=True, source="tts")]
    page.draw(t.bot_tts_text("the"))
    page.draw(t.bot_tts_text("voice."))
    assert page.lines() == [("bot", "Bot (speaking)", "Testing the voice.", True)]
    assert page.last().spoken == ()
    page.draw(t.bot_stopped_speaking())
    assert t.bot is None
    page.draw(t.bot_tts_text("Next"))
    assert len(page.turns) == 2


def test_llm_text_after_tts_only_speech_starts_an_llm_turn(page: Page) -> None:
    t = page.transcript
    page.draw(t.bot_tts_text("Said"))
    changes = page.draw(t.bot_llm_text("Thought"))
    assert [c.id for c in changes] == [2]  # the spoken turn was final already
    assert page.lines() == [
        ("bot", "Bot (speaking)", "Said", True),
        ("bot", "Bot", "Thought", False),
    ]


def test_a_new_llm_reply_closes_the_previous_one(page: Page) -> None:
    t = page.transcript
    page.draw(t.bot_llm_started())
    page.draw(t.bot_llm_text("Unfinished"))
    changes = page.draw(t.bot_llm_started())
    assert [(c.id, c.final) for c in changes] == [(1, True), (2, False)]


def test_user_speech_and_transcriptions(page: Page) -> None:
    t = page.transcript
    page.draw(t.user_started_speaking())
    assert page.lines() == [("user", "You (speaking)", "", False)]
    assert page.draw(t.user_started_speaking()) == []  # already open
    page.draw(t.user_transcript("hel", final=False))
    page.draw(t.user_transcript("hello", final=False))
    assert page.lines() == [("user", "You (speaking)", "hello", False)]
    page.draw(t.user_transcript("hello there", final=True))
    assert page.lines() == [("user", "You (speaking)", "hello there", True)]
    assert t.user is None
    # A transcription without speech first opens its own turn.
    page.draw(t.user_transcript("again", final=False))
    assert page.lines()[-1] == ("user", "You (speaking)", "again", False)


def test_speech_never_transcribed_says_so(page: Page) -> None:
    t = page.transcript
    page.draw(t.user_started_speaking())
    page.draw(t.user_stopped_speaking())
    assert page.lines() == [("user", "You (speaking)", UNTRANSCRIBED, False)]
    assert page.draw(t.user_stopped_speaking()) == []  # it has text now
    page.draw(t.user_transcript("late words", final=True))
    assert page.lines() == [("user", "You (speaking)", "late words", True)]
    assert page.draw(t.user_stopped_speaking()) == []  # no open turn


def test_the_llm_view_of_the_user_ends_the_user_turn(page: Page) -> None:
    t = page.transcript
    page.draw(t.user_started_speaking())
    page.draw(t.user_transcript("helo", final=False))
    page.draw(t.user_llm_text("hello"))
    assert page.lines() == [("user", "You (speaking)", "hello", True)]
    assert t.user is None
    # Without an open turn it is a user turn of its own (e.g. text sent by another client).
    page.draw(t.user_llm_text("from elsewhere"))
    assert page.lines()[-1] == ("user", "You", "from elsewhere", True)
    assert page.draw(t.user_llm_text("")) == []


def test_typed_text_is_a_closed_user_turn_and_its_echo_adds_nothing(page: Page) -> None:
    t = page.transcript
    page.draw(t.typed("hello there"))
    assert page.lines() == [("user", "You (typed)", "hello there", True)]
    assert page.draw(t.user_llm_text("hello there")) == []
    assert len(page.turns) == 1
    page.draw(t.user_llm_text("something else"))
    assert page.lines()[-1] == ("user", "You", "something else", True)


def test_typing_leaves_the_open_turns_open(page: Page) -> None:
    t = page.transcript
    page.draw(t.user_started_speaking())
    page.draw(t.bot_tts_text("Speaking"))
    changes = page.draw(t.typed("typed"))
    assert [c.who for c in changes] == ["You (typed)"]
    assert t.user is not None and t.bot is not None


def test_disconnecting_closes_every_open_turn(page: Page) -> None:
    t = page.transcript
    page.draw(t.user_started_speaking())
    page.draw(t.bot_tts_text("Word"))  # already final: not redrawn
    page.draw(t.bot_llm_text("Streaming"))  # closes the user turn
    page.draw(t.user_started_speaking())
    changes = page.draw(t.close())
    assert sorted((c.role, c.final) for c in changes) == [("bot", True), ("user", True)]
    assert all(turn.final for turn in page.turns.values())
    assert t.open_ids() == frozenset()
    assert page.draw(t.close()) == []


def test_open_ids_are_the_turns_that_may_still_change(page: Page) -> None:
    t = page.transcript
    page.draw(t.user_started_speaking())
    bot_reply(page, "Hi.", ["Hi."])
    assert t.open_ids() == frozenset({2})  # the user turn closed with the reply
    page.draw(t.user_started_speaking())
    assert t.open_ids() == frozenset({2, 3})


def test_empty_words_change_nothing(page: Page) -> None:
    t = page.transcript
    assert page.draw(t.bot_tts_text("")) == []
    assert page.draw(t.bot_llm_stopped()) == []
    assert page.draw(t.bot_stopped_speaking()) == []
    assert page.turns == {}


@pytest.mark.parametrize(
    ("data", "text"),
    [({"text": "hi"}, "hi"), ({"text": None}, ""), ({}, ""), ("hi", ""), (None, "")],
)
def test_payload_text(data: object, text: str) -> None:
    assert payload_text(data) == text


def test_spoken_complete_ignores_punctuation_and_spacing() -> None:
    text = "Hello! I am the pyrtvi test bot."
    assert not spoken_complete(text, "Hello! I am the")
    assert spoken_complete(text, "Hello!  I am the pyrtvi test bot ")
