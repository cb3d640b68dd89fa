"""HTML for answers and sources on the chat page (escaped: article text is data)."""

from __future__ import annotations

import html
import re

from rag.types import Answer, Citation, Passage


def answer_html(a: Answer) -> str:
    """The answer text with each [n] as a link to its source card."""
    if a.error:
        return f'<div class="nr-error"><b>The model could not answer.</b> {html.escape(a.error)}<br>The retrieved passages are shown beside.</div>'
    text = html.escape(a.text)
    if not a.answerable:
        return f'<div class="nr-declined">{text}</div>'
    text = re.sub(r"\[(\d+)\]", lambda m: f'<a class="nr-cite" href="#nr-src-{m.group(1)}">[{m.group(1)}]</a>', text)
    warn = "".join(
        f'<div class="nr-warn">⚠ Not supported by the cited passage: “{html.escape(u.sentence)}” ({html.escape(u.reason)})</div>'
        for u in a.unsupported
    )
    return f'<div class="nr-answer">{text}</div>{warn}'


def sources_html(a: Answer | None) -> str:
    if a is None:
        return '<div class="nr-empty">Sources of the answer appear here.</div>'
    if a.citations:
        return "".join(_citation_card(c, _passage(a, c)) for c in a.citations)
    if a.passages:
        head = "Closest passages" if not a.error else "Retrieved passages"
        return f"<h4>{head}</h4>" + "".join(_passage_card(p) for p in a.passages)
    return '<div class="nr-empty">No passages found.</div>'


def _passage(a: Answer, c: Citation) -> Passage | None:
    return next((p for p in a.passages if p.n == c.passage), None)


def _meta(title: str, source: str, date: str) -> str:
    bits = " · ".join(html.escape(x) for x in (source, date) if x)
    return f'<div class="nr-title">{html.escape(title)}</div><div class="nr-meta">{bits}</div>'


def _citation_card(c: Citation, p: Passage | None) -> str:
    body = html.escape(c.quote)
    if p is not None and c.quote in p.text:
        i = p.text.index(c.quote)
        body = html.escape(p.text[:i]) + f"<mark>{html.escape(c.quote)}</mark>" + html.escape(p.text[i + len(c.quote) :])
    return f'<div class="nr-card" id="nr-src-{c.n}"><span class="nr-num">[{c.n}]</span>{_meta(c.title, c.source, c.date)}<p>{body}</p></div>'


def _passage_card(p: Passage) -> str:
    return f'<div class="nr-card"><span class="nr-num">·</span>{_meta(p.title, p.source, p.date)}<p>{html.escape(p.text)}</p></div>'


CSS = """
.nr-card {border:1px solid #ddd; border-radius:8px; padding:8px 10px; margin:6px 0;}
.nr-card:target {border-color:#d97706; box-shadow:0 0 0 2px #fcd34d;}
.nr-num {font-weight:bold; margin-right:6px;}
.nr-title {font-weight:600; display:inline;}
.nr-meta {color:#666; font-size:0.85em;}
.nr-declined {color:#555; font-style:italic;}
.nr-error {color:#b91c1c;}
.nr-warn {color:#92400e; font-size:0.9em;}
mark {background:#fde68a;}
"""
