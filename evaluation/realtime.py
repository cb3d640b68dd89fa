"""`newsrag eval qa DIR` on a RealTimeQA slice: dated questions over real news.

A slice folder holds `qa.jsonl` (id, question, answer_any, date, gold_urls) and
`corpus.jsonl` (id, url, source, date, title, text). Each question is asked as of
its `date`. One run measures two arms over the same store: time-aware (the
product as configured) and timeless (no time stages, asked as of today):

- accuracy: an accepted answer (case-insensitive substring) in the answer text;
- context recall: an accepted answer inside what the model reads of its passages
  (title and text; with context selection, the sentences chosen from them);
- stale / future: the share of those passages published more than 60 days
  before the question, or after it;
- gold citations: a cited article's URL is one of the question's `gold_urls`.

Beside them, a reference that needs no store (`own_results_reference`): how many
questions' own search results (`gold_urls`) hold an accepted answer at all, and in an
article from the 60 days before the question. Context recall is read against it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable

from core.errors import ConfigError
from evaluation.latency import budget_markdown, latency_budget, row_budget
from evaluation.metrics import percentile
from rag import factory
from rag.context import select_context
from rag.steps import Context
from evaluation.qa import contains_answer

STALE_DAYS = 60


@dataclass(frozen=True)
class DatedRow:
    id: str
    question: str
    answer_any: tuple[str, ...]
    as_of: date
    gold_urls: frozenset[str]


def is_slice(path: Path) -> bool:
    return path.is_dir() and (path / "qa.jsonl").is_file() and (path / "corpus.jsonl").is_file()


def load_slice(folder: Path, limit: int | None = None, sample: int | None = None) -> list[DatedRow]:
    """The slice's questions: all, the first `limit`, or `sample` of them spread evenly (every k-th)."""
    rows = []
    for n, line in enumerate((folder / "qa.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            rows.append(DatedRow(str(r["id"]), r["question"], tuple(r["answer_any"]), date.fromisoformat(r["date"][:10]), frozenset(r.get("gold_urls") or ())))
        except (KeyError, ValueError, TypeError) as e:
            raise ConfigError(f"{folder / 'qa.jsonl'} line {n}: not a RealTimeQA row ({e}); it needs id, question, answer_any, date") from None
    if sample and sample < len(rows):
        rows = [rows[i * len(rows) // sample] for i in range(sample)]
    return rows[:limit] if limit else rows


def own_results_reference(folder: Path, rows: list[DatedRow]) -> dict[str, Any]:
    """The share of `rows` whose own search results, as the slice's corpus holds them and
    published by the question's date, contain an accepted answer in a title or text; and
    the share where such an article is at most STALE_DAYS old. An answer string found
    there may be there by accident (a list of 50 states), so this is a generous bound on
    what a reader of those results can find, not evidence the answer is stated."""
    wanted = set().union(*(r.gold_urls for r in rows)) if rows else set()
    articles: dict[str, dict[str, Any]] = {}
    with (folder / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            try:
                a = json.loads(line)
            except ValueError:
                continue  # ingest reports the line; the reference just leaves it out
            if isinstance(a, dict) and a.get("url") in wanted:
                articles[a["url"]] = a
    anywhere = recent = 0
    for row in rows:
        ages = [_age(a.get("date") or "", row.as_of) for u in row.gold_urls if (a := articles.get(u))
                and contains_answer(f"{a.get('title', '')}\n{a.get('text', '')}", row.answer_any)]
        anywhere += any(age is None or age >= 0 for age in ages)  # undated: it may be older, never known newer
        recent += any(age is not None and 0 <= age <= STALE_DAYS for age in ages)
    n = len(rows) or 1
    return {"answer_in_own_results": round(anywhere / n, 4), f"within_{STALE_DAYS}_days": round(recent / n, 4)}


def _age(published: str, as_of: date) -> int | None:
    """Days from `published` (ISO, may be empty) to `as_of`; None when unknown."""
    try:
        return (as_of - date.fromisoformat(published[:10])).days if published else None
    except ValueError:
        return None


def recalled(passages: Any, row: DatedRow) -> bool:
    """An accepted answer in what the model reads of the passages: the title (in the header,
    `rag.prompt.passage_block`; the date is left out) and the text."""
    return any(contains_answer(f"{p.title}\n{p.text}", row.answer_any) for p in passages)


def passage_stats(passages: Any, row: DatedRow) -> dict[str, Any]:
    ages = [_age(p.date, row.as_of) for p in passages]
    return {
        "context_recall": recalled(passages, row),
        "passages": len(passages),
        "stale": sum(a is not None and a > STALE_DAYS for a in ages),
        "future": sum(a is not None and a < 0 for a in ages),
        "undated": sum(a is None for a in ages),
    }


def score_row(row: DatedRow, answer: Any) -> dict[str, Any]:
    cited_urls = sorted({p.url for c in answer.citations for p in answer.passages if p.n == c.passage and p.url})
    return {
        "id": row.id,
        "as_of": row.as_of.isoformat(),
        "question": row.question,
        "expected": list(row.answer_any),
        "answer": answer.text,
        "answerable": answer.answerable,
        "correct": bool(answer.answerable and contains_answer(answer.text, row.answer_any)),
        "cited_urls": cited_urls,
        "cites_gold": any(u in row.gold_urls for u in cited_urls),
        "freshness": answer.freshness,
        "window": answer.window,
        "error": answer.error,
        "ttft_s": answer.timings.get("first_token_s"),
        "total_s": answer.timings.get("total_s"),
        **row_budget(answer),  # stage_s (every timing) and llm (llama.cpp's token counts)
        "prompt_tokens": (answer.trace or {}).get("prompt_tokens"),
        **passage_stats(answer.passages, row),
        "passages_given": [{"text": p.text, "url": p.url, "date": p.date, "title": p.title} for p in answer.passages],
    }


def summarize(results: list[dict[str, Any]], with_llm: bool) -> dict[str, Any]:
    n = len(results)
    shown = sum(r["passages"] for r in results) or 1
    out: dict[str, Any] = {
        "n": n,
        "context_recall": round(sum(r["context_recall"] for r in results) / n, 4) if n else None,
        "stale_share": round(sum(r["stale"] for r in results) / shown, 4),
        "future_share": round(sum(r["future"] for r in results) / shown, 4),
        "undated_share": round(sum(r["undated"] for r in results) / shown, 4),
    }
    if results and "retrieved_recall" in results[0]:  # retrieval only: the whole top passages, before sentence selection
        out["retrieved_recall"] = round(sum(r["retrieved_recall"] for r in results) / n, 4)
    if with_llm:
        ttft = [r["ttft_s"] for r in results if r.get("ttft_s") is not None]
        total = [r["total_s"] for r in results if r.get("total_s") is not None]
        out.update(
            correct=sum(r["correct"] for r in results),
            accuracy=round(sum(r["correct"] for r in results) / n, 4) if n else None,
            cites_gold_share=round(sum(r["cites_gold"] for r in results) / n, 4) if n else None,
            declined=sum(not r["answerable"] for r in results),
            ttft_p50_s=round(percentile(ttft, 50), 2),
            ttft_p95_s=round(percentile(ttft, 95), 2),
            total_p50_s=round(percentile(total, 50), 2),
            total_p95_s=round(percentile(total, 95), 2),
            latency_budget=latency_budget(results),
        )
    out["rows"] = results
    return out


def read_by_model(engine: Any, query: str, retrieved: list[Any]) -> list[Any]:
    context = next((step for step in engine.steps if isinstance(step, Context)), None)
    return select_context(query, retrieved, context.config)[0] if context is not None else retrieved


def run_arm(
    rows: list[DatedRow], engine: Any, with_llm: bool, on_row: Callable[[dict[str, Any]], None] | None = None, dated: bool = True,
) -> dict[str, Any]:
    """One arm: every question through `engine`, as of its date (`dated`) or as of today."""
    results = []
    for row in rows:
        if with_llm:
            result = score_row(row, engine.answer(row.question, as_of=row.as_of if dated else None))
        else:
            t0 = time.perf_counter()
            q = engine.plan(row.question, None, None, row.as_of if dated else None)
            retrieved = engine.retriever.run(q).passages
            # What the model would read: the context step's chosen sentences (rag/context.py), if it has one.
            passages = read_by_model(engine, q.text, retrieved)
            result = {"id": row.id, "as_of": row.as_of.isoformat(), "question": row.question, "expected": list(row.answer_any),
                      "retrieval_s": round(time.perf_counter() - t0, 3), **passage_stats(passages, row),
                      "retrieved_recall": recalled(retrieved, row),
                      "passages_given": [{"url": p.url, "date": p.date, "title": p.title} for p in passages]}
        results.append(result)
        if on_row:
            on_row(result)
    return summarize(results, with_llm)


def run_realtime(
    folder: Path, settings: Any, *, with_llm: bool = True, compare: bool = True, limit: int | None = None, sample: int | None = None,
    home: Path | None = None, llm: Any = None, embedder: Any = None, on_row: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """The report: the product's arm and (with `compare`) a timeless arm, over one store.

    The timeless arm is ordinary settings: the stage list without the time stages
    (`TIME_STAGES`), each question asked as of today instead of its own date.

    `home`: a store folder to ingest the slice's corpus into and reuse on later runs
    (ingest is idempotent); default a temporary one.
    """
    from core.models import make_embedder
    from rag.engine import Engine
    from evaluation.runner import answering_settings

    rows = load_slice(folder, limit, sample)
    embedder = embedder or make_embedder(settings)
    base = settings.model_copy(update={"max_file_mb": max(settings.max_file_mb, 200.0)})  # dev's corpus is one 50 MB file
    if home is not None:
        base = base.model_copy(update={"home": home, "model_dir": settings.resolved_model_dir(), "chroma_url": None})
    corpus = folder / "corpus.jsonl"
    with answering_settings(base, corpus, embedder, keep=home is not None) as (s, corpus_info):
        report: dict[str, Any] = {"dataset": str(folder), "corpus": corpus_info, "questions": len(rows), "with_llm": with_llm,
                                  "reference": own_results_reference(folder, rows)}
        on = Engine.from_settings(s, llm=llm, embedder=embedder)
        report["time_on"] = run_arm(rows, on, with_llm, on_row)
        if compare:
            off = Engine(on.store, embedder, lambda: on.llm, settings=timeless(s))
            report["time_off"] = run_arm(rows, off, with_llm, on_row, dated=False)
    return report


TIME_STAGES = ("window", "recency")  # the retrieval stages that read dates


def timeless(settings: Any) -> Any:
    """The same settings with a ranking that ignores dates."""
    stages = [name for name in factory.stage_names(settings) if name not in TIME_STAGES]
    return settings.model_copy(update={"retrieval_stages": ",".join(stages)})


KEYS = ("n", "accuracy", "context_recall", "stale_share", "future_share", "cites_gold_share", "declined", "ttft_p50_s", "ttft_p95_s", "total_p50_s")


def realtime_markdown(report: dict[str, Any]) -> str:
    from evaluation.tables import table

    arms = [(name, report[key]) for name, key in (("time-aware", "time_on"), ("timeless", "time_off")) if key in report]
    keys = [k for k in KEYS if k in arms[0][1]]
    c = report["corpus"]
    head = (f"RealTimeQA {report['dataset']}: {report['questions']} questions, each as of its date, over "
            f"{c.get('articles', '?')} articles ({c.get('chunks', '?')} chunks). Stale: published > {STALE_DAYS} days before the question.")
    ref = report.get("reference")
    if ref:
        head += (f" Reference for context recall: the questions' own search results hold an accepted answer for "
                 f"{ref['answer_in_own_results']:.3f} of them ({ref[f'within_{STALE_DAYS}_days']:.3f} in an article "
                 f"at most {STALE_DAYS} days old).")
    budgets = [f"{name}: {budget_markdown(arm['latency_budget'])}" for name, arm in arms if arm.get("latency_budget")]
    return "\n\n".join([head, table(["arm", *keys], [[name, *[arm.get(k) for k in keys]] for name, arm in arms]), *budgets])
