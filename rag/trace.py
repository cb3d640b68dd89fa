"""The final trace: how an answer was made, in plain JSON types (`newsrag ask --trace`, `--json`, the page).

Each part comes from its owner: the question and retrieval stages from the
engine, the typed parts from the answer steps (`rag.steps.StepTraces`), the
passages and citations from the Answer itself.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from core.types import Answer
from rag.steps import StepTraces


def answer_trace(head: dict[str, Any], steps: StepTraces, answer: Answer) -> dict[str, Any]:
    trace = dict(head)
    if steps.gate is not None:
        trace["gate"] = asdict(steps.gate)
    if steps.context is not None:
        trace["context"] = steps.context
    if steps.prompt is not None:
        trace.update(asdict(steps.prompt))
    if steps.llm is not None:
        trace["llm"] = steps.llm
    cited: dict[int, list[int]] = {}
    for c in answer.citations:
        cited.setdefault(c.passage, []).append(c.n)
    trace.update({
        "model": answer.model,
        "passages": [
            {
                "n": p.n,
                "title": p.title,
                "article_id": p.article_id,
                "chunk_id": p.chunk_id,
                "fused_rank": p.n,
                "fused_score": round(p.score, 5),
                "dense_rank": p.dense_rank,
                "dense_score": None if p.dense_score is None else round(p.dense_score, 4),
                "keyword_rank": p.keyword_rank,
                "keyword_score": None if p.keyword_score is None else round(p.keyword_score, 4),
                "date": p.date,
                "boosts": dict(p.boosts),
                "also_in": list(p.also_in),
                "cited_as": cited.get(p.n, []),
            }
            for p in answer.passages
        ],
        "cited_passages": sorted(cited),
        "repaired_citations": [
            {"n": r.n, "from_passage": r.from_passage, "to_passage": r.to_passage, "reason": r.reason} for r in answer.repaired_citations
        ],
        "unsupported": len(answer.unsupported),
        "revision": None if answer.revision is None else {
            "draft": answer.revision.draft,
            "flagged": [{"sentence": u.sentence, "reason": u.reason} for u in answer.revision.flagged],
            "revised": answer.revision.revised,
            "kept": answer.revision.kept,
        },
        "timings": {k: round(v, 3) for k, v in answer.timings.items()},
        "freshness": answer.freshness,
    })
    return trace
