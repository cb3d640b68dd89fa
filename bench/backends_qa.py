"""Seed-QA score and time per question of several LLM backends over one store.

    .venv/bin/python bench/backends_qa.py --llm extractive --llm embedded --llm openai-compatible --serve-local
    .venv/bin/python bench/backends_qa.py --llm embedded --compare-revise   # second try off vs on, one run

Ingests the corpus into a fresh temporary home (embedded embedder), then asks
every question with each backend through `rag.engine.Engine`. `--serve-local`
starts llama.cpp's OpenAI-compatible HTTP server on 127.0.0.1 (xllamacpp) with
the bundled GGUF, the same parameters as the embedded backend, and points
`openai-compatible` at it; otherwise NEWSRAG_LLM_BASE_URL etc. apply.

A row scores when: answerable rows are answered, the text contains one of
`answer_any` (case-insensitive) and every citation points at the row's
`source` file; unanswerable rows are declined (`answerable == False`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def score(row: dict[str, Any], a: Any) -> dict[str, Any]:
    if row.get("unanswerable"):
        ok = not a.answerable
        return {"ok": ok, "said": ok, "cited": ok}
    said = a.answerable and any(x.lower() in a.text.lower() for x in row["answer_any"])
    cited = bool(a.citations) and all(c.path.endswith(row["source"]) for c in a.citations)
    return {"ok": said and cited, "said": said, "cited": cited}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--llm", action="append", required=True, help="backend name (repeatable)")
    p.add_argument("--qa", type=Path, default=REPO.parent / "shared" / "eval" / "seed_qa.jsonl")
    p.add_argument("--corpus", type=Path, default=REPO / "data" / "articles")
    p.add_argument("--serve-local", action="store_true", help="serve the bundled GGUF over HTTP for openai-compatible")
    p.add_argument("--json", type=Path, help="also write every answer here")
    p.add_argument("--compare-revise", action="store_true", help="run each backend with the second try off, then on (NEWSRAG_REVISE)")
    args = p.parse_args(argv)

    from ingest import ingest
    from rag.factory import ingest_options
    from rag.engine import Engine
    from core.models import make_embedder, make_llm
    from core.models.gguf import ensure_model
    from core.settings import Settings
    from store import Store

    rows = [json.loads(line) for line in args.qa.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-") as home, contextlib.ExitStack() as stack:
        base = Settings(home=Path(home), embed="embedded")
        embedder = make_embedder(base)
        store = Store.open(base.home, embedder.identity, embedder.dimension)
        report = ingest([args.corpus], store, embedder, ingest_options(base))
        assert report.ok, report.failed
        overrides: dict[str, Any] = {}
        if args.serve_local and "openai-compatible" in args.llm:
            from tests.servers import llama_server

            srv = stack.enter_context(llama_server(ensure_model(base.resolved_model_dir()), base.threads(), base.llm_context))
            overrides = {"llm_base_url": srv.url, "llm_model": srv.model}
            print(f"llama.cpp server: {srv.url} ({Path(srv.model).name})", file=sys.stderr)
        results: dict[str, list[dict[str, Any]]] = {}
        labels = []
        for name in args.llm:
            settings = base.model_copy(update={"llm": name, **(overrides if name == "openai-compatible" else {})})
            t0 = time.perf_counter()
            llm = make_llm(settings)
            load_s = time.perf_counter() - t0
            for revise in (False, True) if args.compare_revise else (settings.revise,):
                label = f"{name}, second try {'on' if revise else 'off'}" if args.compare_revise else name
                engine = Engine(store, embedder, llm, settings=settings.model_copy(update={"revise": revise}))
                out = []
                for row in rows:
                    a = engine.answer(row["question"])
                    r = a.revision
                    out.append({
                        "id": row["id"], **score(row, a), "text": a.text, "error": a.error, "s": a.timings.get("total_s", 0.0),
                        "flagged": len(a.unsupported), "tried": r is not None, "kept": bool(r and r.kept),
                        "draft": r.draft if r else None, "revise_s": a.timings.get("revise_s"),
                    })
                    print(f"{label:<18} {row['id']} {'ok ' if out[-1]['ok'] else 'BAD'} {out[-1]['s']:6.2f}s  {a.error or a.text[:90]!r}", file=sys.stderr)
                results[label] = out
                results[label + ":load_s"] = load_s  # type: ignore[assignment]
                labels.append(label)
    print_table(labels, results, len(rows))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


def print_table(names: list[str], results: dict[str, Any], n: int) -> None:
    print("| backend | score | answer text right | citations right | flagged sentences | second tries (kept) | s/question (mean) | s/question (max) | load s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        out = results[name]
        times = [r["s"] for r in out]
        print(
            f"| {name} | {sum(r['ok'] for r in out)}/{n} | {sum(r['said'] for r in out)}/{n} | {sum(r['cited'] for r in out)}/{n} "
            f"| {sum(r['flagged'] for r in out)} | {sum(r['tried'] for r in out)} ({sum(r['kept'] for r in out)}) "
            f"| {statistics.mean(times):.2f} | {max(times):.2f} | {results[name + ':load_s']:.1f} |"
        )
    for name in names:
        for r in results[name]:
            if r["tried"]:
                print(f"\n{name} {r['id']}: second try {'kept' if r['kept'] else 'not kept'} in {r['revise_s'] or 0:.2f} s: {r['draft']!r} -> {r['text']!r}")
    for i, a_name in enumerate(names):
        for b_name in names[i + 1 :]:
            if a_name.split(", ")[1:] != b_name.split(", ")[1:] and a_name.split(", ")[0] != b_name.split(", ")[0]:
                continue  # compare a backend with itself, or two backends in the same mode
            same = sum(a["text"] == b["text"] for a, b in zip(results[a_name], results[b_name]))
            print(f"\nidentical answer texts, {a_name} vs {b_name}: {same}/{n}")


if __name__ == "__main__":
    sys.exit(main())
