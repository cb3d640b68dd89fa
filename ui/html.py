"""HTML for the chat page: answers, sources, trace, ingest reports (all escaped: article text is data).

Every answer is a numbered turn `t` of its browser session; its `[n]` links to
the source card `nr-src-t-n`, so a citation in an older answer still opens its
own passage. The click is handled by `HEAD` (open the turn, highlight and
scroll to the card), which works whatever the chat's HTML sanitiser does to
the link's default behaviour.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any, Sequence

from ingest import IngestReport
from rag.render import revision_note, trace_view
from core.types import Answer, Citation, Passage

WELCOME = (
    "**Ask a question about the articles.** Every answer cites its sources as [1], [2]…: "
    "click one to see the passage it came from, with the cited sentence highlighted. "
    "Add your own articles in the *Corpus* tab."
)


def streaming_html(text: str) -> str:
    return f'<div class="nr-answer nr-streaming">{html.escape(text)}<span class="nr-cursor">▍</span></div>'


def answer_html(a: Answer, turn: int) -> str:
    """The answer text with each [n] as a link to its source card, then any warnings."""
    if a.error:
        return (
            f'<div class="nr-error"><b>The model could not answer.</b> {html.escape(a.error)}'
            "<br>The retrieved passages are shown under Sources.</div>"
        )
    fresh = f'<div class="nr-fresh">🕒 {html.escape(a.freshness)}</div>' if a.freshness else ""
    if not a.answerable:
        return f'<div class="nr-declined"><span class="nr-badge">not in the articles</span> {html.escape(a.text)}</div>{fresh}'
    text = re.sub(r"\[(\d+)\]", lambda m: cite_link(turn, int(m.group(1))), html.escape(a.text))
    warn = "".join(
        '<div class="nr-warn">⚠ Not supported by '
        + (" ".join(cite_link(turn, n) for n in u.citations) or "the cited passages")
        + f": “{html.escape(u.sentence)}”"
        + (f" — {html.escape(u.reason)}" if u.reason else "")
        + "</div>"
        for u in a.unsupported
    )
    note = revision_note(a.revision)
    revised = f'<div class="nr-revised">↻ {html.escape(note[0].upper() + note[1:])}</div>' if note else ""
    return f'<div class="nr-answer">{text}</div>{fresh}{revised}{warn}'


def cite_link(turn: int, n: int) -> str:
    return f'<a class="nr-cite" href="#nr-src-{turn}-{n}" data-src="nr-src-{turn}-{n}">[{n}]</a>'


def sources_html(answers: Sequence[Answer]) -> str:
    """The sources of every turn, newest first; only the newest is open."""
    if not answers:
        return '<div class="nr-empty">The sources of each answer appear here.</div>'
    parts = []
    for t in range(len(answers), 0, -1):
        a = answers[t - 1]
        opened = " open" if t == len(answers) else ""
        parts.append(
            f'<details class="nr-turn" id="nr-turn-{t}"{opened}><summary>{t}. {html.escape(a.question)}</summary>'
            f"{_turn_sources(a, t)}</details>"
        )
    return "".join(parts)


def pending_sources_html(question: str, passages: Sequence[Passage], answers: Sequence[Answer]) -> str:
    """While the model writes: the passages it is reading, above the earlier turns' sources."""
    t = len(answers) + 1
    cards = "".join(_passage_card(p) for p in passages) or '<div class="nr-empty">No passages found.</div>'
    head = '<div class="nr-sub">Retrieved passages — the answer is being written; cited ones are marked when it is done</div>'
    turn = f'<details class="nr-turn nr-pending" id="nr-turn-{t}" open><summary>{t}. {html.escape(question)}</summary>{head}{cards}</details>'
    earlier = sources_html(answers) if answers else ""
    return turn + earlier.replace(" open>", ">", 1)


