"""The embedded bot's RTVI `metrics` for one typed turn: shared by the legacy and modern bot
modules (each on its own module's bot), checked on what pipecat's RTVI observer sent."""

from __future__ import annotations

import time
from typing import Any

from tests.server.rtvi_peer import RTVIPeer

#: The stand-in services' processor names in the metrics (pipecat names a processor `Class#n`).
LLM, TTS = "StandInLLM", "EspeakTTSService"


async def typed_turn_metrics(peer: RTVIPeer, text: str = "count") -> dict[str, list[Any]]:
    """Type `text` and wait until the answer is spoken: every `metrics` entry since, by kind."""
    start = time.monotonic()
    peer.send("send-text", {"content": text, "options": {"run_immediately": True}})
    started = await peer.wait_for("bot-started-speaking", after=start, timeout=15)
    await peer.wait_for("bot-stopped-speaking", after=started.at, timeout=20)
    found: dict[str, list[Any]] = {}
    for received in peer.log:
        if received.at >= start and received.type == "metrics":
            for kind, entries in received.message["data"].items():
                found.setdefault(kind, []).extend(entries)
    return found


def by_service(entries: list[dict[str, Any]], service: str) -> list[float]:
    return [e["value"] for e in entries if str(e.get("processor", "")).startswith(service + "#")]


def check_typed_count_turn(metrics: dict[str, list[Any]]) -> None:
    """What a typed "count" (answer: "One, two, three, four, five.") reports: TTFB and
    processing from both services, the LLM's tokens and the TTS's characters."""
    for kind in ("ttfb", "processing"):
        for service in (LLM, TTS):
            values = by_service(metrics.get(kind, []), service)
            assert values and all(v > 0 for v in values), (kind, service, metrics)
    # The stand-in streams the answer in 5 word tokens, after ~20 ms each (its pacing).
    assert by_service(metrics["processing"], LLM)[0] >= 0.08
    [tokens] = metrics["tokens"]
    assert tokens["completion_tokens"] == 5
    assert tokens["prompt_tokens"] > 1
    assert tokens["total_tokens"] == tokens["prompt_tokens"] + tokens["completion_tokens"]
    [characters] = [e for e in metrics["characters"] if e["processor"].startswith(TTS + "#")]
    assert characters["value"] >= len("One, two, three, four, five.")
    assert characters["model"] == "espeak-ng"
