"""Retrieval stages: each takes the query and the candidates and returns candidates.

To add one: write a class with a `name` and `__call__(query, candidates)`,
register a factory in `STAGES`, and name it in `NEWSRAG_RETRIEVAL_STAGES`.
Costs measured on dev-small (725 articles, 12k chunks, 2 cores) are in bench/README.md.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any, Callable

import numpy as np

from core.errors import ConfigError
from core.filters import UNKNOWN_DAY, day_number, from_day_number
from core.text import number_tokens, words
from rag.retrieve import Candidate, Query, RetrievalConfig, Stage
from store import Store
from store.store import keyword_text


def _merge(cands: list[Candidate], ranked: list[tuple[str, float, Any]], lst: str, score_key: str) -> list[Candidate]:
    """Add a ranked list (chunk id, score, hit or None) to the candidates under list name `lst`."""
    by_id = {c.chunk_id: c for c in cands}
    for rank, (cid, score, hit) in enumerate(ranked, 1):
        c = by_id.get(cid)
        if c is None:
            c = by_id[cid] = Candidate(cid)
            cands.append(c)
        c.ranks[lst] = rank
        c.scores.setdefault(score_key, score)
        if hit is not None and c.hit is None:
            c.hit = hit
    return cands


class DenseSource:
    """Nearest chunks by embedding, inside the hard filter; and, when the question names a
    time window, the nearest chunks inside it too, so recent passages are candidates even
    when older ones fill the overall top."""

    name = "dense"

    def __init__(self, store: Store, embedder: Any, k: int, window_k: int) -> None:
        self.store, self.embedder, self.k, self.window_k = store, embedder, k, window_k

    def __call__(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        if query.vector is None:
            query.vector = list(self.embedder.get_query_embedding(query.text))
        hits = [(h.chunk_id, h.score, h) for h in self.store.dense(query.vector, self.k, query.where)]
        inside: list[tuple[str, float, Any]] = []
        if _windowed(query):
            narrowed = query.where.narrowed(query.window.since, query.window.until)  # type: ignore[union-attr]
            inside = [(h.chunk_id, h.score, h) for h in self.store.dense(query.vector, self.window_k, narrowed)]
        return _mark_window(_merge(candidates, _by_score(hits, inside), "dense", "dense"), inside)


class KeywordSource:
    """BM25 over chunk text and its header (title, outlet, date), with the same filters."""

    name = "keyword"

    def __init__(self, store: Store, k: int, window_k: int) -> None:
        self.store, self.k, self.window_k = store, k, window_k

    def __call__(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        found = [(cid, s, None) for cid, s in self.store.lexical(query.text, self.k, query.where)]
        inside: list[tuple[str, float, Any]] = []
        if _windowed(query):
            narrowed = query.where.narrowed(query.window.since, query.window.until)  # type: ignore[union-attr]
            inside = [(cid, s, None) for cid, s in self.store.lexical(query.text, self.window_k, narrowed)]
        return _mark_window(_merge(candidates, _by_score(found, inside), "keyword", "keyword"), inside)


class SpreadSource:
    """The articles nearest the question in each day (each week, for spans over two weeks) of
    the hard filter's dates, taken in turns, so a story answer reads every part of its window,
    not only the days the question's words match best. Articles are compared by their lead
    vectors (kept with the stories), in memory: one filtered vector search per week costs
    ~0.2 s on 90k chunks, this ~10 ms. Each brings its lead chunk, where news says what happened."""

    name = "spread"

    def __init__(self, store: Store, embedder: Any, per_slice: int) -> None:
        self.store, self.embedder, self.per_slice = store, embedder, per_slice

    def __call__(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        since, until = query.where.since, query.where.until or query.as_of
        stories = getattr(self.store, "stories", None)
        if since is None or until is None or until < since or stories is None:
            return candidates
        ids, days, vecs = stories.leads_between(day_number(since), day_number(until))
        if not ids:
            return candidates
        q = np.asarray(query.vector or self._embed(query), dtype=np.float32)
        norms = np.linalg.norm(vecs, axis=1) * (np.linalg.norm(q) or 1.0)
        close = vecs @ q / np.where(norms == 0, 1.0, norms)
        found = []
        for day, end in slices(since, until):
            inside = np.flatnonzero((days >= day_number(day)) & (days <= day_number(end)))
            best = inside[np.argsort(-close[inside])[: self.per_slice]]
            found.append([(f"{ids[i]}:0", float(close[i]), None) for i in best])
        turns = [hits[i] for i in range(self.per_slice) for hits in found if i < len(hits)]
        return _merge(candidates, turns, "spread", "spread")

    def _embed(self, query: Query) -> list[float]:
        query.vector = list(self.embedder.get_query_embedding(query.text))
        return query.vector


def _article_turns(cands: list[Candidate]) -> list[Candidate]:
    """Each article's best candidate first, then each one's second, and so on: a week's
    several articles before one article's several chunks."""
    rank: dict[str, int] = {}
    keyed = []
    for i, c in enumerate(cands):
        article = c.chunk_id.rsplit(":", 1)[0]
        rank[article] = rank.get(article, -1) + 1
        keyed.append((rank[article], i, c))
    return [c for _, _, c in sorted(keyed, key=lambda t: (t[0], t[1]))]


