"""Model backends: embedders and LLMs, each registered by name."""

from rag.models.embedders import EMBEDDERS, make_embedder
from rag.models.llms import LLMS, make_llm

__all__ = ["EMBEDDERS", "LLMS", "make_embedder", "make_llm"]
