"""The public Python API: `answer(question) -> Answer` and its streaming twin.

The default engine is built from `Settings()` on first call (the edge) and
reused: models load once per process.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from core.filters import Filter
from rag.engine import Engine
from rag.stream import AnswerStream
from core.settings import Settings
from core.types import Answer

_engine: Engine | None = None
_lock = threading.Lock()


def default_engine(settings: Settings | None = None) -> Engine:
    global _engine
    with _lock:
        if _engine is None:
            _engine = Engine.from_settings(settings or Settings())
        return _engine


def answer(
    question: str, *, llm: Any = None, engine: Engine | None = None, top_k: int | None = None,
    filters: Filter | None = None, as_of: date | None = None, mode: str | None = None,
) -> Answer:
    """Answer `question` from the ingested articles, with parsed citations.

    `filters` narrow what is read (`Filter(since=, until=, sources=(...))`); `as_of`
    (default: NEWSRAG_AS_OF, else today) hides everything published after it. `mode`:
    "timeline" answers as a story (dated events in `Answer.timeline`), "factoid" as one
    fact; default: what the question's words ask for.
    """
    return stream_answer(question, llm=llm, engine=engine, top_k=top_k, filters=filters, as_of=as_of, mode=mode).answer


def stream_answer(
    question: str, *, llm: Any = None, engine: Engine | None = None, top_k: int | None = None,
    filters: Filter | None = None, as_of: date | None = None, mode: str | None = None,
) -> AnswerStream:
    """Text pieces as they are generated; then `.answer` holds the final `Answer`."""
    return (engine or default_engine()).stream(question, llm=llm, top_k=top_k, filters=filters, as_of=as_of, mode=mode)
