"""MiniLM's ceiling: ONNX Runtime session options, threads and batch shapes.

    .venv/bin/python bench/embed_options.py --texts 128 --rounds 2

Each variant embeds the same chunk texts of dev-small (as ingest makes them, sorted by
length as ingest's batches are); variants run round-robin, `--rounds` times, so noise
from other users spreads over all of them; the median chunks/s is reported beside the
default's, with the lowest cosine to today's vectors (batches of 8 in corpus order).
JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--texts", type=int, default=128)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--only", default="", help="comma-separated words: run only the variants naming one (and today's)")
    args = p.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import numpy as np
    import onnxruntime as ort

    from core.models.minilm import MiniLMEmbedding, _files
    from core.settings import Settings, available_cores
    from ingest_rate import DEV_SMALL, chunk_texts
    from rag.factory import ingest_options

    cores = available_cores()
    emb = MiniLMEmbedding(threads=cores)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp) / "c.jsonl"
        with open(DEV_SMALL, encoding="utf-8") as f:
            part.write_text("".join(next(f) for _ in range(12)), encoding="utf-8")
        batches, _ = chunk_texts(part, emb, ingest_options(Settings()), 0)
    texts = [t for b in batches for t in b][: args.texts]
    today = np.concatenate([emb._run(texts[i : i + 8]) for i in range(0, len(texts), 8)])
    ordered = sorted(texts, key=len, reverse=True)
    back = np.argsort(sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True))
    model = str(_files()[0])

    def session(threads: int = cores, level: str = "ALL", mode: str = "SEQUENTIAL", spin: bool = True, inter: int = 0) -> object:
        o = ort.SessionOptions()
        o.intra_op_num_threads = threads
        o.inter_op_num_threads = inter
        o.graph_optimization_level = getattr(ort.GraphOptimizationLevel, f"ORT_ENABLE_{level}" if level != "DISABLE" else "ORT_DISABLE_ALL")
        o.execution_mode = getattr(ort.ExecutionMode, f"ORT_{mode}")
        o.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        o.log_severity_level = 3
        return ort.InferenceSession(model, o, providers=["CPUExecutionProvider"])

    variants = {
        "today: batch 8, corpus order": (session(), 8, False),
        "batch 8, sorted (ingest now)": (session(), 8, True),
        "batch 4, sorted": (session(), 4, True),
        "batch 16, sorted": (session(), 16, True),
        "batch 32, sorted": (session(), 32, True),
        "batch 8, sorted, 1 thread": (session(threads=1), 8, True),
        "batch 8, sorted, no spinning": (session(spin=False), 8, True),
        "batch 8, sorted, graph EXTENDED": (session(level="EXTENDED"), 8, True),
        "batch 8, sorted, graph BASIC": (session(level="BASIC"), 8, True),
        "batch 8, sorted, PARALLEL, inter 2": (session(mode="PARALLEL", inter=2), 8, True),
        # Ingest's own call (MiniLMEmbedding.embed_batch's bulk path): a 1-thread session, one batch per core at once.
        "batch 8, sorted, 1-thread session, batches in parallel": (None, 8, True),
    }
    if args.only:
        words = args.only.split(",")
        variants = {k: v for k, v in variants.items() if k.startswith("today") or any(w in k for w in words)}
    emb.embed_batch(texts[:16])  # builds the bulk path's session outside the timing
    rates: dict[str, list[float]] = {k: [] for k in variants}
    cosines: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, (sess, batch, sort) in variants.items():
            src = ordered if sort else texts
            t0 = time.perf_counter()
            if sess is None:
                got = emb.embed_batch(src)
            else:
                got = np.concatenate([emb._run(src[i : i + batch], sess) for i in range(0, len(src), batch)])
            rates[name].append(len(src) / (time.perf_counter() - t0))
            vec = got[back] if sort else got
            cosines[name] = float(min((vec * today).sum(axis=1)))
    base = statistics.median(rates["today: batch 8, corpus order"])
    out = {name: {"chunks_per_s": round(statistics.median(r), 2), "vs_today": round(statistics.median(r) / base, 3),
                  "min_cosine": round(cosines[name], 5)} for name, r in rates.items()}
    print(json.dumps({"texts": len(texts), "rounds": args.rounds, "cores": cores, "variants": out}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
