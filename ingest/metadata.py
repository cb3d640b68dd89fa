"""News metadata and page furniture in plain-text articles.

A news page saved as text starts with a headline, maybe a standfirst, a byline
("By A and B, The Outlet") and a date line ("Updated January 28, 2026 at ...");
it carries photo captions ending in a credit "(Name/Agency)" and often ends in
site furniture ("Comments", "Popular posts from this blog", links), and in between
promotions (a newsletter, a puzzle, an embedded video's player line). The header becomes
metadata, the furniture is dropped, what is left is the body.

When the headline is known from elsewhere (a JSON record's field, the page's metadata, the
feed entry), the first line is the headline only when it is that one or does not read as a
sentence: a short first paragraph is the story's lede, and news says what happened there.
"""

from __future__ import annotations

import re
from datetime import datetime

from core.articles import Article
from core.text import fold, sentence_spans

_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
_DATE = re.compile(
    rf"(?:(?:Updated|Published|Posted|Last updated)[:\s]+)?(?:\w+day,?\s+)?"
    rf"(?P<m>{_MONTHS})\.?\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}})",
    re.I,
)
# A wire-style dateline opening the story's first paragraph: "RIVERSIDE, Calif., Jan. 12, 2026 (AP) — ..."
_DATELINE = re.compile(
    rf"^[A-Z][A-Z.'’ -]{{1,40}}(?:,\s+[A-Z][A-Za-z.'’ -]{{1,30}})?,\s+(?:\w+day,?\s+)?"
    rf"(?P<m>{_MONTHS})\.?\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}})\s*(?:\([^()]{{1,40}}\)\s*)?[—–-]"
)
_ISO_DATE = re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?!\d)")
_BYLINE = re.compile(r"^\s*By\s+(?P<who>[^\n]{2,200})$", re.I)
_CREDIT = re.compile(r"\((?:[^()]*/[^()]*|[^()]*(?:Reuters|AP|AFP|Getty Images|EPA|Bloomberg)[^()]*)\)\s*$")
_CONTRIB = re.compile(r"\bcontributed(?: to this (?:report|article|story))?\.?\s*$", re.I)
# Lines that start a page's trailing furniture: everything from here on is dropped.
_TAIL = re.compile(
    r"^(?:comments?|\d+\s+comments?|popular posts from this blog|related (?:articles|stories|posts|coverage)|"
    r"read more|more from .{1,60}|recommended|most read|you may also like|share this (?:article|story)|"
    r"sign up for .{0,80}newsletter.*|subscribe to .{0,80})\s*:?$",
    re.I,
)
# Single lines of furniture anywhere.
_NOISE = re.compile(
    r"^(?:advertisement|story continues below advertisement|skip to main content|share|tweet|email|print|"
    r"listen to this article|\d+ min read|image|photo|video)\s*$",
    re.I,
)
# A promotion boxed into the story, a whole line of its own.
_PROMO = re.compile(
    r"^(?:(?:join our [^.!?]{1,40}[.!?]\s*)?(?:subscribe|sign up)\b.*\b(?:newsletters?|inbox)\b|"
    r"need a break\? play\b|video ad feedback\b)",
    re.I,
)
PROMO_CHARS = 800  # a longer line is the story's own text, whatever it starts with
# A label the page sets before the text it introduces, on the same line: the label goes, the text stays.
_LABEL = re.compile(r"^AI[- ](?:assisted|generated) summary\b\s*:?\s*", re.I)
_SENTENCE_END = (".", "!", "?", '"', "”", "’", "'", "…", ")")
_OUTLET_HINT = re.compile(r"\b(?:Post|Times|News|Journal|Guardian|Reuters|Associated Press|AP|AFP|BBC|CNN|Independent|Herald|Tribune|Telegraph|Gazette|Agency|Press|Radio|TV|Magazine)\b")


