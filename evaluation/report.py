"""Reports as Markdown tables: printed by `newsrag eval`, written by bench/run.py."""

from __future__ import annotations

from typing import Any

from evaluation.latency import budget_markdown
from evaluation.tables import table

RETRIEVAL_KEYS = ("hits@1", "hits@3", "hits@10", "mrr@10", "p50_ms", "p95_ms")


def retrieval_markdown(report: dict[str, Any]) -> str:
    c = report["corpus"]
    rows = [["ours (hybrid)"] + [report["ours"][k] for k in RETRIEVAL_KEYS]]
    if "baseline" in report:
        rows.append(["baseline (llama-index defaults)"] + [report["baseline"][k] for k in RETRIEVAL_KEYS])
        rows.append(["ratio ours / baseline"] + [report["ratio"].get(k) for k in RETRIEVAL_KEYS])
    head = (
        f"Retrieval on {report['dataset']}: {c['queries']} queries over {c['snippets']} distinct snippets "
        f"({c.get('chunks', '?')} chunks); a hit is one of the query's positive snippets."
    )
    return head + "\n\n" + table(["system"] + list(RETRIEVAL_KEYS), rows)


def qa_markdown(report: dict[str, Any]) -> str:
    parts = [f"QA on {report['dataset']} ({report['corpus'].get('store', '')}, top_k {report['config']['top_k']})."]
    if "accuracy" in report:
        parts.append(
            table(
                ["n", "correct", "accuracy", "citation accuracy", "refusal accuracy", "ttft p50 s", "ttft p95 s", "total p50 s", "total p95 s"],
                [[report["n"], report["correct"], report["accuracy"], report["citation_accuracy"], report["refusal_accuracy"],
                  report["ttft_p50_s"], report["ttft_p95_s"], report["total_p50_s"], report["total_p95_s"]]],
            )
        )
        if report.get("latency_budget"):
            parts.append(budget_markdown(report["latency_budget"]))
        wrong = report["wrong"]
        if wrong:
            parts.append("Wrong or uncited:\n" + "\n".join(f"- {w['id']} {w['question']} -> {w['why']}: {w['answer'][:160]!r}" for w in wrong))
        else:
            parts.append("Every row correct, every correct answer citing its source.")
        flagged = report.get("flagged") or []
        parts.append(
            f"Citation verifier: {len(flagged)} sentences flagged; correct answers flagged: {report.get('flagged_correct', 0)}"
            + "".join(f"\n- {f['id']} ({'correct' if f['correct'] else 'wrong'}): {f['sentence'][:120]!r}: {f['reason']}" for f in flagged)
        )
        revisions = report.get("revisions") or []
        if revisions:
            parts.append(
                f"Second tries (first answer flagged): {len(revisions)}, kept {sum(r['kept'] for r in revisions)}"
                + "".join(
                    f"\n- {r['id']} ({'kept' if r['kept'] else 'not kept'}, final {'correct' if r['correct'] else 'wrong'}): "
                    f"{r['draft'][:100]!r} [{'; '.join(f['reason'] for f in r['flagged'])}] -> {r['revised'][:100]!r}"
                    for r in revisions
                )
            )
    r = report["retrieval"]
    k = r["top_k"]
    parts.append(
        "Retrieval only (rank of the first passage from the source article holding an accepted answer):\n\n"
        + table(["n", "hits@1", "hits@3", f"hits@{k}", "hits@10", "mrr@10", f"context chars @{k}"],
                [[r["n"], r["hits@1"], r["hits@3"], r[f"hits@{k}"], r["hits@10"], r["mrr@10"], r["context_chars_mean"]]])
    )
    missed = [row for row in r["rows"] if row["rank"] is None or row["rank"] > k]
    if missed:
        parts.append("Not in the top " + str(k) + ":\n" + "\n".join(f"- {m['id']} {m['question']} (rank {m['rank']})" for m in missed))
    return "\n\n".join(parts)
