"""Who says what: a figure in the answer that the passages give otherwise is never left alone.

When the answer states a figure ("nearly 60 square miles") and a passage it was
given holds another figure of the same unit ("close to 200 square miles"), the
answer says so, each figure attributed to who gives it (the speaker in the
sentence, else the outlet) and cited. When the other figure comes from a later
article, the answer's figure is marked as superseded by it, with both dates,
so an old figure is never presented as current.
"""

from __future__ import annotations

import re
from dataclasses import replace

from core.types import Claim, Passage
from rag.citations import make_citation
from rag.figures import Figure, dated_label, figures
from rag.steps import AnswerState


def _plain(text: str) -> str:
    return re.sub(r"\s*\[[^\]]*\]", "", text)


class Claims:
    name, closing = "claims", False

    def __call__(self, state: AnswerState) -> None:
        a = state.answer
        if a is None or not a.answerable:
            return
        stated = {f.unit: f for f in figures(_plain(a.text))}
        if not stated:
            return
        found: list[tuple[Figure, Passage, str]] = []  # every figure of those units in the passages
        for p in a.passages:
            for sentence, _, _ in p.sentence_texts():
                for f in figures(sentence):
                    if f.unit in stated:
                        found.append((f, p, sentence))
        claims, extra, lines = [], list(a.citations), []
        for unit, mine in stated.items():
            own = next(((f, p, s) for f, p, s in found if f.value == mine.value), None)
            others = [(f, p, s) for f, p, s in found if f.value != mine.value]
            if own is None or not others:
                continue
            seen = {mine.value}
            rivals = []
            for f, p, s in others:
                if f.value not in seen:
                    seen.add(f.value)
                    rivals.append((f, p, s))
            own_n = _cite(extra, own[1], own[2])
            claims.append(Claim(own[0].speaker or own[1].source, own[0].written, own[0].value, unit, own[1].date[:10], own_n))
            for f, p, s in rivals:
                n = _cite(extra, p, s)
                claims.append(Claim(f.speaker or p.source, f.written, f.value, unit, p.date[:10], n))
                if p.date[:10] > own[1].date[:10]:  # superseded: the answer's figure is the older one
                    lines.append(f"That figure is from {dated_label(own[1].date)}; a later report ({dated_label(p.date)}) "
                                 f"gives {f.written} [{n}].")
                elif p.date[:10] < own[1].date[:10]:  # the figure moved: the earlier one is history
                    lines.append(f"Earlier ({dated_label(p.date)}) it was {f.written} [{n}].")
                else:
                    lines.append(f"Sources differ: {_who(own[0], own[1])} put it at {own[0].written} [{own_n}]; "
                                 f"{_who(f, p)} put it at {f.written} [{n}].")
        if lines:
            state.answer = replace(a, text=a.text + " " + " ".join(lines), citations=tuple(extra), claims=tuple(claims))


def _who(f: Figure, p: Passage) -> str:
    return f.speaker or p.source or "one source"


def _cite(citations: list, p: Passage, sentence: str) -> int:
    """The [n] of a citation of `p` quoting `sentence`: an existing one, else a new one."""
    for c in citations:
        if c.passage == p.n and (c.quote == sentence or sentence in c.quote or c.quote in sentence):
            return c.n
    n = max((c.n for c in citations), default=0) + 1
    citations.append(make_citation(n, p, sentence))
    return n
