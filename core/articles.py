"""What ingest produces: articles with news metadata, and chunks with spans."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field


def normalise(text: str) -> str:
    """Case-, space- and quote-insensitive form used for ids and hashes."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip().lower()


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
    date: str = ""  # ISO yyyy-mm-dd when known
    source: str = ""  # the outlet
    url: str = ""

    @property
    def body_text(self) -> str:
        return "\n".join(self.text[s:e] for s, e in self.body)

    @property
    def article_id(self) -> str:
        """Stable across re-ingests and file moves: the URL, the metadata, or the content."""
        if self.url:
            return short_hash("url", normalise(self.url))
        if self.title and not self.title_guessed and (self.date or self.source):
            return short_hash("meta", normalise(self.title), self.date, normalise(self.source))
        return short_hash("body", normalise(self.body_text))

    @property
    def content_hash(self) -> str:
        return short_hash(
            normalise(self.body_text), self.title, self.byline, self.date, self.source, self.url
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

    @property
    def chunk_id(self) -> str:
        return f"{self.article_id}:{self.index}"
