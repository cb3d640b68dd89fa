"""`newsrag eval qa`: answer() on each row of a QA file, scored; and a retrieval-only check.

A QA file holds one JSON object a line (like `seed_qa.jsonl`): `question`,
`answer_any` (acceptable answers, matched as case-insensitive substrings),
`source` (the article file it comes from) or `unanswerable: true`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from core.errors import ConfigError
from core.text import fold, straighten
from evaluation.jsonl import read_json_lines
from evaluation.latency import latency_budget, row_budget
from evaluation.metrics import first_relevant_rank, hits_at, mrr_at, percentile


@dataclass(frozen=True)
class QARow:
    id: str
    question: str
    answer_any: tuple[str, ...]
    source: str | None
    unanswerable: bool


def load_qa(path: Path | str) -> list[QARow]:
    path = Path(path)
    rows = []
    for n, rec in read_json_lines(path, "QA"):
        question = str(rec.get("question") or "").strip()
        answers = tuple(str(a) for a in rec.get("answer_any") or [] if str(a).strip())
        unanswerable = bool(rec.get("unanswerable"))
        if not question or not (answers or unanswerable):
            raise ConfigError(f"{path} line {n} needs a `question` and `answer_any` (or `unanswerable: true`)")
        rows.append(QARow(str(rec.get("id", n)), question, answers, rec.get("source") or None, unanswerable))
    if not rows:
        raise ConfigError(f"{path} holds no questions")
    return rows


def from_source(path: str, source: str | None) -> bool:
    """Does a stored article path (absolute, maybe `file.jsonl#3`) come from the row's `source` file?"""
    if not source or not path:
        return False
    file = path.split("#", 1)[0]
    if "/" in source.strip("/"):  # a relative path: match it whole, at a folder boundary
        return ("/" + file.lstrip("/")).endswith("/" + source.strip("/"))
    return Path(file).name == source


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """An accepted answer inside `text`, ignoring case and typography: curly and straight
    apostrophes match, quotation marks are left out ("“Anora”" is answered by Anora) and
    "…" is "...". RealTimeQA's answers are typeset (McDonald’s), most texts are not."""
    plain = _answer_form(text)
    return any(form in plain for a in answers if (form := _answer_form(a)))


def _answer_form(text: str) -> str:
    return fold(straighten(text)).replace('"', "")


# --- scoring one answer (pure)


def score_answer(row: QARow, answer: Any) -> dict[str, Any]:
    """What the report says about one row; `answer` is a core.types.Answer."""
    cited = [c.path for c in answer.citations]
    result: dict[str, Any] = {
        "id": row.id,
        "question": row.question,
        "answer": answer.text,
        "answerable": answer.answerable,
        "expected": list(row.answer_any) if not row.unanswerable else "(decline)",
        "source": row.source,
        "cited": sorted({Path(p.split("#", 1)[0]).name for p in cited if p}),
        "error": answer.error,
        "ttft_s": answer.timings.get("first_token_s"),
        "total_s": answer.timings.get("total_s"),
        "prompt_tokens": (answer.trace or {}).get("prompt_tokens"),
        **row_budget(answer),  # stage_s (every timing) and llm (llama.cpp's token counts)
        # What the citation verifier said: a correct answer should carry no flag.
        "unsupported": [{"sentence": u.sentence, "reason": u.reason} for u in answer.unsupported],
        "revision": (answer.trace or {}).get("revision"),  # the flagged first answer and the second try, if any
        "repaired": [{"n": r.n, "from": r.from_passage, "to": r.to_passage, "reason": r.reason} for r in answer.repaired_citations],
    }
    if row.unanswerable:
        result["correct"] = not answer.answerable and not answer.error
        result["cites_source"] = None
        result["why"] = "" if result["correct"] else "answered an unanswerable question"
        return result
    result["correct"] = answer.answerable and contains_answer(answer.text, row.answer_any)
    result["cites_source"] = any(from_source(p, row.source) for p in cited)
    if answer.error:
        result["why"] = f"error: {answer.error}"
    elif not answer.answerable:
        result["why"] = "declined"
    elif not result["correct"]:
        result["why"] = "no accepted answer in the text"
    elif not result["cites_source"]:
        result["why"] = "correct, but does not cite its source"
    else:
        result["why"] = ""
    return result


