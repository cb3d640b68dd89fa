"""The answering pipeline: retrieve, prompt, generate (streaming), parse citations.

An `Engine` holds the models and the store, loaded once per process.
`stream()` yields text pieces and ends with the `Answer`; `answer()` is the
same call drained. Backend failures end the stream with an `Answer` whose
`error` names the fix and whose passages are still the retrieved ones.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
import threading
import time
from dataclasses import replace
from datetime import date
from typing import Any, Callable, Iterator

from rag.context import ContextConfig, select_context
from rag.citations import make_citation, parse_citations, sentences_with_citations
from core.errors import NewsragError
from core.filters import Filter
from core.models.base import GenerationRequest, Generator, as_generator
from rag.gate import GateResult, relevance_gate
from rag.prompt import build_messages, is_decline, prompt_tokens, revision_messages
from rag.freshness import freshness
from rag.retrieve import TIMELESS_STAGES, Query, RetrievalConfig, Retriever
from rag.stream import AnswerStream
from core.settings import Settings
from core.types import Answer, Passage, Revision
from rag.verify import CitationVerifier, about_passages, common_words
from rag.when import Window, resolve
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
        min_relevance: float = 0.20,
        max_tokens: int = 200,
        verifier: Verifier | None = None,
        verify: bool = True,
        revise: bool = True,
        as_of: date | None = None,
        time_aware: bool = True,
        context: ContextConfig | None = None,
    ) -> None:
        """`verifier` checks each final Answer (default: `CitationVerifier` over `embedder`;
        `verify=False` turns checking off). `revise`: a flagged answer gets one more try.
        `as_of`: the default as-of date (None: the day of each question). `time_aware=False`
        reads no dates at all (no as-of limit, no time words, no recency): the old behaviour,
        kept for comparison. `context`: read only the question's sentences of the passages
        (rag/context.py); None: whole passages."""
        self.store = store
        self.embedder = embedder
        self.retriever = Retriever(store, embedder, retrieval)
        self.min_relevance = min_relevance
        self._common = common_words(embedder)  # the gate tells "Catastrophic flooding…" from a name
        self.max_tokens = max_tokens
        self.verifier = verifier or (CitationVerifier(embedder) if verify else None)
        self.revise = revise
        self.as_of = as_of
        self.time_aware = time_aware
        self.context = context
        self._llm = llm if isinstance(llm, Generator) else None
        self._llm_factory = None if self._llm else llm
        self._llm_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, llm: Any = None, embedder: Any = None) -> "Engine":
        from core.models import make_embedder, make_llm

        embedder = embedder or make_embedder(settings)
        store = Store.open(
            settings.home,
            embedder.identity,
            embedder.dimension,
            base=settings.collection,
            chroma_url=settings.chroma_url,
            lock_timeout=settings.lock_timeout,
        )
        if settings.chroma_url:  # a shared server: another NEWSRAG_HOME may have written (a full scan, so only then)
            for line in store.catch_up():
                log.warning("%s", line)
        else:
            store.ensure_keyword()  # e.g. an index in an older format: rebuilt before the first question
        return cls(
            store,
            embedder,
            as_generator(llm) if llm is not None else (lambda: make_llm(settings)),
            retrieval_config(settings),
            settings.min_relevance,
            settings.llm_max_tokens,
            revise=settings.revise,
            as_of=settings.as_of,
            time_aware=settings.time_features,
            context=context_config(settings),
        )

    def variant(self, retrieval: RetrievalConfig, *, time_aware: bool) -> "Engine":
        """This engine (same store, models and checks) with another retrieval: for side-by-side measures."""
        other = copy.copy(self)
        other.retriever = Retriever(self.store, self.embedder, retrieval)
        other.time_aware = time_aware
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
        filters: Filter | None = None, as_of: date | None = None,
    ) -> AnswerStream:
        """Retrieve now; the returned stream yields text pieces as generated and then
        holds the final Answer (verified, with its trace).

        `query` is the standalone form of `question` (a chat's condensed follow-up):
        it is what retrieval and the model see; the Answer keeps `question`.
        `filters` narrow retrieval (dates, outlets, articles); `as_of` (default: the
        engine's, else today) hides everything published after it, and the question's
        time words ("this week") are read against it.
        """
        t0 = time.perf_counter()
        query = query or question
        q = self.plan(query, top_k, filters, as_of)
        found = self.retriever.run(q)
        timings = {"retrieval_s": time.perf_counter() - t0}
        trace: dict[str, Any] = {
            "question": question, "standalone_query": query,
            "as_of": q.as_of.isoformat() if q.as_of else None,
            "window": q.window.describe() if q.window else None,
            "filters": q.where.describe(),
            "stages": found.trace,
        }
        return AnswerStream(tuple(found.passages), self._generate(question, q, found.passages, timings, t0, llm, trace))

    def plan(self, query: str, top_k: int | None, filters: Filter | None, as_of: date | None) -> Query:
        """What retrieval runs with: the hard filter (the reader's, up to the as-of date) and the window."""
        where = filters or Filter()
        if not self.time_aware:
            return Query(query, top_k or self.retriever.config.top_k, where)
        day = as_of or self.as_of or date.today()
        return Query(query, top_k or self.retriever.config.top_k, where.narrowed(until=day), resolve(query, day), day)

    def _generate(
        self, question: str, q: Query, passages: list[Passage], timings: dict[str, float], t0: float, llm: Any,
        trace: dict[str, Any],
    ) -> Iterator[str | Answer]:
        query = q.text
        finish = functools.partial(self._finish, window=q.window, as_of=q.as_of, trace=trace)
        gate = relevance_gate(query, passages, self.min_relevance, self._common)
        trace["gate"] = _gate_trace(gate, self.min_relevance)
        if not gate.passed:
            timings["total_s"] = time.perf_counter() - t0
            yield finish(Answer(question, DECLINED, False, passages=tuple(passages), timings=timings, model="gate"))
            return
        try:
            gen = as_generator(llm) if llm is not None else self.llm
        except NewsragError as e:
            yield finish(self._failed(question, passages, timings, t0, str(e)))
            return
        if self.context is not None:
            t1 = time.perf_counter()
            passages, trace["context"] = select_context(query, passages, self.context)
            timings["context_s"] = time.perf_counter() - t1
        messages = build_messages(query, passages, q.as_of)
        trace["prompt_tokens"] = prompt_tokens(messages)
        trace["prompt_tokens_method"] = PROMPT_TOKENS_METHOD
        request = GenerationRequest(messages, query, tuple(passages), self.max_tokens)
        pieces: list[str] = []
        try:
            for piece in gen.stream(request):
                if not pieces:
                    timings["first_token_s"] = time.perf_counter() - t0
                pieces.append(piece)
                yield piece
        except NewsragError as e:
            yield finish(self._failed(question, passages, timings, t0, str(e), gen.name))
            return
        timings["generation_s"] = time.perf_counter() - t0 - timings["retrieval_s"]
        llm_stats(request.stats, timings, trace)
        raw = "".join(pieces).strip()
        answer = build_answer(question, raw, passages, timings, gen.name)
        if not answer.answerable:
            trace["gate"]["declined_by"] = "model"
        if self.verifier is not None and answer.answerable:
            t1 = time.perf_counter()
            answer = self.verifier(answer)
            timings["verify_s"] = time.perf_counter() - t1
            if self.revise and answer.unsupported:
                answer = self._revise(gen, request, raw, answer)
                timings["revise_s"] = time.perf_counter() - t1 - timings["verify_s"]
        timings["total_s"] = time.perf_counter() - t0
        yield finish(answer)

    def _revise(self, gen: Generator, request: GenerationRequest, raw: str, draft: Answer) -> Answer:
        """Show the model what the verifier flagged and ask once more; keep whichever answer has
        fewer flagged sentences (a decline or an empty reply never replaces the draft).

        Not streamed: the reader saw the draft stream, and the final Answer replaces it.
        """
        assert self.verifier is not None
        messages = revision_messages(request.messages, raw, [u.reason for u in draft.unsupported])
        try:
            text = "".join(gen.stream(replace(request, messages=messages, purpose="revise", stats={}))).strip()
        except NewsragError as e:
            log.warning("revising the answer failed (%s): the first answer stands", e)
            text = ""
        second = build_answer(draft.question, text, list(draft.passages), draft.timings, draft.model)  # "" -> a decline
        if second.answerable:
            second = self.verifier(second)
        kept = (second.answerable and _says_something(second.text) and not about_passages(second.text)
                and len(second.unsupported) < len(draft.unsupported))
        revision = Revision(draft.text, draft.unsupported, second.text if text else "", kept)
        return replace(second if kept else draft, revision=revision)

    def _finish(self, answer: Answer, *, window: Window | None, as_of: date | None, trace: dict[str, Any]) -> Answer:
        answer = replace(
            answer, as_of=as_of.isoformat() if as_of else "", window=window.describe() if window else None,
        )
        return _traced(replace(answer, freshness=freshness(answer, window)), trace)

    def _failed(self, question: str, passages: list[Passage], timings: dict[str, float], t0: float, msg: str, model: str = "") -> Answer:
        timings["total_s"] = time.perf_counter() - t0
        return Answer(question, "", False, passages=tuple(passages), timings=timings, model=model, error=msg)


def _says_something(text: str) -> bool:
    """More than citation markers and punctuation (the 1.5B model sometimes replies "[1]" alone)."""
    return re.search(r"\w", re.sub(r"\[[^\]]*\]", "", text)) is not None


PROMPT_TOKENS_METHOD = "estimate: characters / 4.7 + 5 per message (fitted to Qwen2.5's tokenizer, within 3% on the seed prompts)"


def _gate_trace(gate: GateResult, min_relevance: float) -> dict[str, Any]:
    return {
        "best_dense_score": round(gate.best_dense, 4),
        "min_relevance": min_relevance,
        "passed": gate.passed,
        "reason": gate.reason,
        "declined_by": None if gate.passed else "relevance",
    }


def _traced(answer: Answer, trace: dict[str, Any]) -> Answer:
    """The final trace: how the answer was made, in plain JSON types."""
    cited: dict[int, list[int]] = {}
    for c in answer.citations:
        cited.setdefault(c.passage, []).append(c.n)
    trace = {
        **trace,
        "model": answer.model,
        "passages": [
            {
                "n": p.n,
                "title": p.title,
                "article_id": p.article_id,
                "chunk_id": p.chunk_id,
                "fused_rank": p.n,
                "fused_score": round(p.score, 5),
                "dense_rank": p.dense_rank,
                "dense_score": None if p.dense_score is None else round(p.dense_score, 4),
                "keyword_rank": p.keyword_rank,
                "keyword_score": None if p.keyword_score is None else round(p.keyword_score, 4),
                "date": p.date,
                "boosts": dict(p.boosts),
                "also_in": list(p.also_in),
                "cited_as": cited.get(p.n, []),
            }
            for p in answer.passages
        ],
        "cited_passages": sorted(cited),
        "repaired_citations": [
            {"n": r.n, "from_passage": r.from_passage, "to_passage": r.to_passage, "reason": r.reason} for r in answer.repaired_citations
        ],
        "unsupported": len(answer.unsupported),
        "revision": None if answer.revision is None else {
            "draft": answer.revision.draft,
            "flagged": [{"sentence": u.sentence, "reason": u.reason} for u in answer.revision.flagged],
            "revised": answer.revision.revised,
            "kept": answer.revision.kept,
        },
        "timings": {k: round(v, 3) for k, v in answer.timings.items()},
        "freshness": answer.freshness,
    }
    return replace(answer, trace=trace)


def build_answer(question: str, raw: str, passages: list[Passage], timings: dict[str, float], model: str) -> Answer:
    """Turn the model's raw text into an Answer with parsed, renumbered citations."""
    if not raw or is_decline(raw):
        return Answer(question, DECLINED, False, passages=tuple(passages), timings=timings, model=model)
    parsed = parse_citations(raw, len(passages))
    claims = sentences_with_citations(parsed.text)
    citations = []
    for new_n, passage_n in enumerate(parsed.order, 1):
        claim = " ".join(s for s, nums in claims if new_n in nums)
        citations.append(make_citation(new_n, passages[passage_n - 1], claim or question))
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


def context_config(settings: Settings) -> ContextConfig | None:
    """The fast profile's sentence selection; None (whole passages) for the baseline profile."""
    if settings.profile == "baseline" or settings.context_budget <= 0:
        return None
    return ContextConfig(settings.context_budget, settings.context_neighbours, settings.top_k)


def llm_stats(stats: dict[str, float], timings: dict[str, float], trace: dict[str, Any]) -> None:
    """The backend's own measures (the embedded LLM's llama.cpp timings), when it gave them:
    seconds into `timings`, token counts and rates into `trace["llm"]`."""
    if not stats:
        return
    for key in ("prompt_read_s", "decode_s"):
        if key in stats:
            timings[key] = stats[key]
    trace["llm"] = {k: round(v, 2) for k, v in stats.items() if not k.endswith("_s")}


def retrieval_config(settings: Settings) -> RetrievalConfig:
    stages = tuple(s.strip() for s in settings.retrieval_stages.split(",") if s.strip())
    if not settings.time_features:
        stages = tuple(s for s in stages if s in TIMELESS_STAGES)
    return RetrievalConfig(
        settings.dense_k, settings.keyword_k, settings.top_k, window_boost=settings.window_boost,
        recency_weight=settings.recency_weight, recency_latest_weight=settings.recency_latest_weight,
        recency_half_life_days=settings.recency_half_life_days, stages=stages,
    )
