"""Readers by file type. Each turns decoded text into zero or more Articles."""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterator

from ingest.metadata import _iso, _DATE, _ISO_DATE, parse_plain
from ingest.types import Article
from rag.errors import IngestError

TITLE_KEYS = ("title", "headline", "name", "heading")
BODY_KEYS = ("body", "text", "content", "article", "maintext", "main_text", "full_text", "story", "description", "summary")
DATE_KEYS = ("date", "published", "published_at", "publishedAt", "date_publish", "pubDate", "publish_date", "datetime", "time", "created_at")
SOURCE_KEYS = ("source", "outlet", "publisher", "site", "site_name", "source_domain", "domain", "feed")
AUTHOR_KEYS = ("author", "authors", "byline", "by", "creator")
URL_KEYS = ("url", "link", "href", "permalink", "canonical_url")
MAX_JSON_DEPTH = 64


def read_text(text: str, path: str) -> list[Article]:
    return [parse_plain(text, path)]


def read_markdown(text: str, path: str) -> list[Article]:
    # Front matter and Markdown markup are not article text.
    meta: dict[str, str] = {}
    if text.startswith("---\n") and (end := text.find("\n---", 4)) > 0:
        for line in text[4:end].splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                meta[k.strip().lower()] = v.strip().strip("\"'")
        text = " " * (end + 4) + text[end + 4 :]  # keep offsets
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", lambda m: " " * len(m.group()), text)
    article = parse_plain(text, path)
    if title := _first(meta, TITLE_KEYS):
        article.title, article.title_guessed = title, False
    article.date = _date(_first(meta, DATE_KEYS)) or article.date
    article.source = _first(meta, SOURCE_KEYS) or article.source
    article.byline = _first(meta, AUTHOR_KEYS) or article.byline
    article.url = _first(meta, URL_KEYS)
    return [article]


def read_html(text: str, path: str) -> list[Article]:
    import trafilatura

    doc = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False, include_tables=False, favor_precision=True)
    body = getattr(doc, "text", None) if doc is not None else None
    if not body or not body.strip():
        raise IngestError("HTML page with no article text")
    article = parse_plain(body, path)
    article.title = (getattr(doc, "title", None) or article.title or "").strip()
    article.title_guessed = not getattr(doc, "title", None) and article.title_guessed
    article.byline = getattr(doc, "author", None) or article.byline
    article.source = getattr(doc, "sitename", None) or article.source
    article.date = _date(getattr(doc, "date", None) or "") or article.date
    article.url = getattr(doc, "url", None) or ""
    return [article]


def read_json(text: str, path: str) -> list[Article]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise IngestError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise IngestError("JSON nested too deeply") from None
    articles = [_record(r, f"{path}#{i}") for i, r in enumerate(_records(data))]
    articles = [a for a in articles if a is not None]
    if not articles:
        raise IngestError("no article records (objects with a body/text/content field) in the JSON")
    return articles


def read_jsonl(text: str, path: str, bad: list[str] | None = None) -> list[Article]:
    """One record a line; a bad line is reported in `bad` and the good ones kept."""
    articles: list[Article] = []
    problems = bad if bad is not None else []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            problems.append(f"line {lineno}: invalid JSON")
            continue
        found = [a for r in _records(rec) if (a := _record(r, f"{path}#{lineno}")) is not None]
        if not found:
            problems.append(f"line {lineno}: no article text")
        articles.extend(found)
    if not articles:
        raise IngestError("no article records in the JSONL" + (f" ({problems[0]})" if problems else ""))
    return articles


def _records(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Article-like objects in a news dump: a list, {"articles": [...]}, or one object."""
    if depth > MAX_JSON_DEPTH:
        raise IngestError("JSON nested too deeply")
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


def _record(rec: dict[str, Any], path: str) -> Article | None:
    body = _first(rec, BODY_KEYS)
    if not body.strip():
        return None
    article = parse_plain(body, path)
    if title := _first(rec, TITLE_KEYS):
        article.title, article.title_guessed = title, False
    article.date = _date(_first(rec, DATE_KEYS)) or article.date
    article.source = _first(rec, SOURCE_KEYS) or article.source
    article.byline = _first(rec, AUTHOR_KEYS) or article.byline
    article.url = _first(rec, URL_KEYS)
    return article


def _first(rec: dict[str, Any], keys: tuple[str, ...]) -> str:
    for k in keys:
        v = rec.get(k)
        if isinstance(v, dict):
            v = v.get("name") or v.get("title") or ""
        if isinstance(v, list):
            v = ", ".join(str(x.get("name", "")) if isinstance(x, dict) else str(x) for x in v)
        if isinstance(v, (str, int, float)) and str(v).strip():
            return str(v).strip()
    return ""


def _date(value: str) -> str:
    if not value:
        return ""
    m = _ISO_DATE.search(value) or _DATE.search(value)
    return _iso(m) if m else ""


READERS: dict[str, Callable[[str, str], list[Article]]] = {
    ".txt": read_text,
    ".text": read_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".json": read_json,
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
}
