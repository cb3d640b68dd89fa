"""Retrieval as a list of stages over one list of candidates.

A stage takes the query and the candidates and returns candidates
(`rag.stages`). The default list, chosen by `Settings.retrieval_stages`:

    dense, keyword      candidate sources; filters pushed down to the store
    (spread)            a story answer's source: the nearest chunks of each day or week of its window
    fuse                reciprocal rank fusion of every ranked list
    filter              drops anything the filter does not admit (a check on the sources)
    numbers             prefers passages holding the numbers the question asks about
    window              prefers passages from the window the question's time words name
    recency             among equally relevant passages, the newer one wins
    collapse            copies of one story count once, listing the outlets that ran it

A stage is one class registered by name in `rag.stages.STAGES`; adding one
to the list is one line of configuration. Each stage's effect is traced.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, Sequence

from core.articles import ChunkRecord
from core.filters import Filter, from_day_number
from core.types import Passage
from rag.when import Window

@dataclass(frozen=True)
class RetrievalConfig:
    """Built from Settings by `rag.factory.retrieval_config`, which documents each knob."""

    dense_k: int
    keyword_k: int
    top_k: int
    dedupe_jaccard: float
    rrf_k: int
    number_boost: float
    rerank_depth: int
    window_k: int
    spread_k: int  # the `spread` stage: candidates from each day or week of the dates asked about
    window_boost: float
    window_margin: float
    recency_weight: float
    recency_latest_weight: float
    recency_half_life_days: float
    stages: tuple[str, ...]


@dataclass
class Candidate:
    chunk_id: str
    hit: Any = None  # store.chroma.Hit once fetched
    score: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict)  # list name -> 1-based rank in it
    scores: dict[str, float] = field(default_factory=dict)  # list name -> that list's own score
    boosts: dict[str, float] = field(default_factory=dict)  # stage -> factor applied to the fused score
    also_in: list[str] = field(default_factory=list)  # outlets of collapsed copies

    @property
    def record(self) -> ChunkRecord:
        return ChunkRecord.from_meta(self.hit.meta)


@dataclass
class Query:
    text: str
    top_k: int
    where: Filter = Filter()  # hard limits: the reader's filters and the as-of date
    window: Window | None = None  # preferred dates, from the question's time words
    as_of: date | None = None
    vector: list[float] | None = None  # the question's embedding, computed once
    asked: str = ""  # the question as put, when `text` is its topic alone (a timeline's)


@dataclass
class Retrieval:
    passages: list[Passage]
    trace: list[dict[str, Any]]


class Stage(Protocol):
    """One step of retrieval: the query and the candidates so far in, candidates out."""

    name: str

    def __call__(self, query: Query, candidates: list[Candidate]) -> list[Candidate]: ...


class Retriever:
    """Runs its stages in order (`rag.factory.retriever` builds them from Settings)."""

    def __init__(self, config: RetrievalConfig, stages: Sequence[Stage]) -> None:
        self.config = config
        self.stages = list(stages)

    def run(self, query: Query) -> Retrieval:
        """The best `query.top_k` passages, numbered 1..k, with every score that ranked them."""
        cands: list[Candidate] = []
        trace = []
        for stage in self.stages:
            t0 = time.perf_counter()
            n_in = len(cands)
            cands = stage(query, cands)
            trace.append({
                "stage": stage.name, "in": n_in, "out": len(cands), "ms": round(1000 * (time.perf_counter() - t0), 1),
                "top": [c.chunk_id for c in cands[: query.top_k]],
            })
        cands = [c for c in cands if c.hit is not None][: query.top_k]
        return Retrieval([_passage(i, c) for i, c in enumerate(cands, 1)], trace)

    def retrieve(
        self, query: str, top_k: int | None = None, where: Filter | None = None, window: Window | None = None,
        as_of: date | None = None,
    ) -> list[Passage]:
        q = Query(query, top_k or self.config.top_k, where or Filter(), window, as_of)
        return self.run(q).passages


def passage_of(hit: Any) -> Passage:
    """A passage read straight from the store (an article's lead, say), outside any ranking."""
    return _passage(0, Candidate(hit.chunk_id, hit, hit.score, scores={"dense": hit.score}))


def _passage(n: int, c: Candidate) -> Passage:
    r = c.record
    return Passage(
        n=n,
        chunk_id=c.chunk_id,
        article_id=r.article_id,
        title=r.title,
        source=r.source,
        date=r.date or (str(from_day_number(r.day)) if from_day_number(r.day) else ""),
        text=c.hit.text,
        start=r.start,
        end=r.end,
        score=c.score,
        dense_score=c.scores.get("dense"),
        dense_rank=c.ranks.get("dense"),
        keyword_score=c.scores.get("keyword"),
        keyword_rank=c.ranks.get("keyword"),
        byline=r.byline,
        url=r.url,
        path=r.path,
        sentences=r.sentences,
        also_in=tuple(c.also_in),
        boosts=tuple(sorted((k, round(v, 4)) for k, v in c.boosts.items())),
        page=r.page,
        cosine=c.scores.get("cosine"),
        chunks=r.n_chunks,
    )
