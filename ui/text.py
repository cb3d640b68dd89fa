"""Plain-text rendering of an Answer, for the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.types import Answer, Revision, TimelineEvent


def render_answer(a: Answer, trace: bool = False) -> str:
    lines: list[str] = []
    if a.error:
        lines += [f"error: {a.error}", "", "Retrieved passages (no answer was generated):"]
        lines += [f"  [{p.n}] {p.title} ({_meta(p.source, p.date, _page(p.page))})\n      {p.text[:300]}" for p in a.passages]
        return "\n".join(lines + (["", *render_trace(a)] if trace else []))
    lines.append(a.text)
    if a.timeline:
        lines += ["", "Timeline:", *render_timeline(a.timeline)]
    if a.freshness:
        lines.append(f"  ({a.freshness})")
    if note := revision_note(a.revision):
        lines.append(f"  ({note})")
    for u in a.unsupported:
        lines.append(f"  ! not supported by the articles: “{u.sentence}” ({u.reason})")
    if a.citations:
        lines += ["", "Sources:"]
        for c in a.citations:
            p = next((p for p in a.passages if p.n == c.passage), None)
            also = f"; also in: {', '.join(p.also_in)}" if p is not None and p.also_in else ""
            lines.append(f"  [{c.n}] {c.title} ({_meta(c.source, c.date, _page(c.page))}{also})")
            if c.url:
                lines.append(f"      {c.url}")
            lines.append(f"      “{c.quote}”")
    elif not a.answerable and a.passages:
        lines += ["", "Closest passages:"]
        lines += [f"  - {p.title} ({_meta(p.source, p.date)}): {p.text[:200]}…" for p in a.passages[:3]]
    if trace:
        lines += ["", *render_trace(a)]
    return "\n".join(lines)


def render_timeline(events: tuple[TimelineEvent, ...]) -> list[str]:
    """One line per event, dates down the side: "2026-03-02  Floods … [1]  (Gazette, Herald)"."""
    return [f"  {e.date}  {e.text} [{e.citations[0].n}]  ({', '.join(e.outlets)})" for e in events]


def revision_note(r: Revision | None) -> str:
    """What the reader should know about a second try: why the text changed after it streamed."""
    if r is None:
        return ""
    why = "; ".join(u.reason for u in r.flagged)
    if r.kept:
        return f"revised after checking: the first answer, “{r.draft}”, was flagged: {why}"
    return "asked the model once more about the flagged sentences; its second answer was no better"


@dataclass(frozen=True)
class TraceView:
    """How an answer was made, laid out once: the CLI prints it as text, the page as HTML."""

    summary: list[tuple[str, str]]  # (label, value)
    header: list[str]  # the passages table
    rows: list[list[str]]


PASSAGE_COLUMNS = ["n", "fused rank/score", "dense rank/cosine", "keyword rank/bm25", "date", "boosts", "cited", "title"]


def trace_view(a: Answer) -> TraceView:
    t = a.trace or {}
    rows: list[tuple[str, str]] = []
    if t:
        how = t.get("condense")
        rows.append(("standalone query", str(t.get("standalone_query", a.question)) + (f"  (condensed: {how})" if how in ("llm", "heuristic") else "")))
        if t.get("as_of"):
            window = t.get("window") or {}
            rows.append(("as of", t["as_of"] + (f"; window {_window(window)}" if window else "")))
        flt = {k: v for k, v in (t.get("filters") or {}).items() if v}
        if flt:
            rows.append(("filters", "; ".join(f"{k.replace('_', ' ')} {', '.join(v) if isinstance(v, list) else v}" for k, v in flt.items())))
        stages = t.get("stages") or []
        if stages:
            rows.append(("stages", " → ".join(f"{s['stage']} {s['out']} ({s['ms']} ms)" for s in stages)))
        gate = t.get("gate") or {}
        if gate:
            verdict = "passed" if gate.get("passed") else f"declined by {gate.get('declined_by')}"
            if gate.get("passed") and gate.get("declined_by"):
                verdict = f"declined by {gate['declined_by']}"
            rows.append(("gate", f"{verdict}: {gate.get('reason', '')}"))
        rows.append(("model", t.get("model") or a.model or "-"))
        if "prompt_tokens" in t:
            rows.append(("prompt tokens", f"~{t['prompt_tokens']} (estimated from its length)"))
    rows.append(("timings", ", ".join(f"{k.removesuffix('_s').replace('_', ' ')} {v:.2f} s" for k, v in a.timings.items()) or "-"))
    if a.freshness:
        rows.append(("freshness", a.freshness))
    for r in a.repaired_citations:
        rows.append((f"citation [{r.n}]", f"moved from passage {r.from_passage} to {r.to_passage}: {r.reason}"))
    if a.dropped_citations:
        rows.append(("dropped", "citations of passages that do not exist: " + ", ".join(f"[{n}]" for n in a.dropped_citations)))
    if a.revision is not None:
        rows.append(("revision", f"{'kept' if a.revision.kept else 'not kept'}: “{a.revision.revised}” (first answer: “{a.revision.draft}”)"))
    if t:
        rows.append(("unsupported", f"{t.get('unsupported', len(a.unsupported))} sentence(s)"))
    table = [
        [
            str(p.n), _rank(p.n, p.score, 4), _rank(p.dense_rank, p.dense_score), _rank(p.keyword_rank, p.keyword_score),
            p.date or "no date", " ".join(f"{k}×{v:.2f}" for k, v in p.boosts) or "-",
            "".join(f"[{c.n}]" for c in a.citations if c.passage == p.n) or "-",
            p.title[:60] + (f" (also in: {', '.join(p.also_in)})" if p.also_in else ""),
        ]
        for p in a.passages
    ]
    return TraceView(rows, PASSAGE_COLUMNS, table)


def _window(w: dict[str, Any]) -> str:
    span = f"{w.get('since') or '…'} to {w.get('until') or '…'}" if (w.get("since") or w.get("until")) else "newest first"
    return f"“{w.get('phrase')}” ({span})"


def render_trace(a: Answer) -> list[str]:
    """The trace view as aligned text lines."""
    v = trace_view(a)
    lines = ["Trace:"] + [f"  {label:<17} {value}" for label, value in v.summary]
    if v.rows:
        widths = [max(len(r[i]) for r in [v.header, *v.rows]) for i in range(len(v.header) - 1)]
        fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1]  # noqa: E731
        lines += ["  passages", "    " + fmt(v.header), *("    " + fmt(r) for r in v.rows)]
    return lines


def _rank(rank: int | None, score: float | None, digits: int = 3) -> str:
    return "-" if rank is None else f"#{rank} " + ("-" if score is None else f"{score:.{digits}f}")


def _meta(*parts: str) -> str:
    return ", ".join(p for p in parts if p) or "no date"


def _page(page: int) -> str:
    """"p. N" for a passage of a paged source (PDF); "" otherwise."""
    return f"p. {page}" if page else ""
