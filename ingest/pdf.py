"""PDF files (pypdf): the text page by page, each page's start kept so every chunk knows its page.

The date is a dateline in the text when there is one (the article's own date),
else the PDF's creation date from its metadata (`pdf`): for a clipping or a
report that is when it was made, which is closer than nothing but not better
than what the text says.
"""

from __future__ import annotations

import io
import logging

from core.articles import Article
from core.errors import IngestError
from ingest.dates import pdf_date, set_date
from ingest.formats import ReadContext
from ingest.metadata import parse_plain

log = logging.getLogger(__name__)

MAX_PAGES = 2000


def read_pdf(data: bytes, path: str, ctx: ReadContext) -> list[Article]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError("the PDF is encrypted: save an unprotected copy and ingest that")
        texts, starts, size = [], [], 0
        for i, page in enumerate(reader.pages):
            if i >= MAX_PAGES or size > ctx.max_chars:
                ctx.warnings.append(f"read the first {i} pages only")
                break
            text = _tidy(page.extract_text() or "")
            starts.append(size)
            texts.append(text)
            size += len(text) + 2
        meta = reader.metadata or {}
        title = str(meta.get("/Title") or "").strip()
        created = pdf_date(getattr(reader.metadata, "creation_date", None) if reader.metadata else None)
        author = str(meta.get("/Author") or "").strip()
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise IngestError(f"not a readable PDF ({type(e).__name__}: {e})") from None
    text = "\n\n".join(texts)
    if not text.strip():
        raise IngestError("the PDF has no text layer (a scan?): run OCR on it first, e.g. ocrmypdf")
    article = parse_plain(ctx.bound(text), path, title)
    article.pages = tuple(starts)
    article.byline = article.byline or author
    set_date(article, created, "pdf")
    return [article]


def _tidy(text: str) -> str:
    """Page text with Windows line ends and trailing spaces gone; hyphenated line breaks kept as they are."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip("\n")
