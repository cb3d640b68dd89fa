"""`newsrag eval retrieval --rgb PATH`, `newsrag eval qa PATH.jsonl` and `newsrag eval stories FILE --home H`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("eval", help="measure retrieval (RGB file), answers (QA file) or story answers (storyline file)")
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
    s.add_argument("--no-compare", action="store_true", help="RealTimeQA: skip the timeless arm (no time stages, asked as of today)")
    s.set_defaults(func=cmd_eval_qa)

    s = ev.add_parser("stories", help="story answers on a storyline file: events mentioned, dated and in the passages, beside the factoid answer")
    s.add_argument("path", type=Path, help="JSON lines: id, question, since, as_of, events [{quiz_id, date, quiz, answer_any}]")
    s.add_argument("--home", type=Path, required=True, help="the store folder to answer from, already ingested (e.g. with the slice's corpus)")
    s.add_argument("--corpus", type=Path, default=None, help="the corpus JSON lines, read only for the ceilings (default: dev/corpus.jsonl beside the file, if there)")
    s.add_argument("--limit", type=int, default=None, help="only the first N questions")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--no-baseline", action="store_true", help="skip the factoid answers to the same questions")
    s.set_defaults(func=cmd_eval_stories)


def cmd_eval_retrieval(args: argparse.Namespace, settings: Any) -> int:
    from evaluation.report import retrieval_markdown
    from evaluation.retrieval import evaluate_retrieval

    report = evaluate_retrieval(args.rgb, settings, baseline=not args.no_baseline)
    print(json.dumps(report, indent=2) if args.json else retrieval_markdown(report))
    return 0


def cmd_eval_qa(args: argparse.Namespace, settings: Any) -> int:
    from evaluation.report import qa_markdown
    from evaluation.runner import run_qa

    def progress(row: dict[str, Any]) -> None:
        if not args.json and sys.stderr.isatty():
            mark = "ok" if not row["why"] else row["why"]
            print(f"  {row['id']}: {mark} ({row['total_s'] or 0:.1f} s)", file=sys.stderr)

    from evaluation.realtime import is_slice, realtime_markdown, run_realtime

    if is_slice(args.path):
        rt = run_realtime(args.path, settings, with_llm=not args.retrieval_only, compare=not args.no_compare, limit=args.limit,
                          sample=args.sample,
                          home=args.home, on_row=progress_line)
        print(json.dumps(rt, indent=2, ensure_ascii=False) if args.json else realtime_markdown(rt))
        return 0
    report = run_qa(args.path, settings, corpus=args.corpus, retrieval_only=args.retrieval_only, on_row=progress)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else qa_markdown(report))
    return 0


def cmd_eval_stories(args: argparse.Namespace, settings: Any) -> int:
    from evaluation.stories import run_stories, stories_markdown

    report = run_stories(args.path, settings, home=args.home, corpus=args.corpus, limit=args.limit,
                         baseline=not args.no_baseline, on_row=story_line)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else stories_markdown(report))
    return 0


def story_line(row: dict[str, Any]) -> None:
    """One line a story question on stderr: how many of its events the timeline mentions and dates."""
    events = row["events"]
    said = sum(e["timeline"]["mentioned"] for e in events)
    dated = sum(e["timeline"]["dated"] for e in events)
    print(f"  {row['id']} (as of {row['as_of']}): {said} of {len(events)} events mentioned, {dated} dated; "
          f"events in {row['events_s']:.2f} s", file=sys.stderr, flush=True)


def progress_line(row: dict[str, Any]) -> None:
    """One line a question on stderr, terminal or log: a long run shows where it is."""
    mark = ("ok" if row["correct"] else "wrong") if "correct" in row else ("recalled" if row["context_recall"] else "missed")
    print(f"  {row['id']} (as of {row['as_of']}): {mark}", file=sys.stderr, flush=True)
