"""Less to read before the first word: the sentences of the retrieved passages that bear on
the question, plus their neighbours, under a token budget.

On 2 cores the embedded LLM reads about 70 prompt tokens a second, so every passage
sentence it is shown costs about half a second before the first word. `select_context`
scores each sentence of the top passages by the question's words it holds (weighted by
how rare they are among those sentences), keeps the best ones and then their neighbours
while the budget lasts, and drops passages left with nothing.

The result is ordinary `Passage` objects (`dataclasses.replace`), renumbered 1..m in
retrieval order: `text` is the kept sentences joined by one space, `sentences` their
spans in the article, `start`/`end` the first and last span. So `Passage.sentence_texts()`
and the citations (rag/citations.py) map each sentence to its exact place in the article,
as for a whole passage.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

from core.text import estimated_tokens
from core.types import Passage


_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")
_STOP = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being it its this that these
    those there their they them he she his her him we our you your i me my do does did done has have had having not no
    so than then too very can could will would should may might must shall what which who whom whose when where why how
    about into over after before under again also just only any all each other some such own same more most up down out
    off said says say according told new one""".split()
)


@dataclass(frozen=True)
class ContextConfig:
    """`budget_tokens`: passage text and headers the prompt may hold (estimated tokens);
    `neighbours`: sentences kept on each side of a chosen one when the budget allows;
    `max_passages`: at most this many passages survive."""

    budget_tokens: int
    neighbours: int
    max_passages: int


_COUNT_Q = re.compile(r"\b(how (many|much|long|old|far)|what (percentage|number|year)|when)\b", re.I)


def terms(text: str) -> set[str]:
    """Content words, crudely stemmed (a shared 5-letter prefix counts as the same word)."""
    return {term(w) for w in words(text)}


def words(text: str) -> list[str]:
    """Content words as written, lowercased: what `terms` stems."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


def term(word: str) -> str:
    """A content word's crude stem: its first 5 letters (a number stays whole)."""
    return word if word[0].isdigit() else word[:5]


def _tokens(text: str) -> int:
    return max(1, round(estimated_tokens(text)))


def _header_tokens(p: Passage) -> int:
    return _tokens(f"[{p.n}] ({p.title}, {p.date})\n") + 1


def select_context(query: str, passages: list[Passage], cfg: ContextConfig) -> tuple[list[Passage], dict[str, Any]]:
    """The reduced passages and what was kept (for the trace)."""
    if not passages:
        return [], {"budget_tokens": cfg.budget_tokens, "tokens_before": 0, "tokens_after": 0, "kept": []}
    sents = [p.sentence_texts() for p in passages[: cfg.max_passages]]
    q = terms(query)
    bags = [[terms(s) for s, _, _ in ss] for ss in sents]
    df: dict[str, int] = {}
    for bag in (b for bs in bags for b in bs):
        for t in bag & q:
            df[t] = df.get(t, 0) + 1
    n_sent = sum(len(bs) for bs in bags)
    idf = {t: math.log(1 + n_sent / c) for t, c in df.items()}
    lexical = [[sum(idf.get(t, 0.0) for t in bag & q) for bag in bs] for bs in bags]
    top = max((x for xs in lexical for x in xs), default=0.0) or 1.0
    counting = bool(_COUNT_Q.search(query))
    scored: dict[tuple[int, int], float] = {}

    def score(pi: int, si: int, value: float) -> None:
        value *= 1 + 0.15 / (1 + pi)  # ties go to the better-ranked passage
        scored[(pi, si)] = max(scored.get((pi, si), 0.0), value)

    for pi, ss in enumerate(sents):
        for si, (text, _, _) in enumerate(ss):
            value = lexical[pi][si] / top
            if value <= 0:
                continue
            if text.rstrip().endswith("?"):
                # A question in the article ("What happens next?") rarely answers it; the
                # sentence after it often does (dev-small: +1 answer in what the model reads).
                value *= 0.5
                if si + 1 < len(ss) and not ss[si + 1][0].rstrip().endswith("?"):
                    score(pi, si + 1, value * 1.5)
            if counting and re.search(r"\d", text):
                value += 0.1
            score(pi, si, value)
    order = sorted(scored, key=lambda k: (-scored[k], k))
    if not order:  # nothing shares a word with the question: the top passage's opening
        order = [(0, si) for si in range(len(sents[0]))]
    chosen: dict[int, set[int]] = {}
    shown: set[str] = set()  # each sentence once: overlapping chunks and copies of a story repeat sentences
    budget = cfg.budget_tokens

    def take(pi: int, si: int, force: bool = False) -> None:
        nonlocal budget
        said = " ".join(sents[pi][si][0].lower().split())
        if si in chosen.get(pi, set()) or said in shown:
            return
        cost = _tokens(sents[pi][si][0]) + 1 + (0 if pi in chosen else _header_tokens(passages[pi]))
        if cost <= budget or force:
            chosen.setdefault(pi, set()).add(si)
            shown.add(said)
            budget -= cost

    for i, (pi, si) in enumerate(order):
        take(pi, si, force=i == 0)  # the best sentence always, whatever it costs
    for pi, si in order:
        if pi not in chosen or si not in chosen[pi]:
            continue
        for d in range(1, cfg.neighbours + 1):
            for nb in (si - d, si + d):
                if 0 <= nb < len(sents[pi]):
                    take(pi, nb)
    out = [_reduced(passages[pi], sents[pi], sorted(chosen[pi]), n) for n, pi in enumerate(sorted(chosen), 1)]
    info = {
        "budget_tokens": cfg.budget_tokens,
        "tokens_before": sum(_tokens(p.text) + _header_tokens(p) for p in passages),
        "tokens_after": sum(_tokens(p.text) + _header_tokens(p) for p in out),
        "kept": [{"n": n, "retrieved_as": passages[pi].n, "sentences": f"{len(chosen[pi])}/{len(sents[pi])}"}
                 for n, pi in enumerate(sorted(chosen), 1)],
    }
    return out, info


def _reduced(p: Passage, sents: list[tuple[str, int, int]], keep: list[int], n: int) -> Passage:
    if len(keep) == len(sents):
        return replace(p, n=n)
    kept = [sents[i] for i in keep]
    return replace(
        p, n=n, text=" ".join(s for s, _, _ in kept), start=kept[0][1], end=kept[-1][2],
        sentences=tuple((s, e) for _, s, e in kept),
    )
