"""Plain-text rendering of an Answer, for the CLI."""

from __future__ import annotations

from rag.types import Answer


def render_answer(a: Answer, trace: bool = False) -> str:
    lines: list[str] = []
    if a.error:
        lines += [f"error: {a.error}", "", "Retrieved passages (no answer was generated):"]
        lines += [f"  [{p.n}] {p.title} ({_meta(p.source, p.date)})\n      {p.text[:300]}" for p in a.passages]
        return "\n".join(lines)
    lines.append(a.text)
    for u in a.unsupported:
        lines.append(f"  ! not supported by the articles: “{u.sentence}” ({u.reason})")
    if a.citations:
        lines += ["", "Sources:"]
        for c in a.citations:
            lines.append(f"  [{c.n}] {c.title} ({_meta(c.source, c.date)})\n      “{c.quote}”")
    elif not a.answerable and a.passages:
        lines += ["", "Closest passages:"]
        lines += [f"  - {p.title} ({_meta(p.source, p.date)}): {p.text[:200]}…" for p in a.passages[:3]]
    if trace and a.trace:
        import json

        lines += ["", "Trace:", json.dumps(a.trace, indent=2, ensure_ascii=False)]
    elif trace:
        lines += ["", "Timings: " + ", ".join(f"{k} {v:.2f}" for k, v in a.timings.items())]
        lines += [f"  passage [{p.n}] dense #{p.dense_rank} ({_f(p.dense_score)}), keyword #{p.keyword_rank} ({_f(p.keyword_score)}), fused {p.score:.4f}: {p.title}" for p in a.passages]
    return "\n".join(lines)


def _meta(*parts: str) -> str:
    return ", ".join(p for p in parts if p) or "no date"


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"
