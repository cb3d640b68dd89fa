"""`newsrag eval retrieval --rgb PATH` and `newsrag eval qa PATH.jsonl` (issue #3)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("eval", help="measure retrieval (RGB file) or answers (QA file)")
    ev = p.add_subparsers(dest="eval_command", required=True)

    s = ev.add_parser("retrieval", help="Hits@1/3/10, MRR@10 and latency on an RGB file, beside a llama-index baseline")
    s.add_argument("--rgb", type=Path, required=True, help="RGB-shaped JSON lines: query, positive, negative")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--no-baseline", action="store_true", help="skip the llama-index baseline (halves the run time)")
    s.set_defaults(func=cmd_eval_retrieval)

    s = ev.add_parser("qa", help="accuracy, citations, refusals and latency of answers on a QA file")
    s.add_argument("path", type=Path, help="JSON lines: question, answer_any, source (or unanswerable: true); or a RealTimeQA slice folder (qa.jsonl + corpus.jsonl)")
    s.add_argument("--corpus", type=Path, default=None, help="ingest this folder into a temporary store and answer from it (default: the configured store)")
    s.add_argument("--retrieval-only", action="store_true", help="only check that the answer-bearing passage is retrieved (no LLM)")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--limit", type=int, default=None, help="RealTimeQA: only the first N questions")
    s.add_argument("--sample", type=int, default=None, help="RealTimeQA: N questions spread evenly over the slice (every k-th), for a shorter run on a big slice")
    s.add_argument("--home", type=Path, default=None, help="RealTimeQA: ingest the slice into this store folder and reuse it next time (default: a temporary one)")
    s.add_argument("--no-compare", action="store_true", help="RealTimeQA: skip the run with the time features off")
    s.set_defaults(func=cmd_eval_qa)


def cmd_eval_retrieval(args: argparse.Namespace, settings: Any) -> int:
    from rag.evaluate.report import retrieval_markdown
    from rag.evaluate.retrieval import evaluate_retrieval

    report = evaluate_retrieval(args.rgb, settings, baseline=not args.no_baseline)
    print(json.dumps(report, indent=2) if args.json else retrieval_markdown(report))
    return 0


def cmd_eval_qa(args: argparse.Namespace, settings: Any) -> int:
    from rag.evaluate.report import qa_markdown
    from rag.evaluate.runner import run_qa

    def progress(row: dict[str, Any]) -> None:
        if not args.json and sys.stderr.isatty():
            mark = "ok" if not row["why"] else row["why"]
            print(f"  {row['id']}: {mark} ({row['total_s'] or 0:.1f} s)", file=sys.stderr)

    from rag.evaluate.realtime import is_slice, realtime_markdown, run_realtime

    if is_slice(args.path):
        rt = run_realtime(args.path, settings, with_llm=not args.retrieval_only, compare=not args.no_compare, limit=args.limit,
                          sample=args.sample,
                          home=args.home, on_row=progress_line)
        print(json.dumps(rt, indent=2, ensure_ascii=False) if args.json else realtime_markdown(rt))
        return 0
    report = run_qa(args.path, settings, corpus=args.corpus, retrieval_only=args.retrieval_only, on_row=progress)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else qa_markdown(report))
    return 0


def progress_line(row: dict[str, Any]) -> None:
    """One line a question on stderr, terminal or log: a long run shows where it is."""
    mark = ("ok" if row["correct"] else "wrong") if "correct" in row else ("recalled" if row["context_recall"] else "missed")
    print(f"  {row['id']} (as of {row['as_of']}): {mark}", file=sys.stderr, flush=True)
