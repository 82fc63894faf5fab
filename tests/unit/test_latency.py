"""Voice to voice and the turn rows (web/rtvi/latency.py), and what the console's latency panel
draws of them (web/app/pyrtvi_page/latency_view.py), in CPython."""

from __future__ import annotations

from typing import Any

import pytest
from pyrtvi_page import latency_view as view
from pyrtvi_testing.turns import Turn, spoken_turn, ttfb
from rtvi.latency import (
    AUDIBLE,
    LatencyTracker,
    Stats,
    TurnLatency,
    first_onset,
    percentile,
    service_kind,
    speech_end,
    stats,
    ttfb_items,
    voice_to_voice_ms,
)
from rtvi.transports import virtual_mic

METRICS = {
    "ttfb": [
        {"processor": "DeepgramSTTService#0", "value": 0.12},
        {"processor": "OpenAILLMService#0", "model": "gpt-4o", "value": 0.35},
    ],
    "processing": [{"processor": "OpenAILLMService#0", "value": 0.9}],
}


def test_one_definition_for_the_kit_and_the_console() -> None:
    assert voice_to_voice_ms(1000.0, 1812.5) == 812.5
    assert virtual_mic.AUDIBLE == AUDIBLE == 0.02
    utterance = virtual_mic.Utterance(0.0, 2.0, 0.1, 1.5, 0.0, 2000.0, 100.0, 1500.0)
    heard = virtual_mic.Heard(time=2.25, ms=2251.0, level=0.3)
    assert virtual_mic.voice_to_voice_ms(utterance, heard) == pytest.approx(750.0)
    assert virtual_mic.voice_to_voice_ms(utterance, heard, same_clock=False) == 751.0
    assert spoken_turn(Turn(), 1500.0, 2250.0).voice_to_voice_ms == 750.0
    assert spoken_turn(Turn(), 1500.0, None).voice_to_voice_ms is None


def test_speech_end_is_the_last_audible_stretch_before_the_bots_stop() -> None:
    ends = [100.0, 400.0, 900.0, 2500.0]
    assert speech_end(ends, 1700.0) == 900.0  # 2500 came after user-stopped-speaking
    assert speech_end(ends, 1700.0, after=900.0) is None  # nothing since the last turn
    assert speech_end(ends, 3000.0, after=1700.0) == 2500.0
    assert speech_end([], 10.0) is None


def test_the_answer_is_the_first_onset_at_or_after_the_mark() -> None:
    assert first_onset([50.0, 1200.0, 1500.0], 900.0) == 1200.0
    assert first_onset([50.0, 900.0], 900.0) == 900.0
    assert first_onset([50.0], 900.0) is None


def test_reported_parts_by_service_kind() -> None:
    assert list(ttfb_items(METRICS)) == [
        ("DeepgramSTTService#0", pytest.approx(120.0)),
        ("OpenAILLMService#0", pytest.approx(350.0)),
    ]
    assert list(ttfb_items({"ttfb": [{"model": "m", "value": 0.5}, "junk", {"x": 1}]})) == [
        ("m", 500.0)
    ]
    assert list(ttfb_items(None)) == list(ttfb_items({"ttfb": None})) == []
    assert service_kind("CartesiaTTSService#0") == "tts"
    assert service_kind("EspeakTTSService#0") == "tts"
    assert service_kind("StandInLLM#0") == "llm"
    assert service_kind("whisper_stt") == "stt"
    assert service_kind("PipelineSource#0") is None
    # The kit keeps its per-processor view, from the same reading.
    events: list[dict[str, Any]] = [
        {"type": "metrics", "data": METRICS, "t": 1},
        {"type": "metrics", "data": {"ttfb": [{"processor": "OpenAILLMService#0", "value": 1}]}},
    ]
    assert ttfb(events) == {
        "DeepgramSTTService#0": pytest.approx(120.0),
        "OpenAILLMService#0": pytest.approx(350.0),
    }


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 95) == pytest.approx(48.0)
    assert stats([300.0, 100.0, 200.0]) == Stats(3, 200.0, 290.0, 300.0)
    assert stats([]) is None
    with pytest.raises(ValueError):
        percentile([], 50)


def test_a_spoken_turn_from_the_mic_end_to_the_first_bot_onset() -> None:
    tracker = LatencyTracker()
    tracker.speech_ended(1000.0)  # a pause inside the sentence
    tracker.speech_ended(2400.0)  # the end of the speech
    [row] = tracker.user_stopped_speaking(3300.0)  # the bot's VAD waited, then said so
    assert (row.kind, row.state, row.start_ms, row.vad_stop_ms) == ("spoken", "waiting", 2400, 900)
    assert tracker.metrics(METRICS) == [row]
    assert tracker.metrics(METRICS) == []  # the first TTFB per kind stays
    assert tracker.metrics({"ttfb": [{"processor": "EspeakTTSService#0", "value": 0.2}]})
    assert row.ttfb_ms == {
        "stt": pytest.approx(120.0),
        "llm": pytest.approx(350.0),
        "tts": pytest.approx(200.0),
    }
    assert tracker.bot_onset(2000.0) == []  # before the end of the speech: not the answer
    assert tracker.bot_onset(4212.0) == [row]
    assert (row.state, row.v2v_ms) == ("answered", 1812.0)
    assert tracker.bot_onset(4800.0) == []  # the answer's next sentence changes nothing
    assert tracker.stats("spoken") == Stats(1, 1812.0, 1812.0, 1812.0)


def test_an_answer_heard_before_the_event_arrived_still_counts() -> None:
    tracker = LatencyTracker()
    tracker.speech_ended(500.0)
    tracker.bot_onset(1400.0)
    [row] = tracker.user_stopped_speaking(1450.0)
    assert (row.state, row.v2v_ms) == ("answered", 900.0)


