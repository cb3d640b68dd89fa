"""HTML for the chat page: answers, sources, trace, ingest reports (all escaped: article text is data).

Every answer is a numbered turn `t` of its browser session; its `[n]` links to
the source card `nr-src-t-n`, so a citation in an older answer still opens its
own passage. The click is handled by `HEAD` (open the turn, highlight and
scroll to the card), which works whatever the chat's HTML sanitiser does to
the link's default behaviour.

A story answer (`Answer.timeline`) also shows its events as a timeline: dates
down the side, one row per event with its outlets and a link to its passage,
the card `nr-ev-t-k` (event k, oldest first) under Sources; the overview's `[n]`
open the same cards. The events are known before the model writes, so the
timeline and its cards are shown while the overview streams.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any, Mapping, Sequence

from ingest import IngestReport
from rag.figures import dated_label
from ui.text import revision_note, trace_view
from core.types import Answer, Citation, Passage, TimelineEvent

WELCOME = (
    "**Ask a question about the articles.** Every answer cites its sources as [1], [2]…: "
    "click one to see the passage it came from, with the cited sentence highlighted. "
    "Add your own articles in the *Corpus* tab."
)


def streaming_html(text: str, timeline: Sequence[TimelineEvent] = (), turn: int = 0) -> str:
    """The answer as it streams; a story's events (known before the first word) under it."""
    if not timeline:
        return f'<div class="nr-answer nr-streaming">{html.escape(text)}<span class="nr-cursor">▍</span></div>'
    wait = "" if text else '<span class="nr-wait">Writing an overview of these events…</span>'
    return f'<div class="nr-answer nr-streaming">{html.escape(text)}{wait}<span class="nr-cursor">▍</span></div>{timeline_html(timeline, turn)}'


def answer_html(a: Answer, turn: int) -> str:
    """The answer text with each [n] as a link to its source card, then any warnings."""
    story = timeline_html(a.timeline, turn) if a.timeline else ""
    if a.error:
        return (
            f'<div class="nr-error"><b>The model could not answer.</b> {html.escape(a.error)}'
            "<br>The retrieved passages are shown under Sources.</div>"
        ) + story
    fresh = f'<div class="nr-fresh">🕒 {html.escape(a.freshness)}</div>' if a.freshness else ""
    if not a.answerable:
        return f'<div class="nr-declined"><span class="nr-badge">not in the articles</span> {html.escape(a.text)}</div>{story}{fresh}'
    link = _linker(a, turn)
    text = re.sub(r"\[(\d+)\]", lambda m: link(int(m.group(1))), html.escape(a.text))
    warn = "".join(
        '<div class="nr-warn">⚠ Not supported by '
        + (" ".join(link(n) for n in u.citations) or "the cited passages")
        + f": “{html.escape(u.sentence)}”"
        + (f" — {html.escape(u.reason)}" if u.reason else "")
        + "</div>"
        for u in a.unsupported
    )
    note = revision_note(a.revision)
    revised = f'<div class="nr-revised">↻ {html.escape(note[0].upper() + note[1:])}</div>' if note else ""
    return f'<div class="nr-answer">{text}</div>{story}{fresh}{revised}{warn}'


def cite_link(turn: int, n: int, target: str = "") -> str:
    """`[n]` as a link to its card (`target`; default: the answer's source card `nr-src-turn-n`)."""
    target = target or f"nr-src-{turn}-{n}"
    return f'<a class="nr-cite" href="#{target}" data-src="{target}">[{n}]</a>'


def _linker(a: Answer, turn: int) -> Any:
    """How `[n]` links: to its source card, or in a story answer to the card of the event it cites."""
    if not a.timeline:
        return lambda n: cite_link(turn, n)
    event_of = {e.citations[0].n: k for k, e in enumerate(a.timeline, 1) if e.citations}
    passage_of = {c.n: c.passage for c in a.citations}
    return lambda n: cite_link(turn, n, event_id(turn, event_of[passage_of[n]]) if passage_of.get(n) in event_of else "")


def event_id(turn: int, k: int) -> str:
    return f"nr-ev-{turn}-{k}"


def timeline_html(events: Sequence[TimelineEvent], turn: int) -> str:
    """A story's events as a picture to scan: dates down the side, one row per event (its sentence),
    the outlets that reported it, and a link to its passage (the card `event_id(turn, k)`)."""
    if not events:
        return ""
    outlets = dict.fromkeys(o for e in events for o in e.outlets)
    first, last = dated_label(events[0].date), dated_label(events[-1].date)
    span = first if first == last else f"{first} – {last} {events[-1].date[:4]}"
    n = len(events)
    head = (f'<div class="nr-tl-head"><b>Timeline</b> · {n} event{"s" if n != 1 else ""} · '
            f'{len(outlets)} outlet{"s" if len(outlets) != 1 else ""} · {html.escape(span)}</div>')
    return f'<div class="nr-timeline">{head}{"".join(_event_row(e, turn, k) for k, e in enumerate(events, 1))}</div>'


