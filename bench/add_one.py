"""Adding one small article to a big store: seconds beyond model load.

    .venv/bin/python bench/add_one.py            # a store of dev-small's chunks (>= 20k), then 3 small articles

The big store holds dev-small's real chunk texts and metadata (three times over, the
copies under other urls, so other article ids), written through the
store's own batched write path; their vectors are seeded random unit vectors, because
embedding 21k chunks takes over an hour on this shared 2-core machine and what is timed
here is the store's work (Chroma's HNSW insert, the keyword index, the manifest), not
vectors' values. The small articles are then ingested by `ingest()` with the real
embedder, already loaded (as in a running app). For comparison: what each ingest used to
end with (the keyword index rebuilt from all of Chroma) and a full fingerprint check.
JSON on stdout; nothing of the corpus is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEV_SMALL = REPO.parent / "shared/bench/realtimeqa/dev-small/corpus.jsonl"

SMALL = """{title}

By Staff Reporter, The Example Gazette
March {day}, 2026

The harbour council voted on Tuesday to add {n} evening ferry crossings from April, after commuters asked for later boats.

The extra crossings will cost about {n}0,000 euros a year, paid from the port's parking income, the council treasurer said.
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=DEV_SMALL)
    p.add_argument("--adds", type=int, default=3)
    p.add_argument("--copies", type=int, default=3, help="dev-small's articles this many times (other urls): >= 20k chunks")
    args = p.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import numpy as np

    from core.models.minilm import MiniLMEmbedding
    from core.settings import Settings, available_cores
    from ingest import ingest, load_file
    from rag.factory import ingest_options
    from ingest.chunking import chunk_article
    from ingest.pipeline import token_counter
    from store import Store

    embedder = MiniLMEmbedding(threads=available_cores())
    rng = np.random.default_rng(14)
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "home", embedder.identity, embedder.dimension)
        t0 = time.perf_counter()
        opts = ingest_options(Settings())
        articles = load_file(args.corpus, opts, [])
        count = token_counter(embedder)
        with store.writer():
            batch: list = []
            copies = [replace(a, url=f"{a.url}#copy{k}" if k else a.url) for k in range(args.copies) for a in articles]
            for a in {a.article_id: a for a in copies}.values():
                chunks = chunk_article(a, count, opts.chunk_tokens, opts.overlap)
                v = rng.standard_normal((len(chunks), embedder.dimension)).astype(np.float32)
                batch.append((a, chunks, v / np.linalg.norm(v, axis=1, keepdims=True)))
                if sum(len(c) for _, c, _ in batch) >= 1000:
                    store.write_articles(batch)
                    batch = []
            store.write_articles(batch)
        out["store"] = {"articles": len(store.manifest.articles()), "chunks": store.chunks.count(),
                        "build_s": round(time.perf_counter() - t0, 1)}
        print(json.dumps(out["store"]), file=sys.stderr, flush=True)
        adds = []
        for i in range(args.adds):
            folder = Path(tmp) / f"new{i}"
            folder.mkdir()
            (folder / "ferry.txt").write_text(SMALL.format(title=f"Harbour council approves ferry timetable {i}", day=i + 2, n=i + 2))
            t0 = time.perf_counter()
            report = ingest([folder], store, embedder, opts)
            wall = time.perf_counter() - t0
            assert report.ok and report.added == 1, report.summary()
            adds.append({"seconds": round(wall, 3), "chunks_added": report.chunks_total - out["store"]["chunks"] - i,
                         "timings": report.timings})
            print(json.dumps(adds[-1]), file=sys.stderr, flush=True)
        out["add_one"] = adds
        t0 = time.perf_counter()
        store.sync_keyword()
        out["full_keyword_rebuild_s"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        assert not store.keyword_stale()
        out["fingerprint_check_s"] = round(time.perf_counter() - t0, 3)
        hits = store.lexical("ferry timetable harbour council", 3)
        assert hits and hits[0][0].split(":")[0] in {r.id for r in store.manifest.articles()}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
