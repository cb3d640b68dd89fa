"""The Engine: retrieval stages, then answer steps, over one store and one pair of models.

An `Engine` holds the models and the store, loaded once per process. Both of
its lists are built by `rag.factory` from Settings; `with_steps` gives the same
retrieval another list of answer steps (another answer mode). `stream()`
retrieves at once and returns an `AnswerStream`: the passages before the first
word, then the text pieces, then the final `Answer`; `answer()` is the same call
drained. Backend failures end the stream with an `Answer` whose `error` names
the fix and whose passages are still the retrieved ones.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Callable, Iterator, Sequence

from core.errors import ConfigError
from core.filters import Filter
from core.models.base import Generator, as_generator
from core.settings import Settings, defaults
from core.types import Answer, Passage
from rag import factory
from rag.retrieve import Query, Retriever
from rag.steps import DECLINED, AnswerState, Step
from rag.stream import AnswerStream
from rag.timeline import as_it_stands, asks_for_a_story
from rag.trace import answer_trace
from rag.when import resolve, topic
from store import Store

log = logging.getLogger(__name__)

__all__ = ["DECLINED", "Engine", "Mode"]


@dataclass(frozen=True)
class Mode:
    """One way of answering: a retrieval, a list of answer steps and how many passages it reads."""

    retriever: Retriever
    steps: Sequence[Step]
    top_k: int


class Engine:
    def __init__(
        self,
        store: Store,
        embedder: Any,
        llm: Generator | Callable[[], Generator],
        *,
        settings: Settings | None = None,
        retriever: Retriever | None = None,
        steps: Sequence[Step] | None = None,
    ) -> None:
        """`llm`: a backend, or a factory called on first use. `settings` (default: the documented
        defaults, no environment read) builds the retriever and the answer steps unless they are given
        (`retriever` and `steps` are the factoid mode's; the timeline mode is built from `settings`)."""
        s = settings or defaults()
        self.settings = s
        self.store = store
        self.embedder = embedder
        self.retriever = retriever or factory.retriever(s, store, embedder)
        self.steps: list[Step] = list(steps) if steps is not None else factory.answer_steps(s, embedder)
        self.modes: dict[str, Mode] = {
            "factoid": Mode(self.retriever, self.steps, s.top_k),
            "timeline": Mode(factory.timeline_retriever(s, store, embedder), factory.timeline_steps(s, store, embedder),
                             s.timeline_passages),
        }
        self.as_of = s.as_of  # the default as-of date (None: the day of each question)
        self._llm = llm if isinstance(llm, Generator) else None
        self._llm_factory = None if self._llm else llm
        self._llm_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, llm: Any = None, embedder: Any = None) -> "Engine":
        from core.models import make_embedder, make_llm

        embedder = embedder or make_embedder(settings)
        store = factory.open_store(settings, embedder, log)
        return cls(store, embedder, as_generator(llm) if llm is not None else (lambda: make_llm(settings)), settings=settings)

    def with_steps(self, steps: Sequence[Step]) -> "Engine":
        """This engine (same store, models and retrieval) answering with another list of steps."""
        other = copy.copy(self)
        other.steps = list(steps)
        other.modes = {**self.modes, "factoid": replace(self.modes["factoid"], steps=other.steps)}
        return other

    @property
    def llm(self) -> Generator:
        """Loaded on first use, once: `newsrag ingest` never loads the LLM."""
        if self._llm is None:
            with self._llm_lock:
                if self._llm is None:
                    assert self._llm_factory is not None
                    self._llm = self._llm_factory()
        return self._llm

    def answer(self, question: str, **kw: Any) -> Answer:
        return self.stream(question, **kw).answer

    def stream(
        self, question: str, *, llm: Any = None, top_k: int | None = None, query: str | None = None,
        filters: Filter | None = None, as_of: date | None = None, mode: str | None = None,
    ) -> AnswerStream:
        """Retrieve now; the returned stream yields text pieces as generated and then
        holds the final Answer (verified, with its trace).

        `query` is the standalone form of `question` (a chat's condensed follow-up):
        it is what retrieval and the model see; the Answer keeps `question`.
        `filters` narrow retrieval (dates, outlets, articles); `as_of` (default: the
        engine's, else today) hides everything published after it, and the question's
        time words ("this week") are read against it. `mode`: "factoid" or "timeline" (how a
        story developed); default: what the question's words ask for (`rag.timeline.asks_for_a_story`).
        """
        t0 = time.perf_counter()
        text = query or question
        name = mode or ("timeline" if asks_for_a_story(text) else "factoid")
        if name not in self.modes:
            raise ConfigError(f"unknown answer mode {name!r}; choose from: {', '.join(self.modes)}")
        chosen = self.modes[name]
        q = self.plan(text, top_k or chosen.top_k, filters, as_of, within_window=name == "timeline")
        if name == "timeline":  # its window is now a filter: what the story is about is searched without it
            q.text, q.asked = topic(text), text
        found = chosen.retriever.run(q)
        if name == "timeline" and (since := as_it_stands(found.passages, q.where, q.as_of)) is not None:
            q.where = q.where.narrowed(since=since)  # no dates asked: the story as it stands, read again densely
            found = chosen.retriever.run(q)
        model = (lambda: as_generator(llm)) if llm is not None else (lambda: self.llm)
        state = AnswerState(question, q, tuple(found.passages), model, t0, {"retrieval_s": time.perf_counter() - t0})
        head = {
            "question": question, "standalone_query": q.text, "mode": name,
            "as_of": q.as_of.isoformat() if q.as_of else None,
            "window": q.window.describe() if q.window else None,
            "filters": q.where.describe(),
            "stages": found.trace,
        }
        steps = list(chosen.steps)
        early = max((i + 1 for i, step in enumerate(steps) if getattr(step, "eager", False)), default=0)
        for step in steps[:early]:  # cheap steps whose results are shown at once (a timeline's events)
            if not state.settled or step.closing:
                step(state)
        stream = AnswerStream(state.retrieved, self._run(state, head, steps[early:], name))
        stream.timeline = state.timeline
        return stream

    def retrieve(
        self, query: str, *, top_k: int | None = None, filters: Filter | None = None, as_of: date | None = None,
    ) -> list[Passage]:
        """The passages a factoid answer to `query` would read, without answering: the same
        plan (filters up to the as-of date, the window its time words name) and retrieval."""
        return self.retriever.run(self.plan(query, top_k, filters, as_of)).passages

    def plan(
        self, query: str, top_k: int | None, filters: Filter | None, as_of: date | None, within_window: bool = False,
    ) -> Query:
        """What retrieval runs with: the hard filter (the reader's, up to the as-of date) and the window.
        `within_window`: the window the question's words name becomes a hard limit too (a timeline)."""
        day = as_of or self.as_of or date.today()
        where = (filters or Filter()).narrowed(until=day)
        window = resolve(query, day)
        if within_window and window is not None and (window.since or window.until):
            where = where.narrowed(window.since, window.until)
        return Query(query, top_k or self.retriever.config.top_k, where, window, day)

    def _run(self, state: AnswerState, head: dict[str, Any], steps: list[Step], mode: str) -> Iterator[str | Answer]:
        for step in steps:
            if state.settled and not step.closing:
                continue
            pieces = step(state)
            if pieces is not None:
                yield from pieces
        assert state.answer is not None, f"no answer step made an answer ({', '.join(s.name for s in self.steps)})"
        state.timings.setdefault("total_s", time.perf_counter() - state.t0)
        q = state.query
        answer = replace(
            state.answer, timings=state.timings, as_of=q.as_of.isoformat() if q.as_of else "",
            window=q.window.describe() if q.window else None, mode=mode, timeline=state.timeline,
        )
        yield replace(answer, trace=answer_trace(head, state.trace, answer))
