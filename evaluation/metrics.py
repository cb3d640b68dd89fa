"""Ranking and timing metrics, pure functions over plain lists.

A query's outcome is the 1-based rank of its first relevant result, or None
when nothing relevant was retrieved. Hits@k is the share of queries whose
first relevant result is at rank <= k; MRR@k the mean of 1/rank over the
queries, counting 0 when the first relevant result is below k or missing.
"""

from __future__ import annotations

import math
from typing import Collection, Hashable, Iterable, Sequence


def first_relevant_rank(retrieved: Sequence[Hashable], relevant: Collection[Hashable]) -> int | None:
    """1-based rank of the first retrieved item that is relevant, else None."""
    for rank, item in enumerate(retrieved, 1):
        if item in relevant:
            return rank
    return None


def hits_at(ranks: Sequence[int | None], k: int) -> float:
    if not ranks:
        return 0.0
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mrr_at(ranks: Sequence[int | None], k: int) -> float:
    if not ranks:
        return 0.0
    return sum(1.0 / r for r in ranks if r is not None and r <= k) / len(ranks)


def percentile(values: Iterable[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100), as numpy's default; 0.0 for no values."""
    xs = sorted(values)
    if not xs:
        return 0.0
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def ranking_summary(ranks: Sequence[int | None], latencies_s: Sequence[float], ks: Sequence[int] = (1, 3, 10)) -> dict[str, float]:
    """The retrieval report's figures: hits@k for each k, mrr@10, latency p50/p95 in ms, n."""
    out: dict[str, float] = {f"hits@{k}": round(hits_at(ranks, k), 4) for k in ks}
    out["mrr@10"] = round(mrr_at(ranks, 10), 4)
    out["p50_ms"] = round(percentile(latencies_s, 50) * 1000, 2)
    out["p95_ms"] = round(percentile(latencies_s, 95) * 1000, 2)
    out["n"] = len(ranks)
    return out


def ratios(ours: dict[str, float], baseline: dict[str, float]) -> dict[str, float | None]:
    """ours / baseline for every shared numeric figure (None where the baseline is 0)."""
    out: dict[str, float | None] = {}
    for key, value in ours.items():
        base = baseline.get(key)
        if key == "n" or not isinstance(base, (int, float)):
            continue
        out[key] = round(value / base, 3) if base else None
    return out
