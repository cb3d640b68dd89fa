"""Plain-text rendering of an Answer, for the CLI."""

from __future__ import annotations

from core.types import Answer, Revision


def render_answer(a: Answer, trace: bool = False) -> str:
    lines: list[str] = []
    if a.error:
        lines += [f"error: {a.error}", "", "Retrieved passages (no answer was generated):"]
        lines += [f"  [{p.n}] {p.title} ({_meta(p.source, p.date, _page(p.page))})\n      {p.text[:300]}" for p in a.passages]
        return "\n".join(lines + (["", *render_trace(a)] if trace else []))
    lines.append(a.text)
    if note := revision_note(a.revision):
        lines.append(f"  ({note})")
    for u in a.unsupported:
        lines.append(f"  ! not supported by the articles: “{u.sentence}” ({u.reason})")
    if a.citations:
        lines += ["", "Sources:"]
        for c in a.citations:
            lines.append(f"  [{c.n}] {c.title} ({_meta(c.source, c.date, _page(c.page))})")
            if c.url:
                lines.append(f"      {c.url}")
            lines.append(f"      “{c.quote}”")
    elif not a.answerable and a.passages:
        lines += ["", "Closest passages:"]
        lines += [f"  - {p.title} ({_meta(p.source, p.date)}): {p.text[:200]}…" for p in a.passages[:3]]
    if trace:
        lines += ["", *render_trace(a)]
    return "\n".join(lines)


def revision_note(r: Revision | None) -> str:
    """What the reader should know about a second try: why the text changed after it streamed."""
    if r is None:
        return ""
    why = "; ".join(u.reason for u in r.flagged)
    if r.kept:
        return f"revised after checking: the first answer, “{r.draft}”, was flagged: {why}"
    return "asked the model once more about the flagged sentences; its second answer was no better"


def render_trace(a: Answer) -> list[str]:
    """How the answer was made, as aligned text lines."""
    t = a.trace or {}
    lines = ["Trace:"]
    if t:
        query = t.get("standalone_query", a.question)
        how = t.get("condense")
        lines.append(f"  standalone query  {query}" + (f"  (condensed: {how})" if how in ("llm", "heuristic") else ""))
        gate = t.get("gate") or {}
        if gate:
            verdict = "passed" if gate.get("passed") else f"declined by {gate.get('declined_by')}"
            if gate.get("passed") and gate.get("declined_by"):
                verdict = f"declined by {gate['declined_by']}"
            lines.append(f"  gate              {verdict}: {gate.get('reason', '')}")
        lines.append(f"  model             {t.get('model') or a.model or '-'}")
        if "prompt_tokens" in t:
            lines.append(f"  prompt tokens     ~{t['prompt_tokens']} (estimated from its length)")
    lines.append("  timings           " + ", ".join(f"{k.removesuffix('_s').replace('_', ' ')} {v:.2f} s" for k, v in a.timings.items()))
    if a.passages:
        lines.append("  passages          n  fused rank/score  dense rank/cosine  keyword rank/bm25  cited  title")
        for p in a.passages:
            cited = "".join(f"[{c.n}]" for c in a.citations if c.passage == p.n) or "-"
            lines.append(
                f"                    {p.n:<2} {_rank(p.n, p.score, 4):<17} {_rank(p.dense_rank, p.dense_score):<18} "
                f"{_rank(p.keyword_rank, p.keyword_score):<18} {cited:<6} {p.title[:50]}"
            )
    for r in a.repaired_citations:
        lines.append(f"  citation [{r.n}]      moved from passage {r.from_passage} to {r.to_passage}: {r.reason}")
    if a.revision is not None:
        lines.append(f"  revision          {'kept' if a.revision.kept else 'not kept'}: “{a.revision.revised}” (first answer: “{a.revision.draft}”)")
    if t:
        lines.append(f"  unsupported       {t.get('unsupported', len(a.unsupported))} sentence(s)")
    return lines


def _rank(rank: int | None, score: float | None, digits: int = 3) -> str:
    return "-" if rank is None else f"#{rank} " + ("-" if score is None else f"{score:.{digits}f}")


def _meta(*parts: str) -> str:
    return ", ".join(p for p in parts if p) or "no date"


def _page(page: int) -> str:
    """"p. N" for a passage of a paged source (PDF); "" otherwise."""
    return f"p. {page}" if page else ""


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"