def _turn_sources(a: Answer, turn: int) -> str:
    if a.citations and not a.error:
        return "".join(_citation_card(c, _passage(a, c), turn) for c in a.citations)
    if a.passages:
        head = "Retrieved passages" if a.error else "Closest passages"
        return f'<div class="nr-sub">{head}</div>' + "".join(_passage_card(p) for p in a.passages)
    return '<div class="nr-empty">No passages found.</div>'


def _passage(a: Answer, c: Citation) -> Passage | None:
    return next((p for p in a.passages if p.n == c.passage), None)


def _meta(title: str, source: str, date: str, byline: str = "", page: int = 0, url: str = "", also_in: Sequence[str] = ()) -> str:
    bits = " · ".join(html.escape(x) for x in (source, date or "date unknown", byline, f"p. {page}" if page else "") if x)
    if also_in:
        bits += " · also in: " + html.escape(", ".join(also_in))
    link = f' · <a class="nr-url" href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{html.escape(url)}</a>' if _web(url) else ""
    return f'<div class="nr-title">{html.escape(title or "(untitled)")}</div><div class="nr-meta">{bits}{link}</div>'


def _web(url: str) -> bool:
    """Only http(s) links are made clickable (a javascript: URL from an article must not be)."""
    return url.lower().startswith(("http://", "https://"))


def highlight(text: str, quote: str) -> str:
    """The passage, escaped, with the quoted sentence in <mark> (or the quote alone if it is not in the passage)."""
    if quote and quote in text:
        i = text.index(quote)
        return html.escape(text[:i]) + f"<mark>{html.escape(quote)}</mark>" + html.escape(text[i + len(quote) :])
    return f"<mark>{html.escape(quote)}</mark>" if quote else html.escape(text)


def _citation_card(c: Citation, p: Passage | None, turn: int) -> str:
    body = highlight(p.text if p else c.quote, c.quote)
    meta = _meta(c.title, c.source, c.date, p.byline if p else "", c.page, c.url, p.also_in if p else ())
    return f'<div class="nr-card" id="nr-src-{turn}-{c.n}"><span class="nr-num">[{c.n}]</span>{meta}<p>{body}</p></div>'


def _passage_card(p: Passage) -> str:
    return f'<div class="nr-card"><span class="nr-num">{p.n}.</span>{_meta(p.title, p.source, p.date, p.byline, p.page, p.url, p.also_in)}<p>{html.escape(p.text)}</p></div>'


def trace_html(a: Answer | None) -> str:
    """How the latest answer was made (`rag.render.trace_view`, as the CLI's --trace), and the engine's raw trace."""
    if a is None:
        return '<div class="nr-empty">Ask a question to see how its answer was made.</div>'
    v = trace_view(a)
    summary = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(val)}</td></tr>" for k, val in v.summary)
    out = [f'<table class="nr-table">{summary}</table>']
    if v.rows:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in v.header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in v.rows)
        out.append(f'<table class="nr-table"><tr>{head}</tr>{body}</table>')
    else:
        out.append("<p>No passages were retrieved.</p>")
    if a.trace:
        out.append(f'<div class="nr-sub">Pipeline trace</div><pre class="nr-json">{html.escape(_json(a.trace))}</pre>')
    return '<div class="nr-trace">' + "".join(out) + "</div>"


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def plain_text(a: Answer | None) -> str:
    """The answer and its sources as plain text, for the copy button."""
    if a is None:
        return ""
    if a.error:
        return f"The model could not answer: {a.error}"
    lines = [a.text]
    if a.citations:
        lines += ["", "Sources:"]
        lines += [f"[{c.n}] {c.title} — {', '.join(x for x in (c.source, c.date, f'p. {c.page}' if c.page else '', c.url) if x)}: “{c.quote}”" for c in a.citations]
    return "\n".join(lines)


