"""Sentence-aware chunks that fit the embedder's window, with character spans.

Sentences (`core.text.sentence_spans`) never cross paragraphs; chunks pack
whole sentences up to a token budget (the article header that is embedded
with each chunk counts against the embedder's 256-token window), and
neighbouring chunks share `overlap` sentences so an answer on a boundary
stays retrievable.
"""

from __future__ import annotations

import re
from typing import Callable

from core.articles import Article, Chunk
from core.text import sentence_spans

EMBED_WINDOW = 256


def chunk_article(
    article: Article,
    count_tokens: Callable[[str], int],
    chunk_tokens: int = 160,
    overlap: int = 1,
) -> list[Chunk]:
    text = article.text
    header_cost = count_tokens(article.header()) + 3 if article.header() else 2
    budget = max(32, min(chunk_tokens, EMBED_WINDOW - header_cost))
    units: list[tuple[int, int, int]] = []  # (start, end, tokens)
    for ps, pe in article.body:
        for ss, se in sentence_spans(text, ps, pe):
            units.extend(_fit(text, ss, se, budget, count_tokens))
    chunks: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    used = 0
    for unit in units:
        if current and used + unit[2] > budget:
            chunks.append(current)
            keep = current[-overlap:] if overlap else []
            if sum(u[2] for u in keep) + unit[2] > budget:
                keep = []
            current, used = list(keep), sum(u[2] for u in keep)
        current.append(unit)
        used += unit[2]
    if current and (not chunks or current != chunks[-1][-len(current):]):
        chunks.append(current)
    out = []
    for i, units_ in enumerate(chunks):
        body = " ".join(text[s:e] for s, e, _ in units_)
        out.append(
            Chunk(
                article_id=article.article_id,
                index=i,
                text=body,
                start=units_[0][0],
                end=units_[-1][1],
                sentences=tuple((s, e) for s, e, _ in units_),
                page=article.page_at(units_[0][0]),
            )
        )
    return out


def _fit(text: str, s: int, e: int, budget: int, count_tokens: Callable[[str], int]) -> list[tuple[int, int, int]]:
    """A sentence longer than the budget is cut at word boundaries."""
    n = count_tokens(text[s:e])
    if n <= budget:
        return [(s, e, n)]
    pieces: list[tuple[int, int, int]] = []
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[s:e])]
    step = max(1, int(len(words) * budget / n * 0.9))
    for i in range(0, len(words), step):
        ws, we = s + words[i][0], s + words[min(i + step, len(words)) - 1][1]
        pieces.append((ws, we, min(budget, count_tokens(text[ws:we]))))
    return pieces
