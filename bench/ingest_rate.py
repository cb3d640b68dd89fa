"""Ingest rate against the embedder's own, in one run.

    .venv/bin/python bench/ingest_rate.py                       # dev-small (725 articles)
    .venv/bin/python bench/ingest_rate.py --limit 40 --parts 2   # a quick look

1. `ingest()` the corpus into a temporary home, as `newsrag ingest` does (progress lines on stderr);
2. the bare embedder on the very chunk texts that ingest embedded, in the same batches (the same
   `batch_chunks` grouping, each batch sorted by length), timed alone.
The ratio is ingest chunks/s over embedder chunks/s; both are measured in this process, one after
the other, alternating over `--parts` slices of the corpus (each slice ingested into the same
store), so CPU noise from other users hits both alike. Then one small made-up article is added to
that store (>= 20k chunks for dev-small), timed with the model loaded. Nothing of the corpus is
written outside the temporary folder. JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEV_SMALL = REPO.parent / "shared/bench/realtimeqa/dev-small/corpus.jsonl"


def chunk_texts(path: Path, embedder, opts, limit: int) -> tuple[list[list[str]], int]:
    """What ingest embeds, grouped as its Batcher groups it: (batches, articles)."""
    from ingest.chunking import chunk_article
    from ingest.pipeline import load_file, token_counter

    count = token_counter(embedder)
    batches, batch, seen = [], [], set()
    articles = load_file(path, opts, [])[:limit] if limit else load_file(path, opts, [])
    for a in articles:
        if a.article_id in seen:
            continue
        seen.add(a.article_id)
        header = a.header()
        batch += [f"{header}\n{c.text}" if header else c.text for c in chunk_article(a, count, opts.chunk_tokens, opts.overlap)]
        if len(batch) >= opts.batch_chunks:
            batches.append(batch)
            batch = []
    return batches + ([batch] if batch else []), len(seen)


SMALL_ARTICLE = """Harbour council approves new ferry timetable

By Staff Reporter, The Example Gazette
March 3, 2026

The harbour council voted on Tuesday to add two evening ferry crossings from April, after commuters asked for later boats.

The extra crossings will cost about 40,000 euros a year, paid from the port's parking income, the council treasurer said.
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=DEV_SMALL)
    p.add_argument("--limit", type=int, default=0, help="first N articles only")
    p.add_argument("--parts", type=int, default=4, help="alternate embedder and ingest over this many slices of the corpus")
    p.add_argument("--batch", type=int, default=256, help="chunks embedded per batch (NEWSRAG_INGEST_BATCH)")
    args = p.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.path.insert(0, str(REPO))
    from core.models.minilm import MiniLMEmbedding
    from core.settings import available_cores
    from dataclasses import replace

    from core.settings import Settings
    from ingest import ingest
    from rag.factory import ingest_options
    from ingest.batches import embed_sorted
    from store import Store

    embedder = MiniLMEmbedding(threads=available_cores())
    opts = replace(ingest_options(Settings()), batch_chunks=args.batch, progress_every=30.0)
    with tempfile.TemporaryDirectory() as tmp:
        lines = Path(args.corpus).read_text(encoding="utf-8").splitlines(keepends=True)
        lines = lines[: args.limit] if args.limit else lines
        size = -(-len(lines) // args.parts)
        store = Store.open(Path(tmp) / "home", embedder.identity, embedder.dimension)
        embedder.get_text_embedding_batch(["warm-up"] * 8)
        runs, t_embed, t_ingest, n_chunks, n_articles = [], 0.0, 0.0, 0, 0
        for part in range(args.parts):
            corpus = Path(tmp) / f"part{part}.jsonl"
            corpus.write_text("".join(lines[part * size : (part + 1) * size]), encoding="utf-8")
            batches, articles = chunk_texts(corpus, embedder, opts, 0)
            chunks = sum(len(b) for b in batches)
            t0 = time.perf_counter()
            for b in batches:
                embed_sorted(embedder, b)
            e = time.perf_counter() - t0
            t0 = time.perf_counter()
            report = ingest([corpus], store, embedder, opts, progress=True)
            i = time.perf_counter() - t0
            assert report.ok and report.added == articles, report.summary()
            runs.append({"chunks": chunks, "embedder_s": round(e, 2), "ingest_s": round(i, 2), "ratio": round(e / i, 3),
                         "ingest_timings": report.timings})
            print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
            t_embed, t_ingest, n_chunks, n_articles = t_embed + e, t_ingest + i, n_chunks + chunks, n_articles + articles
        out = {
            "corpus": str(args.corpus), "articles": n_articles, "chunks": n_chunks, "batch_chunks": args.batch,
            "cores": available_cores(), "parts": runs, "embedder_chunks_per_s": round(n_chunks / t_embed, 2),
            "ingest_chunks_per_s": round(n_chunks / t_ingest, 2), "ratio": round(t_embed / t_ingest, 3),
        }
        # Adding one small article to the store just built (model loaded, as in a running app).
        small = Path(tmp) / "small" / "ferry.txt"
        small.parent.mkdir()
        small.write_text(SMALL_ARTICLE, encoding="utf-8")
        t0 = time.perf_counter()
        report = ingest([small], store, embedder, opts)
        out["add_one"] = {"store_chunks_before": n_chunks, "chunks_added": report.chunks_total - n_chunks,
                          "seconds": round(time.perf_counter() - t0, 3)}
        t0 = time.perf_counter()
        store.sync_keyword()  # what each ingest used to end with: the keyword index rebuilt from all of Chroma
        out["add_one"]["full_keyword_rebuild_s"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        stale = store.keyword_stale()
        out["add_one"]["fingerprint_check_s"] = round(time.perf_counter() - t0, 3)
        assert not stale
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
