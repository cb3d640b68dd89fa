"""Reading one file with the reader its suffix names, and what every reader's articles go through after.

Which reader takes which suffix is ingest/registry.py. Text readers get decoded
text; byte readers (PDF, e-mail) get the file's bytes, since their formats carry
their own encodings. Feeds are not read here: their entries are fetched
(ingest/sources.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from core.articles import Article
from core.errors import IngestError
from ingest.decode import decode
from ingest.files import read_bytes
from ingest.formats import ReadContext, tidy
from ingest.registry import lookup, suffixes
from ingest.web import FetchLimits

__all__ = ["MAX_PARAGRAPH", "MIN_WORDS", "IngestOptions", "bounded_paragraphs", "finish", "load_file", "suffixes"]

MIN_WORDS = 5  # fewer words than this is not an article (a page's "Home" link, a stray "ok")
MAX_PARAGRAPH = 1200  # characters; longer paragraphs are cut (bounds the sentence splitter's cost)


@dataclass(frozen=True)
class IngestOptions:
    """No defaults here: every one is a `core.settings.Settings` field (`rag.factory.ingest_options`)."""

    chunk_tokens: int
    overlap: int
    max_file_bytes: int
    max_article_chars: int
    fetch: FetchLimits
    batch_chunks: int  # chunks embedded per batch, across articles (see bench/README.md)
    progress_every: float  # seconds between progress lines when stderr is not a terminal


def load_file(path: Path, opts: IngestOptions, warnings: list[str]) -> list[Article]:
    """The articles in one file; an IngestError with a one-line reason if there are none."""
    fmt = lookup(path.suffix)
    if fmt is None:
        raise IngestError(f"unsupported file type {path.suffix or '(none)'!r}; newsrag reads {', '.join(suffixes())}")
    if fmt.kind == "feed":
        raise IngestError("a feed, not an article file: ingest it as a feed (its entries are taken in one by one)")
    data = read_bytes(path, opts.max_file_bytes)
    if not data or data.isspace():
        raise IngestError("empty file")
    ctx = ReadContext(opts.max_article_chars, warnings)
    if fmt.kind == "bytes":
        return finish(fmt.read(bytes(data), str(path), ctx), opts, ctx)
    text = decode(data)
    del data
    if not text or text.isspace():
        raise IngestError("empty file")
    return finish(fmt.read(text, str(path), ctx), opts, ctx)


def finish(articles: list[Article], opts: IngestOptions, ctx: ReadContext) -> list[Article]:
    """Metadata tidied, text cut to the article limit, paragraphs bounded, thin records dropped."""
    good, thin = [], 0
    for a in articles:
        tidy(a)
        if a.body and a.body[-1][1] - a.body[0][0] > opts.max_article_chars:  # a reader that did not cut
            end = a.body[0][0] + opts.max_article_chars
            a.body = [(s, min(e, end)) for s, e in a.body if s < end]
            ctx.cut += 1
        a.body = bounded_paragraphs(a.text, a.body)
        if _has_words(a, MIN_WORDS):
            good.append(a)
        else:
            thin += 1
    if ctx.cut:
        what = "article" if ctx.cut == 1 else f"{ctx.cut} articles"
        ctx.warnings.append(f"{what} cut to {opts.max_article_chars} characters (NEWSRAG_MAX_ARTICLE_CHARS)")
    if not good:
        raise IngestError("no article text found" + (f" (fewer than {MIN_WORDS} words)" if thin else ""))
    if thin:
        ctx.warnings.append(f"{thin} record(s) with fewer than {MIN_WORDS} words skipped")
    return good


def _has_words(article: Article, n: int) -> bool:
    found = 0
    for s, e in article.body:
        for _ in re.finditer(r"\w+", article.text[s:e]):
            found += 1
            if found >= n:
                return True
    return False


def bounded_paragraphs(text: str, spans: list[tuple[int, int]], limit: int = MAX_PARAGRAPH) -> list[tuple[int, int]]:
    """Body spans cut to at most `limit` characters, at a sentence end or a space when there is one.

    A multi-megabyte line with no full stops is one 'paragraph' to the sentence splitter;
    cut, it costs linear time and yields passages of a sane size.
    """
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while e - s > limit:
            cut = _cut_point(text, s, s + limit)
            out.append((s, cut))
            s = cut
            while s < e and text[s].isspace():
                s += 1
        if s < e:
            out.append((s, e))
    return out


def _cut_point(text: str, s: int, hard: int) -> int:
    lo = s + (hard - s) // 2
    ends = [m.end() for m in re.finditer(r"[.!?…][\"'”’)\]]*(?=\s)", text[lo:hard])]
    if ends:
        return lo + ends[-1]
    space = text.rfind(" ", lo, hard)
    return space if space > s else hard