def report_html(report: IngestReport) -> str:
    r = report
    parts = [
        f'<div class="nr-report"><b>Added {r.added}, updated {r.updated}, unchanged {r.unchanged}, failed {len(r.failed)}.</b> '
        f"The store holds {r.articles_total} articles in {r.chunks_total} chunks.</div>"
    ]
    for title, rows in (("Not added", r.failed), ("Warnings", r.warnings)):
        if rows:
            body = "".join(f"<tr><td>{html.escape(x['path'])}</td><td>{html.escape(x['reason'])}</td></tr>" for x in rows)
            parts.append(f'<div class="nr-sub">{title}</div><table class="nr-table nr-failed"><tr><th>file</th><th>reason</th></tr>{body}</table>')
    return "".join(parts)


def message_html(text: str, kind: str = "error") -> str:
    return f'<div class="nr-{kind}">{html.escape(text)}</div>'


CSS = """
.nr-model-loading {padding:6px 10px; border-radius:6px; background:#fef3c7; color:#78350f;}
.nr-model-failed {padding:6px 10px; border-radius:6px; background:#fee2e2; color:#7f1d1d;}
.nr-card {border:1px solid var(--border-color-primary); border-radius:8px; padding:8px 10px; margin:6px 0; scroll-margin:60px;}
.nr-card.nr-active, .nr-card:target {border-color:#d97706; box-shadow:0 0 0 2px #fcd34d;}
.nr-card p {margin:6px 0 0 0; line-height:1.45;}
.nr-num {font-weight:bold; margin-right:6px;}
.nr-title {font-weight:600; display:inline;}
.nr-fresh {color:var(--body-text-color-subdued); font-size:0.85em; margin-top:0.3em;}
.nr-meta {color:var(--body-text-color-subdued); font-size:0.85em;}
.nr-turn > summary {cursor:pointer; font-weight:600; margin:6px 0;}
.nr-sub {font-weight:600; margin:8px 0 2px 0; color:var(--body-text-color-subdued);}
.nr-empty {color:var(--body-text-color-subdued); font-style:italic;}
a.nr-cite {font-weight:600; text-decoration:none; color:#b45309; cursor:pointer; padding:0 1px;}
a.nr-cite:hover {text-decoration:underline;}
.nr-declined {color:var(--body-text-color-subdued); font-style:italic; border-left:3px solid #9ca3af; padding-left:8px;}
.nr-badge {font-style:normal; font-size:0.75em; text-transform:uppercase; letter-spacing:0.04em; background:#e5e7eb; color:#374151; border-radius:4px; padding:1px 6px; margin-right:4px;}
.nr-error {color:#b91c1c; border-left:3px solid #dc2626; padding-left:8px;}
.nr-warn {color:#92400e; font-size:0.9em; margin-top:6px;}
.nr-revised {color:var(--body-text-color-subdued); font-size:0.85em; margin-top:6px;}
.nr-cursor {opacity:0.6;}
.nr-table {border-collapse:collapse; font-size:0.85em; width:100%;}
.nr-table td, .nr-table th {border:1px solid var(--border-color-primary); padding:2px 6px; text-align:left;}
.nr-json {font-size:0.8em; max-height:320px; overflow:auto; white-space:pre-wrap;}
mark {background:#fde68a; color:#111827; padding:0 1px;}
"""

# Loaded in the page's <head>: citation clicks and the copy button. No outside resources.
HEAD = """<script>
(() => {
  function showSource(id) {
    const card = document.getElementById(id);
    if (!card) return false;
    const turn = card.closest('details');
    if (turn) turn.open = true;
    document.querySelectorAll('.nr-card.nr-active').forEach((c) => c.classList.remove('nr-active'));
    card.classList.add('nr-active');
    card.scrollIntoView({behavior: 'smooth', block: 'center'});
    return true;
  }
  document.addEventListener('click', (ev) => {
    const a = ev.target && ev.target.closest ? ev.target.closest('a.nr-cite') : null;
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    showSource(a.dataset.src || (a.getAttribute('href') || '').replace(/^#/, ''));
  }, true);
  window.nrCopy = (text) => {
    if (!text) return;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).catch(() => fallback(text));
    } else {
      fallback(text);
    }
  };
  function fallback(text) {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    try { document.execCommand('copy'); } finally { ta.remove(); }
  }
})();
</script>"""
