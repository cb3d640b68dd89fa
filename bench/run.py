"""Both evaluations in one command, written to bench/out/ (JSON, Markdown, PNG).

    make bench                                  # = .venv/bin/python bench/run.py
    .venv/bin/python bench/run.py --no-llm      # retrieval only (minutes, no LLM)
    .venv/bin/python bench/run.py --sweep       # also the chunk-size / overlap sweep

- retrieval: `newsrag eval retrieval` on the RGB file, ours beside the
  llama-index-defaults baseline (out/retrieval.json, out/retrieval.png);
- qa: `newsrag eval qa` on the QA file, answering from a temporary store
  holding the corpus, with the configured LLM (out/qa.json);
- realtime: `newsrag eval qa` on a RealTimeQA slice (default dev-small), each question
  as of its date, time-aware and timeless arms over one store (out/realtime.json);
- stories (`--stories-home DIR`, a store holding RealTimeQA dev's corpus): `newsrag eval stories`
  on the storylines file, timeline answers beside factoid ones, with the corpus's ceilings and
  the events' and overview's timings (out/stories.json); skipped without a DEV home;
- latency (`--latency`): whole passages (NEWSRAG_CONTEXT_BUDGET=0) against the
  selected sentences, interleaved in one run, on the seed QA and RealTimeQA dev-small
  (out/latency.json); every QA report also holds its stage-by-stage latency budget;
- sweep: chunk tokens x overlap sentences, judged by the retrieval-only QA
  check on the corpus and by RGB (out/sweep.json);
- scale: bench/scale.py at a small size (`--scale-sizes`, default 20,000 chunks), its chunks and
  vectors copied from the RealTimeQA store (out/scale.json, out/scale.png; about a minute);
- out/summary.md: every table (bench/RESULTS.md is a committed copy of one run).

Settings come from the environment / .env, as for `newsrag`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SWEEP_TOKENS = (64, 96, 128, 160, 200, 240)
SWEEP_OVERLAP = (0, 1, 2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rgb", type=Path, default=SHARED / "bench/rgb/en_fact.json")
    p.add_argument("--qa", type=Path, default=SHARED / "eval/seed_qa.jsonl")
    p.add_argument("--corpus", type=Path, default=REPO / "data/articles")
    p.add_argument("--out", type=Path, default=REPO / "bench/out")
    p.add_argument("--no-llm", action="store_true", help="skip answering (the QA report keeps its retrieval-only check)")
    p.add_argument("--realtime", type=Path, default=SHARED / "bench/realtimeqa/dev-small", help="a RealTimeQA slice folder")
    p.add_argument("--realtime-home", type=Path, default=None, help="keep the slice's store here between runs (its ingest takes minutes)")
    p.add_argument("--realtime-limit", type=int, default=None, help="only the slice's first N questions")
    p.add_argument("--no-realtime", action="store_true", help="skip the RealTimeQA evaluation")
    p.add_argument("--stories", type=Path, default=SHARED / "bench/realtimeqa/storylines-dev.jsonl", help="a storyline file over RealTimeQA dev")
    p.add_argument("--stories-home", type=Path, default=None, help="a store already holding dev's corpus, to answer the storylines from (skipped without it)")
    p.add_argument("--sweep", action="store_true", help="also sweep chunk size and overlap")
    p.add_argument("--latency", action="store_true", help="also whole passages vs selected sentences, interleaved (bench/latency.py: seed QA + RealTimeQA dev-small)")
    p.add_argument("--rt-limit", type=int, default=40, help="with --latency: RealTimeQA questions")
    p.add_argument("--sweep-rgb", action="store_true", help="judge the sweep on RGB too (about 1.5 min per setting)")
    p.add_argument("--scale-sizes", default="20000", help="bench/scale.py's store sizes, from the RealTimeQA store's chunks ('' skips it)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from evaluation.report import qa_markdown, retrieval_markdown
    from evaluation.retrieval import evaluate_retrieval
    from evaluation.runner import run_qa
    from core.models import make_embedder
    from core.settings import Settings

    settings = Settings()
    embedder = make_embedder(settings)
    args.out.mkdir(parents=True, exist_ok=True)
    sections = [f"# newsrag bench\n\n{_machine()}"]

    _say("retrieval eval (ours + baseline)")
    retrieval = evaluate_retrieval(args.rgb, settings, embedder)
    retrieval["load_average"] = _load()
    _write(args.out / "retrieval.json", retrieval)
    chart(retrieval, args.out / "retrieval.png")
    sections.append("## Retrieval (RGB)\n\n" + retrieval_markdown(retrieval) + _retrieval_note(retrieval))

    _say("qa eval" + (" (retrieval-only check)" if args.no_llm else " (with the LLM: about 10 s a question)"))
    qa = run_qa(args.qa, settings, corpus=args.corpus, retrieval_only=args.no_llm, embedder=embedder, on_row=_row)
    _write(args.out / "qa.json", qa)
    sections.append(f"## QA ({settings.llm} LLM)\n\n" + qa_markdown(qa))

    rt_home = args.realtime_home or Path(tempfile.mkdtemp(prefix="newsrag-rt-"))  # kept for the scale run, then deleted
    if not args.no_realtime and args.realtime.is_dir():
        from evaluation.realtime import realtime_markdown, run_realtime

        _say("RealTimeQA eval, time-aware and timeless arms" + (" (retrieval only)" if args.no_llm else " (with the LLM)"))
        rt = run_realtime(args.realtime, settings, with_llm=not args.no_llm, limit=args.realtime_limit,
                          home=rt_home, embedder=embedder)
        _write(args.out / "realtime.json", rt)
        sections.append("## News in time (RealTimeQA)\n\n" + realtime_markdown(rt))
    sections.append("## Scale (synthetic stores)\n\n" + run_scale_section(args, rt_home))
    if args.realtime_home is None:
        shutil.rmtree(rt_home, ignore_errors=True)
    sections.append("## Story answers (RealTimeQA storylines)\n\n" + run_stories_section(args, settings, embedder))
    if args.latency:
        _say("latency: whole passages vs selected sentences, interleaved, seed QA + RealTimeQA dev-small")
        sys.path.insert(0, str(REPO / "bench"))
        import latency

        latency.main(["--rt-limit", str(args.rt_limit), "--out", str(args.out / "latency.json")])
        sections.append("## Time to first token: whole passages vs selected sentences\n\n" + latency.markdown(json.loads((args.out / "latency.json").read_text())))

    if args.sweep:
        sweep = run_sweep(args, settings, embedder)
        _write(args.out / "sweep.json", sweep)
        sections.append("## Chunk size / overlap sweep\n\n" + sweep_markdown(sweep))

    (args.out / "summary.md").write_text("\n\n".join(sections) + "\n")
    print((args.out / "summary.md").read_text())
    print(f"written: {', '.join(str(p.relative_to(REPO)) for p in sorted(args.out.iterdir()))}", file=sys.stderr)
    return 0


def run_scale_section(args: argparse.Namespace, source: Path) -> str:
    """bench/scale.py at `--scale-sizes`, its chunks and vectors copied from the RealTimeQA store."""
    if not args.scale_sizes or not (source / "chroma").exists():
        why = "--scale-sizes ''" if not args.scale_sizes else "no RealTimeQA store to copy chunks from (--no-realtime)"
        _say(f"scale skipped: {why}")
        return f"Skipped: {why}."
    sys.path.insert(0, str(REPO / "bench"))
    import scale

    _say(f"scale: synthetic stores of {args.scale_sizes} chunks from {source}")
    with tempfile.TemporaryDirectory(prefix="newsrag-scale-") as root:
        scale.main(["--source", str(source), "--sizes", args.scale_sizes, "--root", root, "--out", str(args.out)])
    rows = json.loads((args.out / "scale.json").read_text())
    return scale.markdown(rows) + "\n\nCopies of the RealTimeQA store's chunks (bench/scale.py says how they differ from a real store)."


def run_stories_section(args: argparse.Namespace, settings: Any, embedder: Any) -> str:
    """`newsrag eval stories` on the storylines, when a store holding dev's corpus is given; else why not."""
    if args.stories_home is None or args.no_llm:
        why = ("--no-llm (story answers need the LLM)" if args.no_llm else
               "no --stories-home: pass a store holding RealTimeQA dev's corpus (ingesting it takes long; once, e.g. "
               "`newsrag eval qa ../shared/bench/realtimeqa/dev --home DIR --retrieval-only --limit 1`)")
        _say(f"story answers skipped: {why}")
        return f"Skipped: {why}."
    from evaluation.stories import run_stories, stories_markdown

    _say(f"story answers on {args.stories.name}, timeline and factoid, from {args.stories_home}")
    report = run_stories(args.stories, settings, home=args.stories_home, embedder=embedder)
    _write(args.out / "stories.json", report)
    return stories_markdown(report)