def parse_plain(text: str, path: str, title: str = "") -> Article:
    """Split a plain-text (or Markdown) article into metadata and body spans. `title`: the
    headline when the source gives it apart from the text."""
    lines = _line_spans(text)
    head = [(s, e) for s, e in lines if text[s:e].strip()][:8]
    used: set[int] = set()
    lead: set[int] = set()  # a line opening with a dateline: body, never the headline
    article = Article(text=text, path=path, body=[])

    for i, (s, e) in enumerate(head):
        line = text[s:e].strip()
        m = _BYLINE.match(line)
        if m and not article.byline:
            article.byline, article.source = _split_byline(m.group("who"))
            used.add(s)
            continue
        if not article.date and i < 6 and (dm := _DATELINE.match(line)):
            article.date = _iso(dm)  # the line stays in the body: it is the story's first paragraph
            article.date_source = "dateline" if article.date else ""
            lead.add(s)
            continue
        if not article.date and len(line) < 120 and (dm := _DATE.search(line) or _ISO_DATE.search(line)):
            if i < 6 and (line.lower().startswith(("updated", "published", "posted", "last updated")) or len(line) < 60):
                article.date = _iso(dm)
                article.date_source = "dateline" if article.date else ""
                used.add(s)

    first_s, first_e = head[0] if head else (0, 0)
    first = text[first_s:first_e].strip().lstrip("#").strip()
    if first and first_s not in used | lead and (_is_title(first, title) if title else _is_headline(first, text, first_e)):
        article.title = first
        used.add(first_s)
    if title:
        article.title, article.title_guessed = title, False
    body: list[tuple[int, int]] = []
    for s, e in lines:
        line = text[s:e].strip()
        if not line or s in used:
            continue
        if _TAIL.match(line) and s > len(text) * 0.5:
            break
        if _NOISE.match(line) or _is_caption(line) or (_CONTRIB.search(line) and len(line) < 200):
            continue
        if _PROMO.match(line) and len(line) < PROMO_CHARS:
            continue
        ls = s + (len(text[s:e]) - len(text[s:e].lstrip()))
        if label := _LABEL.match(line):
            ls, line = ls + label.end(), line[label.end():]
            if not line:
                continue
        body.append((ls, ls + len(line)))
    article.body = body
    if not article.title:
        article.title, article.title_guessed = _guess_title(text, body), True
    return article


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def _is_headline(line: str, text: str, end: int) -> bool:
    """A short first line without final punctuation, or followed by a blank line."""
    if len(line) > 200 or len(line.split()) < 2:
        return False
    followed_by_blank = re.match(r"\n[ \t]*\n", text[end : end + 20]) is not None
    return not line.endswith((".", ",", ";", ":")) or (followed_by_blank and len(line) < 120)


def _is_title(line: str, title: str) -> bool:
    """With the headline known: the first line is it, or a line that is no sentence of the story
    (a dateline's "CNN —", the author's name); a sentence is the lede and stays in the body."""
    return fold(line) == fold(title) or len(line) <= 200 and not line.rstrip().endswith(_SENTENCE_END)


def _is_caption(line: str) -> bool:
    return bool(_CREDIT.search(line)) and len(line) < 400


def _split_byline(who: str) -> tuple[str, str]:
    """'A and B, The Washington Post' -> ('A and B', 'The Washington Post')."""
    who = who.strip().rstrip(".")
    if "," in who:
        names, tail = who.rsplit(",", 1)
        tail = tail.strip()
        if _OUTLET_HINT.search(tail) or tail.lower().startswith("the "):
            return names.strip(), tail
    m = re.search(r"\s+(?:for|of)\s+(?P<o>(?:the\s+)?[A-Z][\w .&'-]+)$", who)
    if m and _OUTLET_HINT.search(m.group("o")):
        return who[: m.start()].strip(), m.group("o").strip()
    return who, ""


def _iso(m: re.Match[str]) -> str:
    y, mo, d = m.group("y"), m.group("m"), m.group("d")
    try:
        if mo.isdigit():
            return datetime(int(y), int(mo), int(d)).date().isoformat()
        fmt = "%B %d %Y" if len(mo) > 3 and mo.lower() != "sept" else "%b %d %Y"
        return datetime.strptime(f"{mo[:3] if fmt == '%b %d %Y' else mo} {d} {y}", fmt).date().isoformat()
    except ValueError:
        return ""


def _guess_title(text: str, body: list[tuple[int, int]]) -> str:
    """No headline: the start of the first sentence, shortened, stands in."""
    if not body:
        return ""
    first = sentence_spans(text, *body[0])[:1]
    words = text[first[0][0] : first[0][1]].split() if first else []
    return " ".join(words[:12]) + ("…" if len(words) > 12 else "")
