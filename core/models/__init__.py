"""Model backends: embedders and LLMs, each registered by name."""

from core.models.embedders import EMBEDDERS, make_embedder
from core.models.llms import LLMS, make_llm

__all__ = ["EMBEDDERS", "LLMS", "make_embedder", "make_llm"]
