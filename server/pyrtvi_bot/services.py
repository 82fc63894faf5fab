"""Optional real (cloud) pipecat services instead of the offline stand-ins.

A real service is used only when the session's `services` asks for it by name AND its API key is in
the bot's environment AND its pipecat extra is installed (`pip install 'pipecat-ai[openai]'` etc.);
otherwise the stand-in is used and a warning is logged. Names: llm "openai" (OPENAI_API_KEY,
optional OPENAI_MODEL), stt "deepgram" (DEEPGRAM_API_KEY), tts "cartesia" (CARTESIA_API_KEY,
optional CARTESIA_VOICE_ID). The constructor arguments used are the same in pipecat 0.0.108 and 1.x.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from loguru import logger
from pipecat.processors.frame_processor import FrameProcessor

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
#: Cartesia's public "British Lady" voice, a common default in pipecat examples.
DEFAULT_CARTESIA_VOICE = "79a125e8-cd45-4c13-8a67-188112f4dd22"


def _openai() -> FrameProcessor:
    from pipecat.services.openai.llm import OpenAILLMService

    return OpenAILLMService(
        api_key=os.environ["OPENAI_API_KEY"],
        model=os.environ.get("OPENAI_MODEL", DEFAULT_OPENAI_MODEL),
    )


def _deepgram() -> FrameProcessor:
    from pipecat.services.deepgram.stt import DeepgramSTTService

    return DeepgramSTTService(api_key=os.environ["DEEPGRAM_API_KEY"])


def _cartesia() -> FrameProcessor:
    from pipecat.services.cartesia.tts import CartesiaTTSService

    return CartesiaTTSService(
        api_key=os.environ["CARTESIA_API_KEY"],
        voice_id=os.environ.get("CARTESIA_VOICE_ID", DEFAULT_CARTESIA_VOICE),
    )


#: (slot, requested name) -> (required environment variable, factory).
REAL_SERVICES: dict[tuple[str, str], tuple[str, Callable[[], FrameProcessor]]] = {
    ("llm", "openai"): ("OPENAI_API_KEY", _openai),
    ("stt", "deepgram"): ("DEEPGRAM_API_KEY", _deepgram),
    ("tts", "cartesia"): ("CARTESIA_API_KEY", _cartesia),
}


def real_service(slot: str, services: Mapping[str, Any]) -> FrameProcessor | None:
    """The real service the session asked for in `slot`, or None to use the stand-in."""
    name = services.get(slot)
    if not isinstance(name, str):
        return None
    entry = REAL_SERVICES.get((slot, name.lower()))
    if entry is None:
        return None
    env, factory = entry
    if not os.environ.get(env):
        logger.warning(f"services.{slot}={name!r} needs {env}; using the offline stand-in")
        return None
    try:
        service = factory()
    except Exception as exc:  # missing pipecat extra, bad key format, ...
        logger.warning(f"cannot create the {name} {slot} service ({exc}); using the stand-in")
        return None
    logger.info(f"using the real {name} {slot} service")
    return service
