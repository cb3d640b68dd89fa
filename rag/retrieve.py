"""Hybrid retrieval: dense (Chroma) + keyword (BM25), fused by reciprocal rank.

Then, among the best fused candidates, a passage holding the numbers the
question asks about ("in 2019", "season 4", "Q1 2021") is preferred: news
questions hinge on them, and on-topic passages about another year are the
commonest wrong answer (RGB: Hits@3 0.76 -> 0.81, see bench/README.md).
Near-duplicate passages (syndicated copies of one story) are collapsed so
they cannot fill the top-k.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from core.articles import ChunkRecord
from core.text import number_tokens, words
from core.types import Passage
from store import Store
from store.store import keyword_text

RRF_K = 60


@dataclass(frozen=True)
class RetrievalConfig:
    dense_k: int = 40  # candidates from the vector search
    keyword_k: int = 20  # candidates from BM25
    top_k: int = 4  # passages returned
    dedupe_jaccard: float = 0.8  # 3-gram Jaccard at which a passage counts as a copy of a better one
    keyword: bool = True  # False: dense only
    rrf_k: int = RRF_K  # reciprocal rank fusion constant: 1 / (rrf_k + rank)
    number_boost: float = 1.0  # fused score x (1 + number_boost x share of the question's numbers present)
    rerank_depth: int = 20  # fused candidates considered (at least 4 x top_k, room for collapsed copies)


class Retriever:
    def __init__(self, store: Store, embedder: Any, config: RetrievalConfig = RetrievalConfig()) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config

    def retrieve(self, query: str, top_k: int | None = None) -> list[Passage]:
        """The best `top_k` passages, numbered 1..k, with every score that ranked them."""
        cfg = self.config
        k = top_k or cfg.top_k
        vector = self.embedder.get_query_embedding(query)
        dense = self.store.dense(vector, cfg.dense_k)
        keyword = self.store.lexical(query, cfg.keyword_k) if cfg.keyword else []
        fused: dict[str, float] = {}
        info: dict[str, dict[str, Any]] = {}
        for rank, hit in enumerate(dense, 1):
            fused[hit.chunk_id] = fused.get(hit.chunk_id, 0.0) + 1.0 / (cfg.rrf_k + rank)
            info.setdefault(hit.chunk_id, {}).update(dense_rank=rank, dense_score=hit.score, hit=hit)
        for rank, (cid, score) in enumerate(keyword, 1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (cfg.rrf_k + rank)
            info.setdefault(cid, {}).update(keyword_rank=rank, keyword_score=score)
        ranked = sorted(fused, key=lambda c: -fused[c])[: max(cfg.rerank_depth, k * 4)]
        missing = [c for c in ranked if "hit" not in info[c]]
        for hit in self.store.get(missing):
            info[hit.chunk_id]["hit"] = hit
        ranked = [c for c in ranked if "hit" in info[c]]  # a keyword entry Chroma no longer has
        wanted = number_tokens(query)
        if wanted and cfg.number_boost:
            for c in ranked:
                fused[c] *= 1.0 + cfg.number_boost * number_share(wanted, info[c]["hit"])
            ranked.sort(key=lambda c: -fused[c])
        out: list[Passage] = []
        seen: list[set[str]] = []
        for cid in ranked:
            hit = info[cid]["hit"]
            words = _shingles(hit.text)
            if any(_jaccard(words, s) >= cfg.dedupe_jaccard for s in seen):
                continue
            seen.append(words)
            out.append(_passage(len(out) + 1, hit, fused[cid], info[cid]))
            if len(out) == k:
                break
        return out

    def best_dense_score(self, passages: list[Passage]) -> float:
        return max((p.dense_score for p in passages if p.dense_score is not None), default=0.0)


def number_share(wanted: set[str], hit: Any) -> float:
    """Share of `wanted` number tokens in the passage or its header (title, outlet, date)."""
    have = number_tokens(keyword_text(hit.text, hit.meta))
    return len(wanted & have) / len(wanted)


def _passage(n: int, hit: Any, score: float, info: dict[str, Any]) -> Passage:
    r = ChunkRecord.from_meta(hit.meta)
    return Passage(
        n=n,
        chunk_id=hit.chunk_id,
        article_id=r.article_id,
        title=r.title,
        source=r.source,
        date=r.date,
        text=hit.text,
        start=r.start,
        end=r.end,
        score=score,
        dense_score=info.get("dense_score"),
        dense_rank=info.get("dense_rank"),
        keyword_score=info.get("keyword_score"),
        keyword_rank=info.get("keyword_rank"),
        byline=r.byline,
        url=r.url,
        path=r.path,
        sentences=r.sentences,
    )


def renumber(passages: list[Passage]) -> list[Passage]:
    return [replace(p, n=i) for i, p in enumerate(passages, 1)]


def _shingles(text: str) -> set[str]:
    ws = words(text)
    return {" ".join(ws[i : i + 3]) for i in range(max(1, len(ws) - 2))}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, len(a | b))
