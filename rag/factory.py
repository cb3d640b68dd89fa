"""The one place where `Settings` becomes components: configs, retrieval stages, answer steps.

Every default lives in `core.settings.Settings`; the configs built here have
no defaults of their own, so a knob cannot drift between two places. The
Engine, the CLI, the page, the API server and the evaluation all build through
here; an evaluation arm is ordinary settings (another stage list, a context
budget of 0), never a switch of its own.
"""

from __future__ import annotations

from typing import Any

from core.settings import Settings
from ingest.readers import IngestOptions
from ingest.web import FetchLimits
from rag.context import ContextConfig
from core.names import common_words
from rag.retrieve import RetrievalConfig, Retriever
from rag.stages import build_stages
from rag.steps import Context, Freshness, Gate, Generate, LoadModel, Prompt, Revise, Step, Verifier, Verify
from rag.claims import Claims
from rag.timeline import Backed, Changes, CiteEvents, EventNumbers, Events, Fallback, OverviewPrompt
from rag.verify import CitationVerifier
from store import Store


def stage_names(s: Settings) -> tuple[str, ...]:
    return tuple(name.strip() for name in s.retrieval_stages.split(",") if name.strip())


def retrieval_config(s: Settings) -> RetrievalConfig:
    return RetrievalConfig(
        dense_k=s.dense_k, keyword_k=s.keyword_k, top_k=s.top_k, dedupe_jaccard=s.dedupe_jaccard, rrf_k=s.rrf_k,
        number_boost=s.number_boost, rerank_depth=s.rerank_depth, window_k=s.window_k, window_boost=s.window_boost,
        window_margin=s.window_margin, spread_k=s.timeline_per_slice, recency_weight=s.recency_weight, recency_latest_weight=s.recency_latest_weight,
        recency_half_life_days=s.recency_half_life_days, stages=stage_names(s),
    )


def retriever(s: Settings, store: Store, embedder: Any) -> Retriever:
    cfg = retrieval_config(s)
    return Retriever(cfg, build_stages(cfg, store, embedder))


def context_config(s: Settings) -> ContextConfig | None:
    """Sentence selection under the budget; None (whole passages) when the budget is 0."""
    if s.context_budget <= 0:
        return None
    return ContextConfig(s.context_budget, s.context_neighbours, s.top_k)


def answer_steps(s: Settings, embedder: Any, verifier: Verifier | None = None) -> list[Step]:
    """The factoid answer: gate, model, context, prompt, generate, verify, revise, claims, freshness."""
    verifier = verifier or CitationVerifier(embedder)
    steps: list[Step] = [Gate(s.min_relevance, common_words(embedder)), LoadModel()]
    context = context_config(s)
    if context is not None:
        steps.append(Context(context))
    steps += [Prompt(s.llm_max_tokens), Generate(), Verify(verifier)]
    if s.revise:
        steps.append(Revise(verifier))
    steps += [Claims(), Freshness()]
    return steps


def timeline_retriever(s: Settings, store: Store, embedder: Any) -> Retriever:
    """The factoid retrieval, asked for many passages: every source and stage looks deeper."""
    wide = s.model_copy(update={
        "top_k": s.timeline_passages, "dense_k": max(s.dense_k, 2 * s.timeline_passages),
        "keyword_k": max(s.keyword_k, s.timeline_passages), "rerank_depth": max(s.rerank_depth, 2 * s.timeline_passages),
        "window_k": max(s.window_k, s.timeline_passages),
        "retrieval_stages": ",".join(_with_spread(stage_names(s))),
    })
    return retriever(wide, store, embedder)


def _with_spread(stages: tuple[str, ...]) -> list[str]:
    """The story answer's stages: the factoid ones, with `spread` right after the first source
    and `balance` last (the window's days or weeks in turns before the cut)."""
    out = list(stages)
    if "spread" not in out:
        at = next((i + 1 for i, name in enumerate(out) if name in ("dense", "keyword")), 0)
        out.insert(at, "spread")
    return out if "balance" in out else [*out, "balance"]


def timeline_steps(s: Settings, store: Store, embedder: Any, verifier: Verifier | None = None) -> list[Step]:
    """The story answer (rag/timeline.py): dated events first, then the model's short overview."""
    verifier = verifier or CitationVerifier(embedder)
    return [
        Gate(s.min_relevance, common_words(embedder)), Events(store, s.timeline_events, s.min_relevance),
        LoadModel(), OverviewPrompt(s.timeline_overview_tokens, s.context_budget), Generate(), CiteEvents(common_words(embedder)),
        Verify(verifier), Backed(), Fallback(), EventNumbers(), Changes(), Freshness(),
    ]


def open_store(s: Settings, embedder: Any, log: Any = None) -> Store:
    """The store of `s.home` (or of the Chroma server), ready for a first question."""
    store = Store.open(
        s.home, embedder.identity, embedder.dimension, base=s.collection, chroma_url=s.chroma_url, lock_timeout=s.lock_timeout,
    )
    if s.chroma_url:  # a shared server: another NEWSRAG_HOME may have written (a full scan, so only then)
        for line in store.catch_up():
            if log is not None:
                log.warning("%s", line)
    else:
        store.ensure_keyword()  # e.g. an index in an older format: rebuilt before the first question
    return store


def ingest_options(s: Settings) -> IngestOptions:
    limits = FetchLimits(s.fetch_timeout, int(s.fetch_max_mb * 2**20), s.user_agent, tuple(s.fetch_allow.split(",")))
    return IngestOptions(
        chunk_tokens=s.chunk_tokens, overlap=s.chunk_overlap, max_file_bytes=int(s.max_file_mb * 2**20),
        max_article_chars=s.max_article_chars, fetch=limits, batch_chunks=s.ingest_batch, progress_every=s.progress_every,
    )
