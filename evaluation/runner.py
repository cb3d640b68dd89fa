"""The QA evaluation end to end: which store answers (the configured one, or a
corpus ingested into a temporary one), the engine, and the report."""

from __future__ import annotations

import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from core.errors import ConfigError
from evaluation.qa import evaluate_qa, evaluate_qa_retrieval, load_qa


@contextmanager
def answering_settings(
    settings: Any, corpus: Path | str | None, embedder: Any, keep: bool = False
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """The settings to answer with: as configured, or a temporary store holding `corpus`
    (`keep`: the configured home instead, ingested into and kept for the next run)."""
    if corpus is None:
        yield settings, {"store": str(settings.chroma_url or settings.home)}
        return
    from ingest import ingest
    from rag.factory import ingest_options
    from store import Store

    with tempfile.TemporaryDirectory(prefix="newsrag-eval-", ignore_cleanup_errors=True) as tmp:
        home = settings.home if keep else Path(tmp)
        temp = settings.model_copy(update={"home": home, "model_dir": settings.resolved_model_dir(), "chroma_url": None})
        store = Store.open(temp.home, embedder.identity, embedder.dimension, base=temp.collection)
        opts = ingest_options(settings)
        t0 = time.perf_counter()
        report = ingest([Path(corpus)], store, embedder, opts, progress=True)
        if report.articles_total == 0:
            reasons = "; ".join(f"{f['path']}: {f['reason']}" for f in report.failed[:3])
            raise ConfigError(f"no article could be ingested from {corpus}" + (f" ({reasons})" if reasons else ""))
        yield temp, {
            "store": f"{home if keep else 'temporary'}, ingested from {corpus}",
            "articles": report.articles_total,
            "chunks": report.chunks_total,
            "failed": report.failed,
            "ingest_s": round(time.perf_counter() - t0, 2),
        }


def run_qa(
    qa_path: Path | str,
    settings: Any,
    corpus: Path | str | None = None,
    retrieval_only: bool = False,
    llm: Any = None,
    embedder: Any = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """The QA report: accuracy, citation and refusal accuracy, latency, wrong rows, and
    (always, it is cheap) the retrieval-only check under "retrieval"."""
    from rag.engine import Engine
    from core.models import make_embedder

    rows = load_qa(qa_path)
    embedder = embedder or make_embedder(settings)
    with answering_settings(settings, corpus, embedder) as (s, corpus_info):
        engine = Engine.from_settings(s, llm=llm, embedder=embedder)
        if engine.store.is_empty():
            raise ConfigError("the store is empty: run `newsrag ingest <folder>` first, or pass --corpus <folder>")
        report: dict[str, Any] = {
            "dataset": str(qa_path),
            "corpus": corpus_info,
            "config": {"top_k": s.top_k, "chunk_tokens": s.chunk_tokens, "chunk_overlap": s.chunk_overlap,
                       "dense_k": s.dense_k, "keyword_k": s.keyword_k, "llm": s.llm if llm is None else getattr(llm, "name", "given"),
                       "threads": s.threads()},
        }
        report["retrieval"] = evaluate_qa_retrieval(rows, engine.retriever, s.top_k)
        if not retrieval_only:
            report.update(evaluate_qa(rows, engine, on_row))
    return report
