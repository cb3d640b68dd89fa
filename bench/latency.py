"""Time to first word, whole passages against selected sentences, in ONE run, interleaved.

    .venv/bin/python bench/latency.py                                  # seed QA + RealTimeQA dev-small (40)
    .venv/bin/python bench/latency.py --rt-limit 20 --no-seed

One process, one loaded LLM, one store per dataset. Each question is answered by
both arms back to back: `whole` (NEWSRAG_CONTEXT_BUDGET=0) and `selected` (the
context budget as configured), whole first on even questions, selected first on odd
ones, so neither always finds the other's prompt in llama.cpp's cache). The machine
is shared and noisy, so what counts are the ratios within this run: p50 of the
selected arm's time to first token over the whole arm's, and the median of the
per-question ratios. Accuracy is scored as `newsrag eval qa` scores it.
Rows are written to bench/out/latency.json as they come (a long run can be cut short).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ARMS = ("whole", "selected")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--qa", type=Path, default=SHARED / "eval/seed_qa.jsonl")
    p.add_argument("--corpus", type=Path, default=REPO / "data/articles")
    p.add_argument("--slice", type=Path, default=SHARED / "bench/realtimeqa/dev-small")
    p.add_argument("--home", type=Path, default=REPO / ".newsrag" / "bench-dev-small", help="the slice's store (ingested on first use, kept for the next run)")
    p.add_argument("--rt-limit", type=int, default=40)
    p.add_argument("--no-ingest", action="store_true", help="answer from --home as it is (no idempotent re-ingest of the slice first)")
    p.add_argument("--no-seed", action="store_true")
    p.add_argument("--no-rt", action="store_true")
    p.add_argument("--out", type=Path, default=REPO / "bench/out/latency.json")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from core.models import make_embedder, make_llm
    from core.settings import Settings

    settings = Settings()
    embedder = make_embedder(settings)
    llm = make_llm(settings)  # loaded once, shared by both arms
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "llm": llm.name, "threads": settings.threads(),
                              "context_budget": settings.context_budget, "context_neighbours": settings.context_neighbours}
    if not args.no_seed:
        report["seed"] = seed_run(args, settings, embedder, llm, report)
    if not args.no_rt:
        report["realtimeqa"] = rt_run(args, settings, embedder, llm, report)
    _write(args.out, report)
    print(markdown(report))
    return 0


def arms(settings: Any, llm: Any, embedder: Any) -> dict[str, Any]:
    """The engine as configured (the model reads the question's sentences), and the same
    engine reading whole passages (NEWSRAG_CONTEXT_BUDGET=0)."""
    from rag.engine import Engine

    selected = Engine.from_settings(settings, llm=llm, embedder=embedder)
    base = Engine(selected.store, embedder, lambda: selected.llm, settings=settings.model_copy(update={"context_budget": 0}))
    return {"whole": base, "selected": selected}


def interleave(items: list[Any], engines: dict[str, Any], ask: Any, section: dict[str, Any], out: Path, report: dict[str, Any]) -> None:
    for i, item in enumerate(items):
        for arm in ARMS if i % 2 == 0 else ARMS[::-1]:
            row = ask(engines[arm], item)
            section["rows"][arm].append(row)
            print(f"  [{arm}] {row['id']}: {'ok' if row['correct'] else 'WRONG'} ttft {row.get('ttft_s') or 0:.1f} s "
                  f"prompt {row.get('llm', {}).get('prompt_tokens', '?')} tok", file=sys.stderr, flush=True)
        _write(out, report)
    section.update(summarize(section["rows"]))


def seed_run(args: argparse.Namespace, settings: Any, embedder: Any, llm: Any, report: dict[str, Any]) -> dict[str, Any]:
    from evaluation.qa import load_qa, score_answer
    from evaluation.runner import answering_settings

    rows = load_qa(args.qa)
    section: dict[str, Any] = {"dataset": str(args.qa), "rows": {a: [] for a in ARMS}}
    report["seed"] = section
    with answering_settings(settings, args.corpus, embedder) as (s, _):
        interleave(rows, arms(s, llm, embedder), lambda e, r: score_answer(r, e.answer(r.question)), section, args.out, report)
    return section


def rt_run(args: argparse.Namespace, settings: Any, embedder: Any, llm: Any, report: dict[str, Any]) -> dict[str, Any]:
    from evaluation.realtime import load_slice, score_row
    from evaluation.runner import answering_settings

    rows = load_slice(args.slice, args.rt_limit)
    section: dict[str, Any] = {"dataset": str(args.slice), "rows": {a: [] for a in ARMS}}
    report["realtimeqa"] = section
    base = settings.model_copy(update={"home": args.home, "model_dir": settings.resolved_model_dir(), "chroma_url": None,
                                       "max_file_mb": max(settings.max_file_mb, 200.0)})
    corpus = None if args.no_ingest else args.slice / "corpus.jsonl"
    with answering_settings(base, corpus, embedder, keep=True) as (s, _):
        def ask(engine: Any, r: Any) -> dict[str, Any]:
            row = score_row(r, engine.answer(r.question, as_of=r.as_of))
            row.pop("passages_given", None)
            return row

        interleave(rows, arms(s, llm, embedder), ask, section, args.out, report)
    return section


def summarize(rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    from evaluation.latency import latency_budget
    from evaluation.metrics import percentile

    out: dict[str, Any] = {}
    for arm, rs in rows.items():
        ttft = [r["ttft_s"] for r in rs if r.get("ttft_s") is not None]
        out[arm] = {
            "n": len(rs), "correct": sum(r["correct"] for r in rs),
            "ttft_p50_s": round(percentile(ttft, 50), 2), "ttft_p95_s": round(percentile(ttft, 95), 2),
            "latency_budget": latency_budget(rs),
        }
    b, f = out["whole"], out["selected"]
    pairs = [(x["ttft_s"], y["ttft_s"]) for x, y in zip(rows["whole"], rows["selected"]) if x.get("ttft_s") and y.get("ttft_s")]
    out["ratio_ttft_p50"] = round(f["ttft_p50_s"] / b["ttft_p50_s"], 3) if b["ttft_p50_s"] else None
    out["ratio_ttft_median_per_question"] = round(statistics.median(y / x for x, y in pairs), 3) if pairs else None
    return out


def markdown(report: dict[str, Any]) -> str:
    from evaluation.tables import table

    lines = [f"Latency, whole passages vs selected sentences, one run ({report['started']}, {report['llm']}, {report['threads']} threads, "
             f"context budget {report['context_budget']} tokens)."]
    body = []
    for name in ("seed", "realtimeqa"):
        sec = report.get(name)
        if not sec or "whole" not in sec:
            continue
        for arm in ARMS:
            a = sec[arm]
            lb = a["latency_budget"]
            body.append([name, arm, a["n"], a["correct"], a["ttft_p50_s"], a["ttft_p95_s"],
                         (lb.get("prompt_tokens") or {}).get("p50"), (lb.get("prompt_read_s") or {}).get("p50"),
                         (lb.get("total_s") or {}).get("p50")])
        body.append([name, "selected / whole", "", "", sec["ratio_ttft_p50"], "", "", "", f"per-question median {sec['ratio_ttft_median_per_question']}"])
    lines.append(table(["data", "arm", "n", "correct", "ttft p50 s", "ttft p95 s", "prompt tok p50", "prompt read p50 s", "total p50 s"], body))
    return "\n\n".join(lines)


def _write(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.exit(main())
