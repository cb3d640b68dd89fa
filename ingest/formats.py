"""Text readers (registered by suffix in ingest/registry.py). Each turns decoded text into
zero or more Articles.

Every reader is bounded for hostile input: text is cut to the article limit
before it is parsed, JSON nesting is capped, a bad JSONL line costs only that
line, and metadata fields are cut to sane lengths.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from ingest.dates import html_meta_date, set_date, text_date, url_date
from ingest.flat_html import deep_text
from ingest.metadata import parse_plain
from core.articles import Article
from core.errors import IngestError

TITLE_KEYS = ("title", "headline", "name", "heading")
BODY_KEYS = ("body", "text", "content", "article", "maintext", "main_text", "full_text", "story", "description", "summary")
DATE_KEYS = ("date", "published", "published_at", "publishedAt", "date_publish", "pubDate", "publish_date", "datetime", "time", "created_at")
SOURCE_KEYS = ("source", "outlet", "publisher", "site", "site_name", "source_domain", "domain", "feed")
AUTHOR_KEYS = ("author", "authors", "byline", "by", "creator")
URL_KEYS = ("url", "link", "href", "permalink", "canonical_url")
MAX_JSON_DEPTH = 64
HTML_FACTOR = 10  # HTML markup is cut at this many times the article limit before extraction
MAX_PROBLEMS = 5  # bad JSONL lines listed one by one; the rest are counted
META_LIMITS = {"title": 300, "byline": 300, "source": 200, "url": 2000}


@dataclass
class ReadContext:
    """What a reader needs besides the text: the article limit (`IngestOptions.max_article_chars`),
    and where to note problems."""

    max_chars: int
    warnings: list[str] = field(default_factory=list)
    cut: int = 0  # articles cut to max_chars

    def bound(self, text: str, limit: int | None = None) -> str:
        limit = limit or self.max_chars
        if len(text) <= limit:
            return text
        self.cut += 1
        space = text.rfind(" ", limit - 200, limit)  # not in the middle of a word
        return text[: space if space > 0 else limit]


def tidy(article: Article) -> Article:
    """Metadata cut to sane lengths: a 50 MB 'title' must not ride along with every chunk."""
    for name, limit in META_LIMITS.items():
        value = getattr(article, name)
        if len(value) > limit:
            setattr(article, name, value[:limit].rstrip() + "…")
    return article


def read_text(text: str, path: str, ctx: ReadContext) -> list[Article]:
    return [parse_plain(ctx.bound(text), path)]


def read_markdown(text: str, path: str, ctx: ReadContext) -> list[Article]:
    # Front matter and Markdown markup are not article text.
    text = ctx.bound(text)
    meta: dict[str, str] = {}
    if text.startswith("---\n") and (end := text.find("\n---", 4)) > 0:
        for line in text[4:end].splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                meta[k.strip().lower()] = v.strip().strip("\"'")
        text = " " * (end + 4) + text[end + 4 :]  # keep offsets
    text = re.sub(r"!\[[^\]\n]{0,500}\]\([^)\n]{0,2000}\)", lambda m: " " * len(m.group()), text)
    return [_with_meta(parse_plain(text, path, _first(meta, TITLE_KEYS)), meta, "front-matter")]


def read_html(text: str, path: str, ctx: ReadContext) -> list[Article]:
    return [html_article(text, path, ctx)]


def html_article(text: str, path: str, ctx: ReadContext, url: str = "", feed_date: str = "") -> Article:
    """The article in an HTML page (trafilatura): text, title, author, site name, and a date
    from the page's metadata, else its dateline, else `feed_date` (the entry that linked to
    it), else its URL. `url`: where the page was fetched."""
    if len(text) > HTML_FACTOR * ctx.max_chars:
        ctx.warnings.append(f"page cut to its first {HTML_FACTOR * ctx.max_chars} characters before extraction")
        text = text[: HTML_FACTOR * ctx.max_chars]
    doc = _extract(text, url)
    body = getattr(doc, "text", None) if doc is not None else None
    title = getattr(doc, "title", None)
    if not body or not body.strip():
        title, body, depth = deep_text(text)  # markup nested deeper than lxml builds trees
        if not body.strip():
            raise IngestError("not an article: the page has no article text (trafilatura found none)")
        ctx.warnings.append(f"the page nests its markup {depth} levels deep, deeper than the HTML parser goes: read as plain text")
    article = parse_plain(ctx.bound(body), path, (title or "").strip())  # a known title is set there, not guessed
    article.byline = getattr(doc, "author", None) or article.byline
    article.source = getattr(doc, "sitename", None) or article.source
    article.url = url or getattr(doc, "url", None) or ""
    if meta_date := html_meta_date(text):  # the page's own metadata wins over a dateline in its text
        article.date, article.date_source = meta_date, "html-meta"
    set_date(article, feed_date, "feed")
    set_date(article, url_date(article.url), "url")
    return article


def _extract(text: str, url: str, tables: bool = False) -> object:
    import trafilatura

    return trafilatura.bare_extraction(
        text, url=url or None, with_metadata=True, include_comments=False, include_tables=tables, favor_precision=not tables,
        date_extraction_params={"extensive_search": False, "original_date": True},  # the date is ours to pick (html_article)
    )


def html_text(fragment: str, tables: bool = False) -> str:
    """Text of an HTML fragment (a JSON record's body, an e-mail): the same extraction as .html
    files, else the markup's text with scripts, styles and attributes removed. Never tags.
    `tables`: keep layout tables (newsletters are built of them)."""
    doc = _extract(fragment, "", tables)
    text = getattr(doc, "text", None) if doc is not None else None
    if text and text.strip():
        return str(text)
    if (deep := deep_text(fragment)[1]).strip():  # nested deeper than lxml goes
        return deep
    import lxml.html
    from lxml_html_clean import Cleaner

    try:
        tree = Cleaner(scripts=True, javascript=True, style=True, comments=True, forms=True).clean_html(lxml.html.fromstring(fragment))
    except Exception:  # lxml rejects some inputs (empty, only comments)
        return ""
    for br in tree.iter("br", "p", "div", "li", "h1", "h2", "h3", "h4", "tr"):
        br.tail = "\n" + (br.tail or "")
    return "\n".join(line.strip() for line in tree.text_content().splitlines() if line.strip())


_TAG = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?|/[a-zA-Z][a-zA-Z0-9]*\s*|!--)>?", re.S)


def looks_like_html(text: str) -> bool:
    """A body with markup in it: two tags or more in its first 5,000 characters."""
    return len(_TAG.findall(text[:5000])) >= 2


def read_json(text: str, path: str, ctx: ReadContext) -> list[Article]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise IngestError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise IngestError(f"JSON nested too deeply (newsrag reads at most {MAX_JSON_DEPTH} levels)") from None
    except ValueError as e:  # e.g. a number too long to convert
        raise IngestError(f"invalid JSON: {e}") from None
    articles = [_record(r, f"{path}#{i}", ctx) for i, r in enumerate(_records(data))]
    articles = [a for a in articles if a is not None]
    if not articles:
        raise IngestError("no article records (objects with a body/text/content field) in the JSON")
    return articles


def read_jsonl(text: str, path: str, ctx: ReadContext) -> list[Article]:
    """One record a line; a bad line is noted in `ctx.warnings` and the good ones kept."""
    articles: list[Article] = []
    problems: list[str] = []
    for lineno, line in _lines(text):
        if not line.strip():
            continue
        try:
            found = [a for r in _records(json.loads(line)) if (a := _record(r, f"{path}#{lineno}", ctx)) is not None]
        except RecursionError:
            problems.append(f"line {lineno}: JSON nested too deeply")
            continue
        except ValueError:  # JSONDecodeError, or a number too long to convert
            problems.append(f"line {lineno}: invalid JSON")
            continue
        except IngestError as e:
            problems.append(f"line {lineno}: {e}")
            continue
        if not found:
            problems.append(f"line {lineno}: no article text")
        articles.extend(found)
    if not articles:
        raise IngestError("no article records in the JSONL" + (f" ({problems[0]})" if problems else ""))
    ctx.warnings.extend(problems[:MAX_PROBLEMS])
    if len(problems) > MAX_PROBLEMS:
        ctx.warnings.append(f"and {len(problems) - MAX_PROBLEMS} more bad lines")
    return articles


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) without copying the whole text into a list."""
    start, lineno = 0, 1
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        yield lineno, text[start:end]
        start, lineno = end + 1, lineno + 1


def _records(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Article-like objects in a news dump: a list, {"articles": [...]}, or one object."""
    if depth > MAX_JSON_DEPTH:
        raise IngestError(f"JSON nested too deeply (newsrag reads at most {MAX_JSON_DEPTH} levels)")
    if isinstance(data, list):
        for item in data:
            yield from _records(item, depth + 1)
    elif isinstance(data, dict):
        if _first(data, BODY_KEYS):
            yield data
            return
        for v in data.values():
            if isinstance(v, (list, dict)):
                yield from _records(v, depth + 1)


def _record(rec: dict[str, Any], path: str, ctx: ReadContext) -> Article | None:
    body = _first(rec, BODY_KEYS)
    if looks_like_html(body):
        body = html_text(body[: HTML_FACTOR * ctx.max_chars])
    if not body.strip():
        return None
    return _with_meta(parse_plain(ctx.bound(body), path, _first(rec, TITLE_KEYS)), rec, "json")


def _with_meta(article: Article, rec: dict[str, Any], date_source: str) -> Article:
    """`article` with the title, date, outlet, author and URL that `rec` (JSON or front matter) gives."""
    if title := _first(rec, TITLE_KEYS):
        article.title, article.title_guessed = title, False
    if rec_date := _date(_first(rec, DATE_KEYS)):
        article.date, article.date_source = rec_date, date_source
    article.source = _first(rec, SOURCE_KEYS) or article.source
    article.byline = _first(rec, AUTHOR_KEYS) or article.byline
    article.url = _first(rec, URL_KEYS)
    set_date(article, url_date(article.url), "url")
    return article


def _first(rec: dict[str, Any], keys: tuple[str, ...]) -> str:
    for k in keys:
        v = rec.get(k)
        if isinstance(v, dict):
            v = v.get("name") or v.get("title") or ""
        if isinstance(v, list):
            v = ", ".join(str(x.get("name", "")) if isinstance(x, dict) else str(x) for x in v[:50] if not isinstance(x, list))
        if isinstance(v, (str, int, float)) and not isinstance(v, bool) and str(v).strip():
            return str(v).strip()
    return ""


def _date(value: str) -> str:
    return text_date(value)

