"""newsrag's answering core: `answer(question) -> Answer`.

Imports are lazy so `import rag` stays fast and loads no model.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Answer", "Citation", "Engine", "Passage", "Settings", "answer", "stream_answer", "Chat"]

_LAZY = {
    "answer": "rag.api",
    "stream_answer": "rag.api",
    "Engine": "rag.engine",
    "Answer": "rag.types",
    "Citation": "rag.types",
    "Passage": "rag.types",
    "Settings": "rag.settings",
    "Chat": "rag.chat",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
