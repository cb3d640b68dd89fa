"""Every file type newsrag reads, by suffix: adding a format is a reader and one line here.

A format is a reader and its kind:
- "text": `read(text, path, ctx) -> list[Article]`, given the decoded file (ingest/formats.py);
- "bytes": `read(data, path, ctx) -> list[Article]`, given the file's bytes, for formats that
  carry their own encoding (PDF, e-mail);
- "feed": `read(data) -> Feed`, an RSS or Atom file, whose entries become units of their own
  (ingest/sources.py).

The CLI's help, the page's upload filter and a folder ingest ask `suffixes()` each time, so a
format registered here is taken everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, get_args

from ingest.feeds import parse_feed
from ingest.formats import read_html, read_json, read_jsonl, read_markdown, read_text
from ingest.mail import read_eml, read_mbox
from ingest.pdf import read_pdf

Kind = Literal["text", "bytes", "feed"]


@dataclass(frozen=True)
class Format:
    suffix: str  # lower case, with its dot: ".txt"
    read: Callable[..., Any]  # its signature depends on `kind` (see the module doc)
    kind: Kind


FORMATS: dict[str, Format] = {}


def register(suffix: str, read: Callable[..., Any], kind: Kind = "text") -> Format:
    """Read files ending in `suffix` with `read`; replaces a format registered for it before."""
    if kind not in get_args(Kind):
        raise ValueError(f"unknown reader kind {kind!r}: use one of {', '.join(get_args(Kind))}")
    if not suffix.startswith(".") or len(suffix) < 2:
        raise ValueError(f"a suffix starts with a dot, like '.txt' (got {suffix!r})")
    FORMATS[suffix.lower()] = fmt = Format(suffix.lower(), read, kind)
    return fmt


def unregister(suffix: str) -> None:
    FORMATS.pop(suffix.lower(), None)


def lookup(suffix: str) -> Format | None:
    """The format of files ending in `suffix` (any case), None when newsrag does not read them."""
    return FORMATS.get(suffix.lower())


def suffixes(*kinds: Kind) -> list[str]:
    """Every suffix newsrag reads (or only those of `kinds`), sorted."""
    return sorted(s for s, f in FORMATS.items() if not kinds or f.kind in kinds)


register(".txt", read_text)
register(".text", read_text)
register(".md", read_markdown)
register(".markdown", read_markdown)
register(".html", read_html)
register(".htm", read_html)
register(".json", read_json)
register(".jsonl", read_jsonl)
register(".ndjson", read_jsonl)
register(".pdf", read_pdf, kind="bytes")
register(".eml", read_eml, kind="bytes")
register(".mbox", read_mbox, kind="bytes")
register(".rss", parse_feed, kind="feed")
register(".atom", parse_feed, kind="feed")
register(".xml", parse_feed, kind="feed")
