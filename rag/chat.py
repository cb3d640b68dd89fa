"""A chat session: follow-up questions over one-shot `answer()`.

Interface shared by the page and the CLI. Follow-up condensing is the trust
work's (issue #4); this first version passes the message through unchanged.
"""

from __future__ import annotations

from typing import Any, Iterator

from rag.engine import Engine
from rag.types import Answer


class Chat:
    def __init__(self, engine: Engine | None = None, *, llm: Any = None, max_history_tokens: int = 1000) -> None:
        if engine is None:
            from rag.api import default_engine

            engine = default_engine()
        self.engine = engine
        self.llm = llm
        self.max_history_tokens = max_history_tokens
        self.history: list[tuple[str, Answer]] = []

    def stream(self, message: str, *, top_k: int | None = None) -> Iterator[str | Answer]:
        for item in self.engine.stream(message, llm=self.llm, top_k=top_k):
            if isinstance(item, Answer):
                self.history.append((message, item))
            yield item

    def ask(self, message: str, **kw: Any) -> Answer:
        final = None
        for item in self.stream(message, **kw):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def reset(self) -> None:
        self.history.clear()
