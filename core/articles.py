"""What ingest produces and the store keeps: articles with news metadata, chunks with
spans, and the typed record stored with every chunk."""

from __future__ import annotations

import bisect
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from core.filters import UNKNOWN_DAY, day_number, source_key
from core.text import fold


def short_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


@dataclass
class Article:
    """One article. `text` is the decoded source; `body` lists the kept paragraphs as spans of it."""

    text: str
    path: str
    body: list[tuple[int, int]]
    title: str = ""
    title_guessed: bool = False
    byline: str = ""
    date: str = ""  # ISO yyyy-mm-dd when known; never the ingest time
    date_source: str = ""  # where `date` came from: json, front-matter, html-meta, dateline, url, feed, email, pdf; "" when unknown
    source: str = ""  # the outlet
    url: str = ""
    pages: tuple[int, ...] = ()  # offsets in `text` where pages 1, 2, ... begin (PDF); () when the source has no pages

    def page_at(self, offset: int) -> int:
        """The 1-based page holding `offset`; 0 when the source has no pages."""
        return bisect.bisect_right(self.pages, offset) if self.pages else 0

    @property
    def body_text(self) -> str:
        return "\n".join(self.text[s:e] for s, e in self.body)

    @property
    def article_id(self) -> str:
        """Stable across re-ingests and file moves: the URL, the metadata, or the content."""
        if self.url:
            return short_hash("url", fold(self.url))
        if self.title and not self.title_guessed and (self.date or self.source):
            return short_hash("meta", fold(self.title), self.date, fold(self.source))
        return short_hash("body", fold(self.body_text))

    @property
    def content_hash(self) -> str:
        return short_hash(
            fold(self.body_text), self.title, self.byline, self.date, self.source, self.url
        )

    def header(self) -> str:
        """What travels with every chunk into the embedding and the keyword index."""
        bits = [self.title]
        meta = ", ".join(x for x in (self.source, self.date) if x)
        if meta:
            bits.append(f"({meta})")
        return " ".join(b for b in bits if b)


@dataclass(frozen=True)
class Chunk:
    article_id: str
    index: int
    text: str  # the passage as quoted: sentences of the article, no header
    start: int  # character span in the article's decoded text
    end: int
    sentences: tuple[tuple[int, int], ...] = field(default=())
    page: int = 0  # page the chunk starts on, for paged sources (PDF); 0 otherwise

    @property
    def chunk_id(self) -> str:
        return chunk_id(self.article_id, self.index)


def chunk_id(article_id: str, index: int) -> str:
    """A chunk's id in the store: its article's id and its place in the article."""
    return f"{article_id}:{index}"


# Version of the chunk record's layout in Chroma. 2: numeric `day`, `source_key`, `host`, `date_source`, `page`.
# 3: only the filter keys stay apart; the rest of the record and the text are packed (store/chroma.py).
RECORD_VERSION = 3


@dataclass(frozen=True)
class ChunkRecord:
    """What the store keeps with every chunk (Chroma metadata), typed: written by
    the store, read back by retrieval and the audit through `from_meta`."""

    article_id: str
    content_hash: str
    chunk_index: int
    n_chunks: int
    start: int
    end: int
    title: str = ""
    byline: str = ""
    date: str = ""
    day: int = UNKNOWN_DAY  # days since 1970-01-01, for range filters
    date_source: str = ""
    source: str = ""
    url: str = ""
    path: str = ""
    sentences: tuple[tuple[int, int], ...] = ()  # sentence spans in the article, to quote one exactly
    page: int = 0  # page of a PDF the chunk starts on (1-based); 0 when the source has no pages

    @property
    def host(self) -> str:
        return source_key(self.url) if self.url else ""

    @classmethod
    def of_article(cls, article: Article, chunks: list[Chunk]) -> list["ChunkRecord"]:
        """The records of all of an article's chunks; its id and content hash (each a pass
        over the whole text) are computed once, not once per chunk."""
        aid, h = article.article_id, article.content_hash
        return [cls._of(article, aid, h, c, len(chunks)) for c in chunks]

    @classmethod
    def _of(cls, article: Article, article_id: str, content_hash: str, chunk: Chunk, n_chunks: int) -> "ChunkRecord":
        return cls(
            article_id, content_hash, chunk.index, n_chunks, chunk.start, chunk.end,
            article.title, article.byline, article.date, day_number(article.date), article.date_source,
            article.source, article.url, article.path, chunk.sentences, chunk.page,
        )

    def to_meta(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id, "content_hash": self.content_hash, "chunk_index": self.chunk_index,
            "n_chunks": self.n_chunks, "start": self.start, "end": self.end, "title": self.title,
            "byline": self.byline, "date": self.date, "day": self.day, "date_source": self.date_source,
            "source": self.source, "source_key": source_key(self.source), "host": self.host, "url": self.url,
            "path": self.path, "sentences": json.dumps([list(x) for x in self.sentences]), "page": self.page,
            "v": RECORD_VERSION,
        }

    @classmethod
    def from_meta(cls, m: dict[str, Any]) -> "ChunkRecord":
        day = m.get("day")
        return cls(
            str(m.get("article_id", "")), str(m.get("content_hash", "")), int(m.get("chunk_index", 0)),
            int(m.get("n_chunks", 0)), int(m.get("start", 0)), int(m.get("end", 0)), str(m.get("title", "")),
            str(m.get("byline", "")), str(m.get("date", "")),
            int(day) if day is not None else day_number(str(m.get("date", ""))), str(m.get("date_source", "")),
            str(m.get("source", "")), str(m.get("url", "")), str(m.get("path", "")),
            tuple((int(a), int(b)) for a, b in json.loads(m.get("sentences") or "[]")), int(m.get("page", 0) or 0),
        )
