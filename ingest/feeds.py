"""RSS and Atom feeds (feedparser): what a feed lists, and the article behind each entry.

An entry whose own content is full text (at least FULL_TEXT_WORDS words) is
the article; otherwise its link is fetched and extracted like any page. The
entry's `published` (else `updated`) date is used when the page has none
(`date_source` "feed"), the feed's title when the page names no outlet.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from core.articles import Article
from core.errors import IngestError
from ingest.dates import set_date, struct_date
from ingest.formats import ReadContext, html_text, looks_like_html
from ingest.metadata import parse_plain

FULL_TEXT_WORDS = 150
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml", "application/feed+json")


@dataclass(frozen=True)
class Entry:
    key: str  # the entry's id, else its link: what `update` remembers as seen
    link: str
    title: str
    date: str  # published, else updated (yyyy-mm-dd); "" when the feed gives none
    author: str
    content: str  # the entry's own text when it is full text, else ""


@dataclass(frozen=True)
class Feed:
    title: str
    entries: tuple[Entry, ...]


def looks_like_feed(data: bytes, content_type: str = "") -> bool:
    """A feed by its media type, or XML whose root is <rss>, <feed> or <rdf:RDF>."""
    if content_type in FEED_TYPES and content_type not in ("application/xml", "text/xml"):
        return True
    head = data[:2048].lstrip().lower()
    if content_type and "xml" not in content_type and not head.startswith(b"<?xml"):
        return False
    return re.search(rb"<(?:rss|feed|rdf:rdf)[\s>]", head) is not None


def parse_feed(data: bytes) -> Feed:
    """The feed in `data`. Given as a stream: feedparser fetches a string that looks like a
    URL and opens one that names a file, so a feed whose body is a path or URL is no feed."""
    import feedparser

    parsed = feedparser.parse(io.BytesIO(data))
    if not parsed.get("version") and not parsed.entries:
        why = parsed.get("bozo_exception")
        raise IngestError(f"not an RSS or Atom feed{f' ({why})' if why else ''}")
    entries = tuple(e for e in (_entry(x) for x in parsed.entries) if e is not None)
    return Feed(str(parsed.feed.get("title", "") or "").strip(), entries)


def _entry(e: dict) -> Entry | None:  # type: ignore[type-arg]
    link = str(e.get("link", "") or "").strip()
    content = ""
    for c in e.get("content", []) or []:
        value = str(c.get("value", "") or "")
        text = html_text(value) if looks_like_html(value) else value
        if len(text.split()) >= FULL_TEXT_WORDS:
            content = text
            break
    if not link and not content:
        return None  # nothing to fetch and nothing to read
    date = struct_date(e.get("published_parsed")) or struct_date(e.get("updated_parsed"))
    key = str(e.get("id", "") or link)
    return Entry(key, link, str(e.get("title", "") or "").strip(), date, str(e.get("author", "") or ""), content)


def entry_article(entry: Entry, feed: Feed, ctx: ReadContext) -> Article:
    """The article of a full-text entry, read from the feed itself."""
    article = parse_plain(ctx.bound(entry.content), entry.link or entry.key, entry.title)
    article.url = entry.link
    article.byline = article.byline or entry.author
    article.source = article.source or feed.title
    return complete(article, entry, feed)


def complete(article: Article, entry: Entry, feed: Feed) -> Article:
    """What the feed knows and the page did not say: the date, the outlet, the title."""
    set_date(article, entry.date, "feed")
    article.source = article.source or feed.title
    if (not article.title or article.title_guessed) and entry.title:
        article.title, article.title_guessed = entry.title, False
    return article
