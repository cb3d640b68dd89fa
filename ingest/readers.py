"""Which reader takes which file, and what every reader's articles go through after.

Text readers (ingest/formats.py) get decoded text; byte readers (PDF, e-mail)
get the file's bytes, since their formats carry their own encodings. Feeds
(.rss .atom .xml) are not read here: their entries are fetched (ingest/sources.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core.articles import Article
from core.errors import IngestError
from core.settings import Settings
from ingest.decode import decode
from ingest.files import read_bytes
from ingest.formats import READERS, ReadContext, tidy
from ingest.mail import read_eml, read_mbox
from ingest.pdf import read_pdf
from ingest.web import FetchLimits

BYTE_READERS: dict[str, Callable[[bytes, str, ReadContext], list[Article]]] = {
    ".pdf": read_pdf,
    ".eml": read_eml,
    ".mbox": read_mbox,
}
FEED_SUFFIXES = (".rss", ".atom", ".xml")
MIN_WORDS = 5  # fewer words than this is not an article (a page's "Home" link, a stray "ok")
MAX_PARAGRAPH = 1200  # characters; longer paragraphs are cut (bounds the sentence splitter's cost)


@dataclass(frozen=True)
class IngestOptions:
    chunk_tokens: int = 160
    overlap: int = 1
    max_file_bytes: int = 50 * 1024 * 1024
    max_article_chars: int = 200_000
    fetch: FetchLimits = FetchLimits()
    batch_chunks: int = 256  # chunks embedded per batch, across articles (see bench/README.md)
    progress_every: float = 10.0  # seconds between progress lines when stderr is not a terminal

    @classmethod
    def from_settings(cls, s: Settings) -> "IngestOptions":
        limits = FetchLimits(s.fetch_timeout, int(s.fetch_max_mb * 2**20), s.user_agent)
        return cls(
            s.chunk_tokens, s.chunk_overlap, int(s.max_file_mb * 2**20), s.max_article_chars, limits, s.ingest_batch, s.progress_every,
        )


def suffixes() -> list[str]:
    """Every file type newsrag reads."""
    return sorted({*READERS, *BYTE_READERS, *FEED_SUFFIXES})


def load_file(path: Path, opts: IngestOptions, warnings: list[str]) -> list[Article]:
    """The articles in one file; an IngestError with a one-line reason if there are none."""
    suffix = path.suffix.lower()
    reader, raw_reader = READERS.get(suffix), BYTE_READERS.get(suffix)
    if reader is None and raw_reader is None:
        raise IngestError(f"unsupported file type {path.suffix or '(none)'!r}; newsrag reads {', '.join(suffixes())}")
    data = read_bytes(path, opts.max_file_bytes)
    if not data or data.isspace():
        raise IngestError("empty file")
    ctx = ReadContext(opts.max_article_chars, warnings)
    if raw_reader is not None:
        return finish(raw_reader(bytes(data), str(path), ctx), opts, ctx)
    text = decode(data)
    del data
    if not text or text.isspace():
        raise IngestError("empty file")
    assert reader is not None
    return finish(reader(text, str(path), ctx), opts, ctx)


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
