"""One way to stream an answer: an `AnswerStream` yields text pieces as the model
writes them and then holds the final `Answer` (as simonw/llm's `Response`).

Retrieval has already run when the stream is made, so `passages` can be shown
before the first word; `answer` drains what is left and returns the Answer.
"""

from __future__ import annotations

from typing import Callable, Iterator

from core.types import Answer, Passage, TimelineEvent


class AnswerStream:
    def __init__(self, passages: tuple[Passage, ...], items: Iterator[str | Answer]) -> None:
        """`items`: text pieces, then exactly one Answer (the engine's generator)."""
        self.passages = passages
        self._items = items
        self._after: list[Callable[[Answer], Answer]] = []
        self._answer: Answer | None = None
        self.timeline: tuple[TimelineEvent, ...] = ()  # a story answer's events, known before the first word

    def then(self, fn: Callable[[Answer], Answer]) -> "AnswerStream":
        """Apply `fn` to the final Answer before it is held (a chat records its turn)."""
        self._after.append(fn)
        return self

    def __iter__(self) -> Iterator[str]:
        for item in self._items:
            if isinstance(item, Answer):
                for fn in self._after:
                    item = fn(item)
                self._answer = item
            else:
                yield item

    @property
    def done(self) -> bool:
        return self._answer is not None

    @property
    def answer(self) -> Answer:
        """The final Answer; generates whatever was not iterated yet."""
        for _ in self:
            pass
        assert self._answer is not None, "the engine's stream ended without an Answer"
        return self._answer
