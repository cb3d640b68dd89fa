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
SHORT_CHARS_PER_TOKEN = 6  # above this many characters a token, an article cannot fit one chunk: not counted whole


def chunk_article(
    article: Article,
    count_tokens: Callable[[str], int],
    chunk_tokens: int,
    overlap: int,
) -> list[Chunk]:
    """`chunk_tokens` and `overlap` (sentences): `IngestOptions`, from Settings.chunk_tokens and .chunk_overlap."""
    text = article.text
    header_cost = count_tokens(article.header()) + 3 if article.header() else 2
    budget = max(32, min(chunk_tokens, EMBED_WINDOW - header_cost))
    spans = [span for ps, pe in article.body for span in sentence_spans(text, ps, pe)]
    # A short article is one chunk: one count of all of it, not one per sentence (word pieces
    # never cross spaces, so the counts add up). Most short news items and snippets are.
    if spans and sum(e - s for s, e in spans) <= SHORT_CHARS_PER_TOKEN * budget:
        whole = count_tokens(" ".join(text[s:e] for s, e in spans))
        if whole <= budget:
            return [_chunk(article, 0, [(s, e, 0) for s, e in spans])]
    units: list[tuple[int, int, int]] = []  # (start, end, tokens)
    for ss, se in spans:
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
    return [_chunk(article, i, units_) for i, units_ in enumerate(chunks)]


def _chunk(article: Article, index: int, units: list[tuple[int, int, int]]) -> Chunk:
    text = article.text
    return Chunk(
        article_id=article.article_id,
        index=index,
        text=" ".join(text[s:e] for s, e, _ in units),
        start=units[0][0],
        end=units[-1][1],
        sentences=tuple((s, e) for s, e, _ in units),
        page=article.page_at(units[0][0]),
    )


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
