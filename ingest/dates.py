"""Publication dates and where they came from (`Article.date_source`).

A date is taken only from the article or its container, never from the clock
or a file's mtime: a JSON field (`json`), the page's HTML metadata
(`html-meta`, by htmldate: meta tags, JSON-LD, <time>, without guessing from
free text), a dateline or "Updated ..." line (`dateline`, see
ingest/metadata.py), a date in the URL path (`url`), a feed entry (`feed`), an
e-mail's Date header (`email`) or a PDF's metadata (`pdf`).
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from core.articles import Article
from ingest.metadata import _DATE, _ISO_DATE, _iso

log = logging.getLogger(__name__)

# /2026/01/28/, /2026-01-28-slug, /20260128/ in a URL path
_URL_DATE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<sep>[/_-]?)(?P<m>0[1-9]|1[0-2])(?P=sep)(?P<d>0[1-9]|[12]\d|3[01])(?!\d)")


def text_date(value: str) -> str:
    """The first date written in `value` (ISO, or "January 28, 2026"), as yyyy-mm-dd; "" when none."""
    value = value[:200]
    if not value:
        return ""
    m = _ISO_DATE.search(value) or _DATE.search(value)
    return _iso(m) if m else ""


def url_date(url: str) -> str:
    """A date in a URL's path (news sites put one there), as yyyy-mm-dd; "" when none."""
    from urllib.parse import urlparse

    path = urlparse(url).path if "://" in url else url
    m = _URL_DATE.search(path)
    return _iso(m) if m else ""


def html_meta_date(html: str) -> str:
    """The publication date the page's own markup declares (htmldate, no guessing from the text or URL)."""
    try:
        from htmldate import find_date

        if html.startswith("http"):  # htmldate downloads text that looks like a URL: a page must not make it fetch
            html = " " + html
        found = find_date(html, extensive_search=False, original_date=True, outputformat="%Y-%m-%d", url="")
    except Exception:  # htmldate must not cost the article
        log.debug("htmldate failed", exc_info=True)
        return ""
    return found or ""


def struct_date(value: Any) -> str:
    """A feedparser `*_parsed` time tuple as yyyy-mm-dd; "" when none."""
    try:
        return date(value.tm_year, value.tm_mon, value.tm_mday).isoformat() if value else ""
    except (AttributeError, ValueError):
        return ""


def header_date(value: str | None) -> str:
    """An RFC 2822 date (e-mail Date header) as yyyy-mm-dd, in the sender's own time zone."""
    if not value:
        return ""
    try:
        return parsedate_to_datetime(str(value)).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return text_date(str(value))


def pdf_date(value: Any) -> str:
    """A PDF metadata date (a datetime from pypdf, or "D:20260128...") as yyyy-mm-dd."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    m = re.match(r"D:(\d{4})(\d{2})(\d{2})", str(value or ""))
    if not m:
        return ""
    try:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return ""


def set_date(article: Article, value: str, source: str) -> bool:
    """Give `article` the date `value` from `source` unless it has one; True when it was set."""
    if article.date or not value:
        return False
    article.date, article.date_source = value, source
    return True