def run_sweep(args: argparse.Namespace, settings: Any, embedder: Any) -> list[dict[str, Any]]:
    from evaluation.retrieval import evaluate_retrieval
    from evaluation.runner import run_qa

    rows = []
    for tokens in SWEEP_TOKENS:
        for overlap in SWEEP_OVERLAP:
            _say(f"sweep: chunk_tokens {tokens}, overlap {overlap}")
            s = settings.model_copy(update={"chunk_tokens": tokens, "chunk_overlap": overlap})
            qa = run_qa(args.qa, s, corpus=args.corpus, retrieval_only=True, embedder=embedder)
            row = {"chunk_tokens": tokens, "overlap": overlap, "chunks": qa["corpus"]["chunks"], "qa_retrieval": qa["retrieval"]}
            if args.sweep_rgb and overlap == settings.chunk_overlap:
                row["rgb"] = evaluate_retrieval(args.rgb, s, embedder, baseline=False)["ours"]
            rows.append(row)
    return rows


def sweep_markdown(rows: list[dict[str, Any]]) -> str:
    from evaluation.tables import table

    k = rows[0]["qa_retrieval"]["top_k"]
    head = ["chunk tokens", "overlap", "chunks", "QA hits@1", "QA hits@3", f"QA hits@{k}", "QA mrr@10",
            f"context chars @{k}", f"~prompt s @{k}"]
    rgb = any("rgb" in r for r in rows)
    if rgb:
        head += ["RGB hits@1", "RGB hits@3", "RGB mrr@10"]
    from core.text import CHARS_PER_TOKEN

    body = []
    for r in rows:
        q, g = r["qa_retrieval"], r.get("rgb", {})
        body.append([r["chunk_tokens"], r["overlap"], r["chunks"], q["hits@1"], q["hits@3"], q[f"hits@{k}"], q["mrr@10"],
                     q["context_chars_mean"], round(q["context_chars_mean"] / CHARS_PER_TOKEN / 70, 1)]
                    + ([g.get("hits@1"), g.get("hits@3"), g.get("mrr@10")] if rgb else []))
    note = (f"\n\nQA columns: the seed questions over the sample corpus, retrieval only (is the source passage holding an "
            f"accepted answer in the top k?). ~prompt s: the passages' share of the time to first token with the embedded "
            f"LLM on 2 cores (about {CHARS_PER_TOKEN} characters a token, 70 prompt tokens a second).")
    return table(head, body) + note


def chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ["hits@1", "hits@3", "hits@10", "mrr@10"]
    fig, (ax, lat) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [2, 1]})
    width = 0.38
    xs = range(len(keys))
    systems = [("ours (hybrid)", report["ours"], "#1f77b4")]
    if "baseline" in report:
        systems.append(("llama-index defaults", report["baseline"], "#bbbbbb"))
    for i, (name, m, color) in enumerate(systems):
        bars = ax.bar([x + (i - 0.5) * width for x in xs], [m[k] for k in keys], width, label=name, color=color)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
        lbars = lat.bar([x + (i - 0.5) * width for x in range(2)], [m["p50_ms"], m["p95_ms"]], width, color=color)
        lat.bar_label(lbars, fmt="%.0f", fontsize=8)
    ax.set_xticks(list(xs), keys)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"RGB retrieval, {report['ours']['n']} queries")
    ax.legend(loc="lower right")
    lat.set_xticks([0, 1], ["p50", "p95"])
    lat.set_title("latency (ms, query embedding included)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _retrieval_note(r: dict[str, Any]) -> str:
    cfg = r["config"]
    return (
        f"\n\nOurs: dense top {cfg['dense_k']} + BM25 top {cfg['keyword_k']}, RRF k={cfg['rrf_k']}, number boost "
        f"{cfg['number_boost']} over the best {cfg['rerank_depth']}, near-duplicate collapse at 3-gram Jaccard "
        f"{cfg['dedupe_jaccard']}; chunks of {cfg['chunk_tokens']} tokens. Baseline: llama-index `SentenceSplitter()` "
        f"defaults, in-memory `VectorStoreIndex`, `similarity_top_k=10`, same embedder. Index build: ours "
        f"{r['corpus']['index_s']} s, baseline {r['corpus'].get('baseline_index_s', '-')} s. Load average during the run: "
        f"{r.get('load_average', '-')}."
    )


def _machine() -> str:
    from core.settings import available_cores

    return f"{platform.platform()}, Python {platform.python_version()}, {available_cores()} cores, run {time.strftime('%Y-%m-%d %H:%M')}."


def _load() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "-"


def _row(row: dict[str, Any]) -> None:
    print(f"  {row['id']}: {'ok' if not row['why'] else row['why']} ({row['total_s'] or 0:.1f} s)", file=sys.stderr)


def _say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _write(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.exit(main())