def summarize_qa(results: list[dict[str, Any]]) -> dict[str, Any]:
    """accuracy over all rows; citation accuracy over correct answerable rows; refusal accuracy over unanswerable rows."""
    answerable = [r for r in results if r["cites_source"] is not None]
    refusals = [r for r in results if r["cites_source"] is None]
    correct = [r for r in answerable if r["correct"]]
    ttft = [r["ttft_s"] for r in results if r["ttft_s"] is not None]
    total = [r["total_s"] for r in results if r["total_s"] is not None]
    prompt = [r["prompt_tokens"] for r in results if r["prompt_tokens"] is not None]
    return {
        "n": len(results),
        "correct": sum(r["correct"] for r in results),
        "accuracy": _share(sum(r["correct"] for r in results), len(results)),
        "answerable_accuracy": _share(len(correct), len(answerable)),
        "citation_accuracy": _share(sum(r["cites_source"] for r in correct), len(correct)),
        "refusal_accuracy": _share(sum(r["correct"] for r in refusals), len(refusals)),
        "ttft_p50_s": round(percentile(ttft, 50), 2),
        "ttft_p95_s": round(percentile(ttft, 95), 2),
        "total_p50_s": round(percentile(total, 50), 2),
        "total_p95_s": round(percentile(total, 95), 2),
        "prompt_tokens_mean": round(sum(prompt) / len(prompt)) if prompt else None,
        "latency_budget": latency_budget(results),
        "wrong": [r for r in results if r["why"]],
        "flagged_correct": sum(bool(r["correct"] and r["unsupported"]) for r in results),
        "flagged": [{"id": r["id"], "correct": r["correct"], **u} for r in results for u in r["unsupported"]],
        # First answers the verifier flagged, and whether the model's second try replaced them.
        "revisions": [{"id": r["id"], "correct": r["correct"], **r["revision"]} for r in results if r.get("revision")],
        "rows": results,
    }


def _share(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def evaluate_qa(rows: list[QARow], engine: Any, on_row: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run `engine.answer` on every row (the configured LLM) and score it."""
    results = []
    for row in rows:
        result = score_answer(row, engine.answer(row.question))
        results.append(result)
        if on_row:
            on_row(result)
    return summarize_qa(results)


# --- retrieval only: is the answer-bearing passage of the source article in the top-k?


def evaluate_qa_retrieval(rows: list[QARow], retriever: Any, top_k: int, depth: int = 10) -> dict[str, Any]:
    """Rank of the first retrieved passage from the row's source that holds an accepted answer.

    Cheap (no LLM): judges chunking and retrieval on real articles. `context_chars`
    is what the first `top_k` passages add to the prompt (`core.text.estimated_tokens`).
    """
    ranks: list[int | None] = []
    per_row = []
    chars = []
    for row in rows:
        if row.unanswerable:
            continue
        passages = retriever.retrieve(row.question, max(depth, top_k))
        good = [i for i, p in enumerate(passages) if from_source(p.path, row.source) and contains_answer(p.text, row.answer_any)]
        rank = first_relevant_rank(range(len(passages)), set(good))
        ranks.append(rank)
        chars.append(sum(len(p.title) + len(p.text) for p in passages[:top_k]))
        per_row.append({"id": row.id, "question": row.question, "rank": rank})
    return {
        "n": len(ranks),
        "top_k": top_k,
        "hits@1": round(hits_at(ranks, 1), 4),
        "hits@3": round(hits_at(ranks, 3), 4),
        f"hits@{top_k}": round(hits_at(ranks, top_k), 4),
        "hits@10": round(hits_at(ranks, 10), 4),
        "mrr@10": round(mrr_at(ranks, 10), 4),
        "context_chars_mean": round(sum(chars) / len(chars)) if chars else 0,
        "rows": per_row,
    }
