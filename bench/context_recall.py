"""Sentence selection without the LLM: does the reduced context still hold an accepted answer?

    .venv/bin/python bench/context_recall.py                       # seed QA over data/articles
    .venv/bin/python bench/context_recall.py --slice ../shared/bench/realtimeqa/dev-small \\
        --home .newsrag/bench-dev-small --limit 40

For each budget (estimated prompt tokens of passage text), the share of answerable
questions whose kept sentences still contain an accepted answer, beside whole passages,
and the mean passage tokens the model would read. Cheap (retrieval only): used to choose
NEWSRAG_CONTEXT_BUDGET before spending LLM time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGETS = (0, 100, 130, 170, 220, 300)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--qa", type=Path, default=REPO / "data/eval/sample_qa.jsonl")
    p.add_argument("--corpus", type=Path, default=REPO / "data/articles")
    p.add_argument("--slice", type=Path, default=None, help="a RealTimeQA slice folder (questions asked as of their date)")
    p.add_argument("--home", type=Path, default=None, help="with --slice: the store it was ingested into")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--neighbours", type=int, default=1)
    args = p.parse_args(argv)

    from core.models import make_embedder
    from core.settings import Settings
    from core.text import estimated_tokens
    from rag.context import ContextConfig, select_context
    from rag.engine import Engine
    from evaluation.qa import contains_answer, load_qa
    from evaluation.runner import answering_settings

    settings = Settings()
    embedder = make_embedder(settings)
    if args.slice:
        from evaluation.realtime import load_slice

        rows = [(r.question, r.answer_any, r.as_of) for r in load_slice(args.slice, args.limit)]
        s = settings.model_copy(update={"home": args.home, "model_dir": settings.resolved_model_dir()})
        corpus = None
    else:
        rows = [(r.question, r.answer_any, None) for r in load_qa(args.qa) if not r.unanswerable][: args.limit]
        s, corpus = settings, args.corpus
    with answering_settings(s, corpus, embedder) as (s, _):
        engine = Engine.from_settings(s.model_copy(update={"llm": "fake"}), embedder=embedder)  # no LLM is loaded
        found = [(q, a, engine.retriever.run(engine.plan(q, None, None, d)).passages) for q, a, d in rows]
    out = {}
    for budget in BUDGETS:
        hits, tokens = 0, 0
        for q, answers, passages in found:
            kept = passages if budget == 0 else select_context(q, passages, ContextConfig(budget, args.neighbours, s.top_k))[0]
            hits += any(contains_answer(p.text, answers) for p in kept)
            tokens += sum(round(estimated_tokens(p.text)) for p in kept)
        out["whole" if budget == 0 else str(budget)] = {"recall": round(hits / len(found), 3), "passage_tokens_mean": round(tokens / len(found))}
    print(json.dumps({"questions": len(found), "neighbours": args.neighbours, "budgets": out}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
