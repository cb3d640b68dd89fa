"""The latency budget of a run, stage by stage.

Each answer's `timings` (seconds: retrieval, context selection, first token,
generation, verification, revision, total; with the embedded LLM also llama.cpp's
own prompt reading and decoding) and `trace["llm"]` (prompt tokens read, from the
prompt cache, generated; rates) are summarised as p50 / p95 over the rows.
"""

from __future__ import annotations

from typing import Any, Iterable

from evaluation.metrics import percentile
from evaluation.tables import table

STAGES = ("retrieval_s", "context_s", "prompt_read_s", "first_token_s", "decode_s", "generation_s", "verify_s", "revise_s", "total_s")
COUNTS = ("prompt_tokens", "cached_tokens", "prompt_tokens_per_s", "generated_tokens", "decode_tokens_per_s")


def row_budget(answer: Any) -> dict[str, Any]:
    """What one row keeps: its stage seconds and the LLM's counts."""
    return {
        "stage_s": {k: round(v, 3) for k, v in answer.timings.items()},
        "llm": dict((answer.trace or {}).get("llm") or {}),
    }


def latency_budget(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """p50 and p95 of every stage (over the rows that ran it) and of the LLM's counts."""
    rows = list(rows)
    out: dict[str, Any] = {}
    for key in STAGES:
        values = [r["stage_s"][key] for r in rows if key in (r.get("stage_s") or {})]
        if values:
            out[key] = {"p50": round(percentile(values, 50), 3), "p95": round(percentile(values, 95), 3), "n": len(values)}
    for key in COUNTS:
        values = [r["llm"][key] for r in rows if key in (r.get("llm") or {})]
        if values:
            out[key] = {"p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1), "n": len(values)}
    return out


def budget_markdown(budget: dict[str, Any]) -> str:

    if not budget:
        return ""
    return "Latency budget (p50 / p95 over the rows; seconds, llama.cpp token counts):\n\n" + table(
        ["stage", "p50", "p95", "n"], [[k, v["p50"], v["p95"], v["n"]] for k, v in budget.items()]
    )
