"""E-mail newsletters: `.eml` (one message) and `.mbox` (many), by the standard library.

The subject is the title, the Date header the date (`email`), the sender's
name (else address) the source; the HTML body, when there is one, is turned
into text by the same extraction as .html files (layout tables kept: most
newsletters are built of them), else the plain-text body is read.
"""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr

from core.articles import Article
from core.errors import IngestError
from ingest.dates import header_date
from ingest.formats import ReadContext, html_text, looks_like_html
from ingest.metadata import parse_plain

_FROM_LINE = re.compile(rb"(?m)^From \S.*\r?\n")
MAX_MESSAGES = 10_000


def read_eml(data: bytes, path: str, ctx: ReadContext) -> list[Article]:
    article = _message(data, path, ctx)
    if article is None:
        raise IngestError("the e-mail has no text body")
    return [article]


def read_mbox(data: bytes, path: str, ctx: ReadContext) -> list[Article]:
    """Messages split at their mbox "From " lines; one without text costs only itself."""
    parts = [p for p in _FROM_LINE.split(data) if p.strip()]
    if not _FROM_LINE.match(data.lstrip()):
        raise IngestError("not an mbox file (it does not start with a 'From ' line)")
    articles = []
    for i, raw in enumerate(parts[:MAX_MESSAGES]):
        raw = re.sub(rb"(?m)^>(>*From )", rb"\1", raw)  # mboxrd quoting
        if (a := _message(raw, f"{path}#{i}", ctx)) is not None:
            articles.append(a)
    if len(parts) > MAX_MESSAGES:
        ctx.warnings.append(f"read the first {MAX_MESSAGES} messages only")
    if not articles:
        raise IngestError("no message with a text body in the mbox")
    return articles


def _message(raw: bytes, path: str, ctx: ReadContext) -> Article | None:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    body = _body(msg, ctx)
    if not body.strip():
        return None
    subject = " ".join(str(msg.get("subject", "") or "").split())
    head = subject + "\n\n" if subject else ""
    article = parse_plain(head + ctx.bound(body), path)
    article.body = [(s, e) for s, e in article.body if s >= len(head)]  # the subject is the title, not body text
    if subject:
        article.title, article.title_guessed = subject, False
    if date := header_date(msg.get("date")):
        article.date, article.date_source = date, "email"
    name, address = parseaddr(str(msg.get("from", "") or ""))
    article.source = name or address or article.source
    return article


def _body(msg: EmailMessage, ctx: ReadContext) -> str:
    part = msg.get_body(preferencelist=("html", "plain"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, ValueError):  # an unknown charset
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(text, str):
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if part.get_content_subtype() == "html" or looks_like_html(text):
        return html_text(text[: 10 * ctx.max_chars], tables=True)
    return text