def slices(since: Any, until: Any) -> list[tuple[Any, Any]]:
    """A window cut into days, or into weeks when it spans more than two."""
    step = 7 if (until - since).days > 14 else 1
    out, day = [], since
    while day <= until:
        end = min(until, day + timedelta(days=step - 1))
        out.append((day, end))
        day = end + timedelta(days=1)
    return out


class Balance:
    """The candidates in turns, one day (or week) of the window after another, each in its own
    order: the cut to the top k then keeps every part of a story's window, not only its
    busiest week. Within a day or week, articles take turns too. With no window asked for,
    the candidates' own dates span it."""

    name = "balance"

    def __call__(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        days = [from_day_number(c.record.day) for c in candidates if c.hit is not None and c.record.day != UNKNOWN_DAY]
        known = [d for d in days if d is not None]
        if not known:
            return candidates
        since, until = query.where.since or min(known), query.where.until or query.as_of or max(known)
        if until < since:
            return candidates
        parts = slices(since, until)
        first, step = day_number(since), (parts[0][1] - parts[0][0]).days + 1
        groups: dict[int, list[Candidate]] = {}
        for c in candidates:
            day = c.record.day if c.hit is not None else UNKNOWN_DAY
            groups.setdefault((day - first) // step if day != UNKNOWN_DAY else len(parts), []).append(c)
        ordered = [_article_turns(groups[k]) for k in sorted(groups)]
        turns = [g[i] for i in range(max(map(len, ordered), default=0)) for g in ordered if i < len(g)]
        return turns


def _mark_window(cands: list[Candidate], inside: list[tuple[str, float, Any]]) -> list[Candidate]:
    """Candidates found by the window's own search stay past fusion's cut, for the window stage to judge."""
    ids = {cid for cid, _, _ in inside}
    for c in cands:
        if c.chunk_id in ids:
            c.boosts.setdefault("found_in_window", 1.0)
    return cands


def _by_score(ranked: list[tuple[str, float, Any]], inside: list[tuple[str, float, Any]]) -> list[tuple[str, float, Any]]:
    """The overall list with the window's best hits placed by their own score: an in-window
    passage ranks where its relevance puts it (often below the overall top k), never
    higher because the window's pool is small."""
    seen = {cid for cid, _, _ in ranked}
    return sorted(ranked + [h for h in inside if h[0] not in seen], key=lambda h: -h[1])


def _windowed(query: Query) -> bool:
    return query.window is not None and (query.window.since is not None or query.window.until is not None)


class Fuse:
    """Reciprocal rank fusion of every ranked list; keeps the best `depth` and fetches their text."""

    name = "fuse"

    def __init__(self, store: Store, rrf_k: int, depth: int) -> None:
        self.store, self.rrf_k, self.depth = store, rrf_k, depth

    def __call__(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        for c in candidates:
            c.score = sum(1.0 / (self.rrf_k + r) for r in c.ranks.values())
        ordered = sorted(candidates, key=lambda c: -c.score)
        depth = max(self.depth, 4 * query.top_k)
        ranked = ordered[:depth] + [c for c in ordered[depth:] if "found_in_window" in c.boosts]
        for c in ranked:
            c.boosts.pop("found_in_window", None)
        missing = [c.chunk_id for c in ranked if c.hit is None]
        hits = {h.chunk_id: h for h in self.store.get(missing, query.vector)}  # keyword-only: their cosine too
        for c in ranked:
            if c.hit is None and (h := hits.get(c.chunk_id)) is not None:
                c.hit = h
                if query.vector is not None:
                    c.scores.setdefault("cosine", h.score)
            elif c.hit is not None:
                c.scores.setdefault("cosine", c.scores.get("dense", 0.0))
        return [c for c in ranked if c.hit is not None]  # a keyword entry Chroma no longer has


class WhereFilter:
    """Drops candidates the query's filter does not admit. The sources already push the
    filter down to the store; this checks every candidate, whatever stage added it."""

    name = "filter"

    def __call__(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        if query.where.empty:
            return candidates
        out = []
        for c in candidates:
            r = c.record
            if query.where.matches(r.day, r.source, r.host, r.article_id):
                out.append(c)
        return out


class NumberBoost:
    """A passage holding the numbers the question asks about ("in 2019", "season 4") is
    preferred: on-topic passages about another year are the commonest wrong answer
    (RGB: Hits@3 0.76 -> 0.81, see bench/README.md)."""

    name = "numbers"

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def __call__(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        wanted = number_tokens(query.text)
        if not wanted or not self.weight:
            return candidates
        for c in candidates:
            have = number_tokens(keyword_text(c.hit.text, c.hit.meta))
            factor = 1.0 + self.weight * len(wanted & have) / len(wanted)
            if factor != 1.0:
                c.score *= factor
                c.boosts[self.name] = factor
        return sorted(candidates, key=lambda c: -c.score)


class WindowBoost:
    """Passages published inside the question's time window ("this week") are preferred,
    when they are about as relevant as the best passage (cosine within `margin` of it):
    an off-topic passage from this week must not outrank the story asked about."""

    name = "window"

    def __init__(self, weight: float, margin: float) -> None:
        self.weight, self.margin = weight, margin

    def __call__(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        if not _windowed(query) or not self.weight or not candidates:
            return candidates
        best = max(c.scores.get("cosine", 0.0) for c in candidates)
        for c in candidates:
            if c.scores.get("cosine", 0.0) < best - self.margin:
                continue
            if query.window.contains(from_day_number(c.record.day)):  # type: ignore[union-attr]
                c.score *= 1.0 + self.weight
                c.boosts[self.name] = 1.0 + self.weight
        return sorted(candidates, key=lambda c: -c.score)


class RecencyPrior:
    """Among equally relevant passages the newer one wins: the fused score is multiplied
    by 1 + weight x 2^(-age / half-life), age in days before the as-of date. Stronger when
    the question asks for the latest. Undated passages get no boost."""

    name = "recency"

    def __init__(self, weight: float, latest_weight: float, half_life: float) -> None:
        self.weight, self.latest_weight, self.half_life = weight, latest_weight, half_life

    def __call__(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        if query.as_of is None:
            return candidates
        weight = self.latest_weight if query.window is not None and query.window.latest else self.weight
        if not weight:
            return candidates
        today = day_number(query.as_of)
        for c in candidates:
            day = c.record.day
            if day == UNKNOWN_DAY:
                continue
            factor = 1.0 + weight * 2.0 ** (-max(0, today - day) / self.half_life)
            c.score *= factor
            c.boosts[self.name] = factor
        return sorted(candidates, key=lambda c: -c.score)


class Collapse:
    """Copies of one story (wire copies run by several outlets, or the same text twice)
    count as one passage, the best-ranked, which lists the other outlets ("also in")."""

    name = "collapse"

    def __init__(self, jaccard: float) -> None:
        self.jaccard = jaccard

    def __call__(self, query: Query, candidates: list[Candidate]) -> list[Candidate]:
        kept: list[Candidate] = []
        sizes: list[int] = []
        holding: dict[str, list[int]] = {}  # shingle -> the kept passages with it (their shared counts give the overlap)
        for c in candidates:
            words = shingles(c.hit.text)
            shared = Counter(i for w in words for i in holding.get(w, ()))
            copy_of = next((kept[i] for i in sorted(shared) if overlap_of(shared[i], len(words), sizes[i]) >= self.jaccard), None)
            if copy_of is None:
                for w in words:
                    holding.setdefault(w, []).append(len(kept))
                kept.append(c)
                sizes.append(len(words))
                continue
            outlet = c.record.source or c.record.host
            if outlet and outlet != copy_of.record.source and outlet not in copy_of.also_in:
                copy_of.also_in.append(outlet)
        return kept


def shingles(text: str) -> set[str]:
    ws = words(text)
    return {" ".join(ws[i : i + 3]) for i in range(max(1, len(ws) - 2))}


def overlap(a: set[str], b: set[str]) -> float:
    """Jaccard of two shingle sets, or containment when one is much shorter (a copy cut
    into chunks at other places shares most of the shorter chunk)."""
    return overlap_of(len(a & b), len(a), len(b))


def overlap_of(inter: int, a: int, b: int) -> float:
    """`overlap` from the sizes of two shingle sets and of their intersection."""
    if not a or not b:
        return 0.0
    return max(inter / (a + b - inter), inter / min(a, b) if min(a, b) >= 20 else 0.0)


STAGES: dict[str, Callable[[RetrievalConfig, Store, Any], Stage]] = {
    "dense": lambda cfg, store, emb: DenseSource(store, emb, cfg.dense_k, cfg.window_k),
    "keyword": lambda cfg, store, emb: KeywordSource(store, cfg.keyword_k, cfg.window_k),
    "spread": lambda cfg, store, emb: SpreadSource(store, emb, cfg.spread_k),
    "fuse": lambda cfg, store, emb: Fuse(store, cfg.rrf_k, cfg.rerank_depth),
    "filter": lambda cfg, store, emb: WhereFilter(),
    "numbers": lambda cfg, store, emb: NumberBoost(cfg.number_boost),
    "window": lambda cfg, store, emb: WindowBoost(cfg.window_boost, cfg.window_margin),
    "recency": lambda cfg, store, emb: RecencyPrior(cfg.recency_weight, cfg.recency_latest_weight, cfg.recency_half_life_days),
    "collapse": lambda cfg, store, emb: Collapse(cfg.dedupe_jaccard),
    "balance": lambda cfg, store, emb: Balance(),
}


def build_stages(cfg: RetrievalConfig, store: Store, embedder: Any) -> list[Stage]:
    unknown = [s for s in cfg.stages if s not in STAGES]
    if unknown:
        raise ConfigError(f"unknown retrieval stage(s) {', '.join(unknown)} (NEWSRAG_RETRIEVAL_STAGES); choose from: {', '.join(STAGES)}")
    return [STAGES[name](cfg, store, embedder) for name in cfg.stages]
