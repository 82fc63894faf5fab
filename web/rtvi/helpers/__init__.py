"""Client helpers: plug-ins that claim message types (``RTVIClientHelper``) and ``LLMHelper``."""

from .base import RTVIClientHelper
from .llm import FunctionCallParams, LLMActionType, LLMHelper

__all__ = ["FunctionCallParams", "LLMActionType", "LLMHelper", "RTVIClientHelper"]
