"""How current an answer is, in one line the reader sees with it.

"Newest source: 2026-01-07 (The Washington Post)". When the question named a
time window ("this week") and no cited passage is from it, the answer does not
pass for current: "No article from this week (2026-01-01 to 2026-01-07)
mentions it; the newest one that does is from 2025-08-28 [1]."
"""

from __future__ import annotations

from datetime import date

from core.types import Answer, Passage
from rag.when import Window


def _day(p: Passage) -> date | None:
    try:
        return date.fromisoformat(p.date[:10]) if p.date else None
    except ValueError:
        return None


def freshness(answer: Answer, window: Window | None) -> str:
    by_n = {p.n: p for p in answer.passages}
    cited = [(c.n, by_n[c.passage]) for c in answer.citations if c.passage in by_n]
    pool = cited if answer.answerable else [(0, p) for p in answer.passages]
    if not pool:
        return "No sources."
    dated = [(n, p, d) for n, p in pool if (d := _day(p)) is not None]
    undated = len(pool) - len(dated)
    ranged = window is not None and (window.since is not None or window.until is not None)
    if ranged and not any(window.contains(d) for _, _, d in dated):  # type: ignore[union-attr]
        if not dated:
            return f"No article from {window.label} mentions it; the sources' dates are unknown."  # type: ignore[union-attr]
        n, p, d = max(dated, key=lambda x: x[2])
        what = "does" if answer.answerable else "comes closest"
        ref = f" [{n}]" if n else ""
        return f"No article from {window.label} mentions it; the newest one that {what} is from {d.isoformat()}{ref}."  # type: ignore[union-attr]
    if not dated:
        return "The sources' publication dates are unknown."
    n, p, d = max(dated, key=lambda x: x[2])
    label = "Newest source" if answer.answerable else "Newest passage found"
    line = f"{label}: {d.isoformat()}" + (f" ({p.source})" if p.source else "")
    if undated:
        line += f"; {undated} source{'s' if undated > 1 else ''} with no known date"
    return line
