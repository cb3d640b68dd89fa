"""What one ingest takes in, as units of work: files, web pages, and the entries of feeds.

A `Unit` names what it reads (shown in the report), the manifest key its
articles are filed under (a file's resolved path, or a URL), and how to load
them. A feed, given as a URL or a file, becomes one unit per entry: fetching
the feed happens here, fetching each entry's page when its unit is loaded, so
one failing entry costs only itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from core.articles import Article
from core.errors import IngestError
from ingest.decode import decode
from ingest.feeds import Feed, complete, entry_article, looks_like_feed, parse_feed
from ingest.files import Failed, find_files, read_bytes, shown
from ingest.formats import ReadContext, html_article, read_text
from ingest.pdf import read_pdf
from ingest.readers import IngestOptions, finish, load_file
from ingest.registry import lookup
from ingest.web import FetchError, Response, check_url, fetch, is_url


@dataclass(frozen=True)
class Unit:
    name: str  # as the report shows it
    key: str  # the manifest's name for where the articles came from
    origin: str  # the path the readers saw (article paths start with it; `#n` may follow)
    load: Callable[[list[str]], list[Article]]  # warnings go into the list
    feed: str = ""  # the feed that listed it ("" for a file or a page given directly)
    entry: str = ""  # the entry's key in that feed


def units(items: Iterable[Path | str], opts: IngestOptions, failed: Failed) -> list[Unit]:
    """Units for files, folders, URLs of pages or feeds, and feed files; problems go to `failed`.
    Each file or page is taken once, however often it is named (`a.txt a.txt`, a folder and
    a file in it, a path and a symlink to it)."""
    out: list[Unit] = []
    named: set[str] = set()  # items as given, resolved
    taken: set[str] = set()  # files, by manifest key
    for item in items:
        if isinstance(item, str) and is_url(item):
            if item not in named:
                named.add(item)
                out.extend(url_units(item, opts, failed))
            continue
        if (key := file_key(Path(item))) in named:
            continue
        named.add(key)
        for path in find_files([Path(item)], failed):
            if (key := file_key(path)) in taken:
                continue
            taken.add(key)
            fmt = lookup(path.suffix)
            if fmt is not None and fmt.kind == "feed":
                out.extend(_feed_file_units(path, fmt.read, opts, failed))
            else:
                out.append(file_unit(path, opts))
    return out


def file_unit(path: Path, opts: IngestOptions) -> Unit:
    return Unit(shown(path), file_key(path), str(path), lambda warnings: load_file(path, opts, warnings))


def file_key(path: Path) -> str:
    """The manifest's name for a file: its absolute, resolved path."""
    try:
        return shown(path.resolve())
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, on Python < 3.13
        return shown(os.path.abspath(path))


def url_units(url: str, opts: IngestOptions, failed: Failed) -> list[Unit]:
    """A page is one unit (fetched once, here); a feed is a unit per entry."""
    try:
        response = fetch(url, opts.fetch)
    except IngestError as e:
        failed.append({"path": url, "reason": str(e)})
        return []
    if looks_like_feed(response.data, response.content_type):
        try:
            return feed_units(url, parse_feed(response.data), opts)
        except IngestError as e:
            failed.append({"path": url, "reason": str(e)})
            return []
    return [Unit(url, url, url, lambda warnings: page_articles(response, opts, warnings))]


def _feed_file_units(path: Path, read: Callable[[bytes], Feed], opts: IngestOptions, failed: Failed) -> list[Unit]:
    try:
        feed = read(bytes(read_bytes(path, opts.max_file_bytes)))
    except IngestError as e:
        failed.append({"path": shown(path), "reason": str(e)})
        return []
    return feed_units(file_key(path), feed, opts)


def feed_units(feed_url: str, feed: Feed, opts: IngestOptions) -> list[Unit]:
    out = []
    for entry in feed.entries:
        name = entry.link or f"{feed_url}#{entry.key}"

        def load(warnings: list[str], entry=entry) -> list[Article]:  # type: ignore[no-untyped-def]
            ctx = ReadContext(opts.max_article_chars, warnings)
            if entry.content:
                return finish([entry_article(entry, feed, ctx)], opts, ctx)
            articles = page_articles(fetch(entry.link, opts.fetch), opts, warnings, entry.date)
            return [complete(a, entry, feed) for a in articles]

        out.append(Unit(name, name, name, load, feed=feed_url, entry=entry.key))
    return out


def page_articles(r: Response, opts: IngestOptions, warnings: list[str], feed_date: str = "") -> list[Article]:
    """The article of a fetched page: HTML, a PDF, or plain text."""
    ctx = ReadContext(opts.max_article_chars, warnings)
    if r.content_type == "application/pdf" or r.data[:5] == b"%PDF-":
        articles = read_pdf(r.data, r.url, ctx)
        for a in articles:
            a.url = r.url
    elif r.content_type == "text/plain":
        articles = read_text(_text(r), r.url, ctx)
        for a in articles:
            a.url = r.url
    elif r.content_type in ("text/html", "application/xhtml+xml", "") or r.data.lstrip()[:1] == b"<":
        articles = [html_article(_text(r), r.url, ctx, url=r.url, feed_date=feed_date)]
    else:
        raise FetchError(f"not an article: the page is {r.content_type}, not HTML, PDF or text")
    try:
        return finish(articles, opts, ctx)
    except IngestError as e:
        raise IngestError(f"not an article: {e}") from None


def _text(r: Response) -> str:
    if r.charset:
        try:
            return r.data.decode(r.charset, errors="replace").replace("\r\n", "\n")
        except LookupError:  # a charset Python does not know
            pass
    return decode(r.data)


__all__ = ["Unit", "check_url", "feed_units", "file_key", "file_unit", "page_articles", "units", "url_units"]
