"""The answering pipeline: retrieve, prompt, generate (streaming), parse citations.

An `Engine` holds the models and the store, loaded once per process.
`stream()` yields text pieces and ends with the `Answer`; `answer()` is the
same call drained. Backend failures end the stream with an `Answer` whose
`error` names the fix and whose passages are still the retrieved ones.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any, Callable, Iterator

from rag.citations import parse_citations, sentences_with_citations
from rag.errors import NewsragError
from rag.models.base import GenerationRequest, Generator, as_generator
from rag.prompt import build_messages, is_decline
from rag.retrieve import RetrievalConfig, Retriever
from rag.settings import Settings
from rag.types import Answer, Citation, Passage
from store import Store

log = logging.getLogger(__name__)

DECLINED = "The articles don't say. The closest passages are shown below."
Verifier = Callable[[Answer], Answer]


class Engine:
    def __init__(
        self,
        store: Store,
        embedder: Any,
        llm: Generator | Callable[[], Generator],
        retrieval: RetrievalConfig = RetrievalConfig(),
        min_relevance: float = 0.25,
        max_tokens: int = 200,
        verifier: Verifier | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.retriever = Retriever(store, embedder, retrieval)
        self.min_relevance = min_relevance
        self.max_tokens = max_tokens
        self.verifier = verifier
        self._llm = llm if isinstance(llm, Generator) else None
        self._llm_factory = None if self._llm else llm
        self._llm_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, llm: Any = None, embedder: Any = None) -> "Engine":
        from rag.models import make_embedder, make_llm

        embedder = embedder or make_embedder(settings)
        store = Store.open(
            settings.home,
            embedder.identity,
            embedder.dimension,
            base=settings.collection,
            chroma_url=settings.chroma_url,
            lock_timeout=settings.lock_timeout,
        )
        retrieval = RetrievalConfig(settings.dense_k, settings.keyword_k, settings.top_k)
        return cls(
            store,
            embedder,
            as_generator(llm) if llm is not None else (lambda: make_llm(settings)),
            retrieval,
            settings.min_relevance,
            settings.llm_max_tokens,
        )

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
        result = None
        for item in self.stream(question, **kw):
            if isinstance(item, Answer):
                result = item
        assert result is not None
        return result

    def stream(self, question: str, *, llm: Any = None, top_k: int | None = None) -> Iterator[str | Answer]:
        t0 = time.perf_counter()
        passages = self.retriever.retrieve(question, top_k)
        timings = {"retrieval_s": time.perf_counter() - t0}
        best = self.retriever.best_dense_score(passages)
        if not passages or best < self.min_relevance:
            timings["total_s"] = time.perf_counter() - t0
            yield Answer(question, DECLINED, False, passages=tuple(passages), timings=timings, model="gate")
            return
        try:
            gen = as_generator(llm) if llm is not None else self.llm
        except NewsragError as e:
            yield self._failed(question, passages, timings, t0, str(e))
            return
        request = GenerationRequest(build_messages(question, passages), question, tuple(passages), self.max_tokens)
        pieces: list[str] = []
        try:
            for piece in gen.stream(request):
                if not pieces:
                    timings["first_token_s"] = time.perf_counter() - t0
                pieces.append(piece)
                yield piece
        except NewsragError as e:
            yield self._failed(question, passages, timings, t0, str(e), gen.name)
            return
        timings["total_s"] = time.perf_counter() - t0
        raw = "".join(pieces).strip()
        answer = build_answer(question, raw, passages, timings, gen.name)
        if self.verifier is not None and answer.answerable:
            answer = self.verifier(answer)
        yield answer

    def _failed(self, question: str, passages: list[Passage], timings: dict[str, float], t0: float, msg: str, model: str = "") -> Answer:
        timings["total_s"] = time.perf_counter() - t0
        return Answer(question, "", False, passages=tuple(passages), timings=timings, model=model, error=msg)


def build_answer(question: str, raw: str, passages: list[Passage], timings: dict[str, float], model: str) -> Answer:
    """Turn the model's raw text into an Answer with parsed, renumbered citations."""
    if not raw or is_decline(raw):
        return Answer(question, DECLINED, False, passages=tuple(passages), timings=timings, model=model)
    parsed = parse_citations(raw, len(passages))
    claims = sentences_with_citations(parsed.text)
    citations = []
    for new_n, passage_n in enumerate(parsed.order, 1):
        p = passages[passage_n - 1]
        claim = " ".join(s for s, nums in claims if new_n in nums)
        quote, start, end = best_sentence(p, claim or question)
        citations.append(Citation(new_n, passage_n, p.article_id, p.title, p.source, p.date, quote, start, end, p.path))
    return Answer(
        question,
        parsed.text,
        True,
        citations=tuple(citations),
        passages=tuple(passages),
        timings=timings,
        model=model,
        dropped_citations=parsed.dropped,
    )


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 2}


def best_sentence(p: Passage, claim: str) -> tuple[str, int, int]:
    """The passage sentence sharing most words with the claim (the quote to highlight)."""
    target = _words(claim)
    sents = p.sentence_texts()
    best = max(sents, key=lambda s: (len(_words(s[0]) & target), -sents.index(s)))
    return best