def test_a_typed_turn_measures_time_to_first_audio() -> None:
    tracker = LatencyTracker()
    tracker.speech_ended(100.0)
    [row] = tracker.text_sent(5000.0)
    assert (row.kind, row.start_ms, row.vad_stop_ms) == ("typed", 5000.0, None)
    tracker.metrics({"ttfb": [{"processor": "OpenAILLMService#0", "value": 0.3}]})
    tracker.bot_onset(5650.0)
    assert (row.state, row.v2v_ms, row.ttfb_ms) == ("answered", 650.0, {"llm": 300.0})
    assert tracker.figures("typed") == [650.0] and tracker.figures("spoken") == []


def test_a_bot_that_runs_typed_text_as_a_user_turn_keeps_the_typed_row() -> None:
    """pipecat 1.14's send-text reports user-started/stopped-speaking for the typed message:
    with nothing said at the page since, that is the typed turn, not a new spoken one."""
    tracker = LatencyTracker()
    [typed] = tracker.text_sent(5000.0)
    assert tracker.user_stopped_speaking(5020.0) == []
    tracker.bot_onset(5480.0)
    assert [r.kind for r in tracker.rows] == ["typed"] and typed.v2v_ms == 480.0
    # Speech after the typed message is a spoken turn of its own.
    tracker.speech_ended(7000.0)
    [spoken] = tracker.user_stopped_speaking(7800.0)
    assert (spoken.kind, spoken.start_ms) == ("spoken", 7000.0)


def test_turns_without_speech_or_answer() -> None:
    tracker = LatencyTracker()
    [unheard] = tracker.user_stopped_speaking(1000.0)  # the page heard nothing audible
    assert (unheard.state, unheard.start_ms, unheard.v2v_ms) == ("unheard", None, None)
    [first] = tracker.text_sent(2000.0)
    second, old = tracker.text_sent(3000.0)  # the first was never answered
    assert old is first and first.state == "unanswered"
    tracker.bot_onset(3100.0)
    assert first.v2v_ms is None and second.v2v_ms == 100.0
    assert tracker.metrics(METRICS) == [second]
    assert [r.index for r in tracker.rows] == [1, 2, 3]
    tracker.reset()
    assert tracker.rows == [] and tracker.metrics(METRICS) == []


def test_rows_export_and_import() -> None:
    tracker = LatencyTracker()
    tracker.speech_ended(10.0)
    tracker.user_stopped_speaking(900.0)
    tracker.metrics(METRICS)
    tracker.bot_onset(1500.0)
    tracker.text_sent(3000.0)
    exported = view.export_rows(tracker.rows)
    assert exported["version"] == view.EXPORT_VERSION
    assert exported["rows"][0] == {
        "index": 1,
        "kind": "spoken",
        "start_ms": 10.0,
        "mark_ms": 900.0,
        "v2v_ms": 1490.0,
        "vad_stop_ms": 890.0,
        "ttfb_ms": {"stt": pytest.approx(120.0), "llm": pytest.approx(350.0)},
        "state": "answered",
    }
    assert view.import_rows(exported) == tracker.rows
    for bad in (
        None,
        {"rows": "x"},
        {"version": 99, "rows": []},
        {"rows": [1]},
        {"rows": [{"kind": "sung"}]},
        {"rows": [{"kind": "typed", "v2v_ms": "fast"}]},
        {"rows": [{"kind": "typed", "state": "lost"}]},
    ):
        with pytest.raises(ValueError):
            view.import_rows(bad)
    assert TurnLatency.from_json({"kind": "typed", "v2v_ms": 5}).state == "answered"


def test_what_the_panel_writes() -> None:
    assert view.fmt_ms(None) == "–"
    assert view.fmt_ms(812.4) == "812 ms"
    assert view.fmt_ms(12_345.0) == "12.3 s"
    assert view.summary_text("voice to voice", None) == "voice to voice: no turn yet"
    assert view.summary_text("v2v", Stats(2, 800.0, 990.0, 1000.0)) == (
        "v2v: p50 800 ms · p95 990 ms · worst 1000 ms (2 turns)"
    )
    row = TurnLatency(1, "spoken", 10.0, 900.0, vad_stop_ms=890.0, ttfb_ms={"tts": 20.0})
    assert view.figure_text(row) == "…"
    assert [view.part_ms(row, key) for key, _h, _t in view.PARTS] == [890.0, None, None, 20.0]
    row.state = "unheard"
    assert view.figure_text(row) == "no speech at the page"
    row.v2v_ms = 1234.0
    assert view.figure_text(row) == "1234 ms"


def test_the_chart_scales_turns_into_the_box() -> None:
    assert [view.nice_top(ms) for ms in (0.0, 130.0, 812.0, 1000.0, 4100.0)] == [
        100.0,
        200.0,
        1000.0,
        1000.0,
        5000.0,
    ]
    rows = [
        TurnLatency(1, "spoken", 0.0, 0.0, v2v_ms=1000.0),
        TurnLatency(2, "spoken", 0.0, 0.0),  # not measured: no point
        TurnLatency(3, "typed", 0.0, 0.0, v2v_ms=500.0),
    ]
    drawn = view.chart(rows, 1000.0, width=100, height=50, pad=5)
    assert drawn.top_ms == 1000.0
    assert [(p.x, p.y, p.kind, p.index) for p in drawn.points] == [
        (5.0, 5.0, "spoken", 1),
        (95.0, 25.0, "typed", 3),
    ]
    assert drawn.p50_y == 5.0
    assert view.chart([], None).points == [] and view.chart([], None).p50_y is None
