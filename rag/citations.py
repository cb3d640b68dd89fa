"""Citations are parsed, not trusted.

`[n]` markers (also `[1, 2]`, `[1][2]`, `[1-3]`, `[Passage 2]`) are mapped back
to the numbered passages; numbers outside 1..n_passages are dropped and
reported; the rest are renumbered in order of first use, so the reader sees
[1], [2], ... whatever the model's numbering was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.text import sentence_spans, words
from core.types import Citation, Passage

_MARKER = re.compile(r"\[\s*(?:(?:passages?|sources?|source|doc(?:ument)?s?)\s*)?(\d+(?:\s*(?:[,;–-]|and)\s*\d+)*)\s*\]", re.I)


@dataclass(frozen=True)
class ParsedCitations:
    text: str  # answer with markers renumbered by first use
    order: tuple[int, ...]  # passage numbers (1-based) in order of first use
    dropped: tuple[int, ...]  # out-of-range numbers the model made up


def _numbers(group: str) -> list[int]:
    nums: list[int] = []
    for part in re.split(r"\s*(?:[,;]|and)\s*", group):
        if m := re.fullmatch(r"(\d+)\s*[–-]\s*(\d+)", part.strip()):
            a, b = int(m.group(1)), int(m.group(2))
            nums.extend(range(a, b + 1) if 0 < b - a < 10 else [a, b])
        elif part.strip().isdigit():
            nums.append(int(part))
    return nums


def parse_citations(text: str, n_passages: int) -> ParsedCitations:
    order: list[int] = []
    dropped: list[int] = []

    def renumber(m: re.Match[str]) -> str:
        kept = []
        for n in _numbers(m.group(1)):
            if 1 <= n <= n_passages:
                if n not in order:
                    order.append(n)
                new = order.index(n) + 1
                if new not in kept:
                    kept.append(new)
            elif n not in dropped:
                dropped.append(n)
        return "".join(f"[{k}]" for k in kept)

    out = _MARKER.sub(renumber, text)
    out = re.sub(r"[ \t]+([.,;:!?])", r"\1", out)  # "claim [9]." minus a dropped marker
    out = re.sub(r"[ \t]{2,}", " ", out).strip()
    return ParsedCitations(out, tuple(order), tuple(dropped))


def sentences_with_citations(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """Split a (renumbered) answer into sentences (`core.text.sentence_spans`) and the
    citation numbers each carries.

    A marker right after a sentence's end ("... 2026. [1]") belongs to that sentence. A line
    is a claim of its own whether or not it ends as a sentence ("- Ukraine agreed to a
    minerals deal [2]"), without its list marker; a heading ("March 2025:") opens the line after
    it, so the month it gives is checked against what that line cites.
    """
    out: list[tuple[str, tuple[int, ...]]] = []
    for line in _lines(text):
        for s, e in sentence_spans(line):
            part = line[s:e]
            if out and (lead := _LEADING_MARKERS.match(part)):
                out[-1] = (out[-1][0], out[-1][1] + _markers(lead.group(0)))
                part = part[lead.end() :]
            sentence = _LIST_MARK.sub("", re.sub(r"\s*\[\d+\]", "", part)).strip()
            if sentence:
                out.append((sentence, _markers(part)))
    return out


def _lines(text: str) -> list[str]:
    """The answer's lines, each without its list marker, a heading joined to the line after it."""
    lines, heading = [], ""
    for raw in text.splitlines():
        line = _LIST_MARK.sub("", raw).strip()
        if not line:
            continue
        if _HEADING.fullmatch(line):
            heading = f"{heading} {line}".strip()
            continue
        lines.append(f"{heading} {line}".strip())
        heading = ""
    return lines + ([heading] if heading else [])


_LIST_MARK = re.compile(r"^\s*(?:[-*•–]|\d{1,2}[.)])\s+")
_HEADING = re.compile(r"[^.!?\[\]]{1,60}:")  # a line that only heads the next: "March 2025:", "Key points:"


_LEADING_MARKERS = re.compile(r"(?:\s*\[\d+\])+")


def _markers(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\[(\d+)\]", text))


def make_citation(n: int, p: Passage, claim: str) -> Citation:
    """Citation number `n` of passage `p`, quoting the passage sentence closest to `claim`."""
    quote, start, end = best_sentence(p, claim)
    return Citation(n, p.n, p.article_id, p.title, p.source, p.date, quote, start, end, p.path, p.page, p.url)


def _words(text: str) -> set[str]:
    return {w for w in words(text) if len(w) > 2}


def best_sentence(p: Passage, claim: str) -> tuple[str, int, int]:
    """The passage sentence sharing most words with the claim (the quote to highlight)."""
    target = _words(claim)
    sents = p.sentence_texts()
    best = max(sents, key=lambda s: (len(_words(s[0]) & target), -sents.index(s)))
    return best
