"""The metrics panel's logic (web/app/pyrtvi_page/metrics_model.py), in CPython, fed what
pipecat's RTVI observer sends in `metrics` messages."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from pyrtvi_page.metrics_model import (
    FORMAT_VERSION,
    SessionMetrics,
    Usage,
    chart_svg,
    format_ms,
    nice_ceiling,
    short_name,
    turn_cells,
    turn_headers,
    usage_items,
)

LLM, TTS, STT = "OpenAILLMService#0", "CartesiaTTSService#0", "DeepgramSTTService#0"


def timing(kind: str, service: str, seconds: float, model: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"processor": service, "value": seconds}
    if model:
        entry["model"] = model
    return {kind: [entry]}


def tokens(prompt: int, completion: int, **extra: int) -> dict[str, Any]:
    return {
        "tokens": [
            {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                **extra,
            }
        ]
    }


def characters(service: str, count: int) -> dict[str, Any]:
    return {"characters": [{"processor": service, "model": "sonic", "value": count}]}


def two_turns() -> SessionMetrics:
    """A spoken turn (STT, LLM, TTS) then a typed one, as the messages arrive."""
    m = SessionMetrics()
    # pipecat 1.x's initial zeros: the services are known, nothing is measured yet.
    initial = {
        "ttfb": [{"processor": s, "value": 0.0} for s in (STT, LLM, TTS)],
        "processing": [{"processor": s, "value": 0.0} for s in (STT, LLM, TTS)],
    }
    assert m.metrics(initial, 10)
    m.user_started_speaking(1000)
    m.user_started_speaking(1800)  # a pause, then more speech: still the same turn
    m.metrics(timing("ttfb", STT, 0.12, "nova-3"), 2500)
    m.bot_llm_started(2600)
    m.metrics(timing("ttfb", LLM, 0.31, "gpt-4o"), 2900)
    m.metrics(
        {**timing("processing", LLM, 0.9), **tokens(120, 14, cache_read_input_tokens=100)}, 3500
    )
    m.metrics({**timing("ttfb", TTS, 0.2), **characters(TTS, 42)}, 3700)
    m.metrics({"stt_usage": [{"processor": STT, "value": {"audio_seconds": 2.5}}]}, 3800)
    m.bot_llm_started(9000)  # typed: the bot answers with no speech before it
    m.metrics(timing("ttfb", LLM, 0.25), 9300)
    m.metrics({**tokens(140, 6, reasoning_tokens=3), **characters(TTS, 20)}, 9500)
    m.metrics({**timing("ttfb", TTS, 0.18), **timing("processing", LLM, 0.5)}, 9600)
    return m


def test_samples_per_service_and_kind_with_zeros_left_out() -> None:
    m = two_turns()
    assert m.services == [STT, LLM, TTS]
    assert m.models == {STT: "nova-3", LLM: "gpt-4o", TTS: "sonic"}
    assert m.kinds() == ["ttfb", "processing"]
    ttfb = m.series("ttfb")
    assert list(ttfb) == [STT, LLM, TTS]
    assert [s.ms for s in ttfb[LLM]] == pytest.approx([310, 250])
    assert [s.turn for s in ttfb[LLM]] == [1, 2]
    assert [s.t_ms for s in ttfb[TTS]] == [3700, 9600]
    assert list(m.series("processing")) == [LLM]
    stats = m.stats(LLM, "ttfb")
    assert stats is not None
    assert (stats.count, stats.last, stats.worst) == (2, pytest.approx(250), pytest.approx(310))
    assert stats.mean == pytest.approx(280)
    assert m.stats(STT, "processing") is None
    assert m.first_ttfb(1) == pytest.approx({STT: 120, LLM: 310, TTS: 200})


def test_turns_and_usage_totals() -> None:
    m = two_turns()
    assert [(t.number, t.source, t.t_ms) for t in m.turns] == [
        (1, "speech", 1000),
        (2, "text", 9000),
    ]
    first, second = (t.usage for t in m.turns)
    assert first == Usage(120, 14, cache_read_tokens=100, characters=42, stt_seconds=2.5)
    assert second == Usage(140, 6, reasoning_tokens=3, characters=20)
    total = m.totals()
    assert total == Usage(260, 20, 100, 3, 62, 2.5)
    items = {i.key: i.text for i in usage_items(total)}
    assert items == {
        "prompt-tokens": "260",
        "completion-tokens": "20",
        "cache-read-tokens": "100",
        "reasoning-tokens": "3",
        "tts-characters": "62",
        "stt-seconds": "2.5 s",
    }
    assert turn_headers(m) == [
        "Turn", "Source", "Prompt", "Completion", "Cache read", "Reasoning", "Characters", "TTFB"
    ]  # fmt: skip
    assert turn_cells(m, m.turns[1]) == [
        "140", "6", "0", "3", "20", "OpenAILLMService 250 ms · CartesiaTTSService 180 ms"
    ]  # fmt: skip


def test_a_bot_without_cache_or_reasoning_shows_neither() -> None:
    m = SessionMetrics()
    m.bot_llm_started(5)
    m.metrics(tokens(5, 5), 10)
    assert [i.key for i in usage_items(m.totals())] == [
        "prompt-tokens",
        "completion-tokens",
        "tts-characters",
    ]
    assert turn_headers(m) == ["Turn", "Source", "Prompt", "Completion", "Characters", "TTFB"]
    assert turn_cells(m, m.turns[0]) == ["5", "5", "0", "–"]


def test_turn_rules() -> None:
    m = SessionMetrics()
    m.metrics(timing("ttfb", LLM, 0.1), 5)  # metrics before any turn: the bot spoke first
    assert [(t.number, t.source) for t in m.turns] == [(1, "text")]
    m.bot_llm_started(6)  # its answer belongs to that turn
    m.user_started_speaking(100)
    m.bot_llm_started(200)
    m.bot_llm_started(300)  # another answer with no new input: a new turn
    m.user_started_speaking(400)  # barge-in
    assert [t.source for t in m.turns] == ["text", "speech", "text", "speech"]


def test_bad_input_is_ignored() -> None:
    m = SessionMetrics()
    bad: list[Any] = [None, [], "x", {"ttfb": "x"}, {"ttfb": [1, None]}, {"ttfb": [{"value": 1}]}]
    for data in bad:
        assert not m.metrics(data, 0)
    assert not m.metrics({"tokens": [{"x": 1}]}, 0)
    assert m.metrics({"ttfb": [{"processor": LLM, "value": True}]}, 0)  # a new service, no value
    m.metrics({"ttfb": [{"processor": LLM, "value": float("nan")}]}, 0)
    m.metrics({"characters": [{"processor": TTS, "value": "many"}]}, 0)
    m.metrics({"unknown": [{"processor": STT, "value": 3}]}, 0)
    assert m.samples == [] and m.totals().is_empty()
    assert m.services == [LLM, TTS, STT]  # named, nothing measured


def test_ttfa_from_pipecat_1x() -> None:
    m = SessionMetrics()
    m.metrics({"ttfa": [{"processor": TTS, "ttfa": 0.21, "ttfb": 0.2, "leading_silence": 0.01}]}, 1)
    assert m.kinds() == ["ttfa"] and m.series("ttfa")[TTS][0].ms == pytest.approx(210)


def test_export_then_import_is_the_same_session() -> None:
    m = two_turns()
    exported = json.loads(json.dumps(m.to_dict()))
    assert exported["version"] == FORMAT_VERSION
    again = SessionMetrics.from_dict(exported)
    assert again == m
    assert chart_svg(again, "ttfb") == chart_svg(m, "ttfb")
    for bad in (None, {}, {"version": 99}, {"version": FORMAT_VERSION, "samples": [{}]}):
        with pytest.raises(ValueError):
            SessionMetrics.from_dict(bad)


def test_chart_svg() -> None:
    m = two_turns()
    svg = chart_svg(m, "ttfb", width=400, height=100)
    root = ET.fromstring(svg)  # well-formed
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert root.get("data-kind") == "ttfb" and root.get("viewBox") == "0 0 400 100"
    groups = root.findall("s:g[@data-service]", ns)
    assert [g.get("data-service") for g in groups] == [STT, LLM, TTS]
    assert [g.get("class") for g in groups] == [
        "series series-0",
        "series series-1",
        "series series-2",
    ]
    # STT reported once (a point, no line); LLM and TTS twice (a line through two points).
    assert [len(g.findall("s:circle", ns)) for g in groups] == [1, 2, 2]
    assert [len(g.findall("s:polyline", ns)) for g in groups] == [0, 1, 1]
    titles = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "OpenAILLMService#0 TTFB 310 ms (turn 1, at 2.9 s)" in titles
    # The y axis tops at 500 ms (310 rounded up); the highest point touches it.
    assert "500 ms" in [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    ys = [float(c.get("cy", "0")) for c in root.iter("{http://www.w3.org/2000/svg}circle")]
    assert min(ys) >= 8 and max(ys) <= 80
    # Names are escaped.
    odd = SessionMetrics()
    odd.metrics(timing("ttfb", '<b>"x"</b>#0', 0.1), 1)
    ET.fromstring(chart_svg(odd, "ttfb"))
    assert not re.search(r"<b>", chart_svg(odd, "ttfb"))


def test_formats() -> None:
    assert [format_ms(v) for v in (0.21, 9.94, 14.2, 999, 1240)] == [
        "0.2 ms",
        "9.9 ms",
        "14 ms",
        "999 ms",
        "1.24 s",
    ]
    assert [nice_ceiling(v) for v in (0, 0.3, 1, 1.5, 3, 7, 310, 1000)] == [
        1, 0.5, 1, 2, 5, 10, 500, 1000
    ]  # fmt: skip
    assert short_name("StandInLLM#0") == "StandInLLM"
    assert short_name("StandInLLM#1") == "StandInLLM#1"
    assert short_name("plain") == "plain"
