"""newsrag's answering layer: `answer(question) -> Answer`, its streaming twin and `Chat`;
`NewsragRetriever`, the same retrieval as a llama-index retriever.

Importing it loads no model: engines and models are built on first use, and llama-index
is imported only when `NewsragRetriever` is first asked for.
"""

from typing import Any

from core.settings import Settings
from core.types import Answer, Citation, Passage
from rag.api import answer, stream_answer
from rag.chat import Chat
from rag.engine import Engine

__all__ = ["Answer", "Citation", "Chat", "Engine", "NewsragRetriever", "Passage", "Settings", "answer", "stream_answer"]


def __getattr__(name: str) -> Any:
    if name == "NewsragRetriever":
        from rag.llama_retriever import NewsragRetriever

        return NewsragRetriever
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
