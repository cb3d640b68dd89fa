"""`newsrag eval retrieval`: Hits@k, MRR@10 and latency, ours beside a llama-index baseline.

Both sides index the same snippets with the same embedder, in their own
temporary stores; latency is the whole retrieval call (query embedding
included, no LLM).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from evaluation.metrics import first_relevant_rank, ranking_summary, ratios
from evaluation.rgb import RGBData, build_baseline, build_store, load_rgb, snippet_articles, snippet_of
from rag import factory

DEPTH = 10  # every figure is computed on the first 10 results


def run_queries(data: RGBData, search: Callable[[str], list[int]]) -> dict[str, float]:
    search(data.queries[0].query)  # warm-up, not counted (first ONNX run, index load)
    ranks: list[int | None] = []
    latencies: list[float] = []
    for q in data.queries:
        t0 = time.perf_counter()
        found = search(q.query)
        latencies.append(time.perf_counter() - t0)
        ranks.append(first_relevant_rank(found[:DEPTH], q.positives))
    return ranking_summary(ranks, latencies)


def evaluate_retrieval(
    rgb: Path | str,
    settings: Any,
    embedder: Any = None,
    baseline: bool = True,
) -> dict[str, Any]:
    """The retrieval report: {"ours": {...}, "baseline": {...}, "ratio": {...}, "corpus": {...}}."""
    from core.models import make_embedder

    data = load_rgb(rgb)
    embedder = embedder or make_embedder(settings)
    deep = settings.model_copy(update={"top_k": DEPTH})  # the app's retrieval, asked for DEPTH results
    cfg = factory.retrieval_config(deep)
    report: dict[str, Any] = {
        "dataset": str(rgb),
        "corpus": {"snippets": len(data.snippets), "queries": len(data.queries), "skipped_rows": data.skipped},
        "config": {
            "embedder": embedder.identity,
            "chunk_tokens": settings.chunk_tokens,
            "chunk_overlap": settings.chunk_overlap,
            **{k: v for k, v in cfg.__dict__.items() if k != "top_k"},
        },
    }
    report["corpus"].update(warm_up(data, embedder, settings, baseline))
    with tempfile.TemporaryDirectory(prefix="newsrag-eval-", ignore_cleanup_errors=True) as tmp:
        # Built in the order ours, baseline, baseline, ours ("ABBA"), so that neither side always
        # runs first and a drift in the machine's speed during the run falls on both alike; a
        # build on this 2-core machine varies by 10-15% (bench/README.md). index_s and
        # baseline_index_s are each side's mean; the first build of each is the one queried.
        def ours(name: str, timings: dict[str, float] | None = None) -> Any:
            t0 = time.perf_counter()
            built = build_store(snippet_articles(data), Path(tmp) / name, embedder, settings.chunk_tokens,
                                settings.chunk_overlap, timings=timings)
            ours_s.append(time.perf_counter() - t0)
            return built

        def theirs() -> Callable[[str], list[int]]:
            t0 = time.perf_counter()
            built = build_baseline(data, embedder, DEPTH)
            base_s.append(time.perf_counter() - t0)
            return built

        ours_s: list[float] = []
        base_s: list[float] = []
        budget: dict[str, float] = {}
        store = ours("a", budget)
        report["corpus"]["chunks"] = store.chunks.count()
        search_baseline = None
        if baseline:
            search_baseline, _ = theirs(), theirs()
            ours("b")
            report["corpus"]["baseline_index_s"] = round(sum(base_s) / len(base_s), 2)
            report["corpus"]["baseline_index_runs_s"] = [round(x, 2) for x in base_s]
        report["corpus"]["index_s"] = round(sum(ours_s) / len(ours_s), 2)
        report["corpus"]["index_runs_s"] = [round(x, 2) for x in ours_s]
        # Where the first build's time goes: chunking, the embedder, the writes (on a thread beside
        # it: only write_wait_s and write_drain_s add to the build), the keyword check; embed_share = embed_s / that build.
        report["corpus"]["index_budget"] = {**budget, "embed_share": round(budget["embed_s"] / max(ours_s[0], 1e-9), 3)}
        retriever = factory.retriever(deep, store, embedder)
        report["ours"] = run_queries(data, lambda q: [snippet_of(p) for p in retriever.retrieve(q, DEPTH)])
    if search_baseline is not None:
        report["baseline"] = run_queries(data, search_baseline)
        report["ratio"] = ratios(report["ours"], report["baseline"])
    return report


WARM_UP_SNIPPETS = 8


def warm_up(data: RGBData, embedder: Any, settings: Any, baseline: bool) -> dict[str, float]:
    """Index a few snippets both ways, untimed, before the timed builds: one-time loads (NLTK and
    its Punkt tables, Chroma's client, llama-index's splitter and tokenizer) would otherwise land
    in whichever side runs first. index_s and baseline_index_s then compare the per-snippet work.
    Returns the warm-up's own seconds (warmup_s, baseline_warmup_s), which hold those loads."""
    few = replace(data, snippets=data.snippets[:WARM_UP_SNIPPETS])
    out = {}
    with tempfile.TemporaryDirectory(prefix="newsrag-warm-", ignore_cleanup_errors=True) as tmp:
        t0 = time.perf_counter()
        build_store(snippet_articles(few), Path(tmp), embedder, settings.chunk_tokens, settings.chunk_overlap)
        out["warmup_s"] = round(time.perf_counter() - t0, 2)
    if baseline:
        t0 = time.perf_counter()
        build_baseline(few, embedder)
        out["baseline_warmup_s"] = round(time.perf_counter() - t0, 2)
    return out