def _event_row(e: TimelineEvent, turn: int, k: int) -> str:
    chips = "".join(f'<span class="nr-outlet">{html.escape(o)}</span>' for o in e.outlets)
    target = event_id(turn, k)
    link = f'<a class="nr-cite nr-ev-link" href="#{target}" data-src="{target}" title="Show the passage under Sources">passage ›</a>'
    return (
        f'<div class="nr-ev"><div class="nr-ev-date">{html.escape(dated_label(e.date))}<span class="nr-ev-year">{html.escape(e.date[:4])}</span></div>'
        f'<div class="nr-ev-body"><span class="nr-ev-text">{html.escape(e.text)}</span> <span class="nr-ev-meta">{chips}{link}</span></div></div>'
    )


def _event_cards(events: Sequence[TimelineEvent], turn: int, passages: Sequence[Passage] = ()) -> str:
    """Under Sources: each event's passage, its sentence highlighted (in the retrieved chunk, when given)."""
    cards = []
    for k, e in enumerate(events, 1):
        c = e.citations[0]
        p = next((p for p in passages if p.article_id == c.article_id and p.start <= c.start and c.end <= p.end and c.quote in p.text), None)
        meta = _meta(c.title, c.source, c.date, p.byline if p else "", c.page, c.url, [o for o in e.outlets if o != c.source])
        body = highlight(p.text if p else c.quote, c.quote)
        cards.append(f'<div class="nr-card nr-ev-card" id="{event_id(turn, k)}"><span class="nr-num">{html.escape(dated_label(e.date))}</span>{meta}<p>{body}</p></div>')
    return '<div class="nr-sub">The timeline’s passages, oldest first</div>' + "".join(cards)


def sources_html(answers: Sequence[Answer], retrieved: Mapping[int, Sequence[Passage]] | None = None) -> str:
    """The sources of every turn, newest first; only the newest is open. `retrieved`: turn -> the
    passages it retrieved (a story's event cards show their sentence in them)."""
    if not answers:
        return '<div class="nr-empty">The sources of each answer appear here.</div>'
    parts = []
    for t in range(len(answers), 0, -1):
        a = answers[t - 1]
        opened = " open" if t == len(answers) else ""
        parts.append(
            f'<details class="nr-turn" id="nr-turn-{t}"{opened}><summary>{t}. {html.escape(a.question)}</summary>'
            f"{_turn_sources(a, t, (retrieved or {}).get(t, ()))}</details>"
        )
    return "".join(parts)


def pending_sources_html(
    question: str, passages: Sequence[Passage], answers: Sequence[Answer],
    timeline: Sequence[TimelineEvent] = (), retrieved: Mapping[int, Sequence[Passage]] | None = None,
) -> str:
    """While the model writes: the passages it is reading (a story's: its events'), above the earlier turns' sources."""
    t = len(answers) + 1
    if timeline:
        head, cards = "", _event_cards(timeline, t, passages)
    else:
        cards = "".join(_passage_card(p) for p in passages) or '<div class="nr-empty">No passages found.</div>'
        head = '<div class="nr-sub">Retrieved passages — the answer is being written; cited ones are marked when it is done</div>'
    turn = f'<details class="nr-turn nr-pending" id="nr-turn-{t}" open><summary>{t}. {html.escape(question)}</summary>{head}{cards}</details>'
    earlier = sources_html(answers, retrieved) if answers else ""
    return turn + earlier.replace(" open>", ">", 1)


def _turn_sources(a: Answer, turn: int, retrieved: Sequence[Passage] = ()) -> str:
    if a.timeline:
        return _event_cards(a.timeline, turn, retrieved)
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
    """How the latest answer was made (`ui.text.trace_view`, as the CLI's --trace), and the engine's raw trace."""
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
    if a.timeline:
        lines += ["", "Timeline:", *(f"  {e.date}  {e.text} ({', '.join(e.outlets)})" for e in a.timeline)]
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
.nr-wait {color:var(--body-text-color-subdued); font-style:italic;}
.nr-timeline {margin-top:10px; padding-top:6px; border-top:1px solid var(--border-color-primary);}
.nr-tl-head {font-size:0.85em; color:var(--body-text-color-subdued); margin-bottom:6px;}
.nr-tl-head b {color:var(--body-text-color); text-transform:uppercase; letter-spacing:0.04em; font-size:0.95em;}
.nr-ev {display:flex; align-items:stretch;}
.nr-ev-date {flex:0 0 96px; width:96px; min-width:96px; box-sizing:border-box; text-align:right; padding:1px 12px 0 0; font-weight:600; font-size:0.85em; white-space:nowrap; font-variant-numeric:tabular-nums;}
.nr-ev-year {display:block; font-weight:normal; color:var(--body-text-color-subdued); font-size:0.9em;}
.nr-ev-body {position:relative; flex:1; border-left:2px solid #f59e0b; padding:0 0 10px 14px; line-height:1.4;}
.nr-ev:last-child .nr-ev-body {border-left-color:transparent; background:linear-gradient(#f59e0b, #f59e0b) 0 0 / 2px 8px no-repeat;}
.nr-ev-body::before {content:""; position:absolute; left:-7px; top:3px; width:12px; height:12px; border-radius:50%; background:#fff; border:2px solid #d97706; box-sizing:border-box;}
.nr-ev-meta {font-size:0.8em; white-space:nowrap;}
.nr-outlet {background:var(--background-fill-secondary); border:1px solid var(--border-color-primary); border-radius:10px; padding:0 7px; margin-right:4px; color:var(--body-text-color-subdued);}
a.nr-ev-link {font-weight:600;}
.nr-ev-card .nr-num {font-size:0.85em; color:#b45309;}
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
