"""What a reader may narrow retrieval to: a date range, outlets, articles.

A `Filter` is plain data. The store pushes it down (Chroma's `where`, the
keyword index's mask); `matches()` is the same rule in Python, for checks.
Dates are compared as whole days since 1970-01-01 (`day_number`), which both
Chroma and numpy can range over. An article with no known date has
`UNKNOWN_DAY`: it passes `until` (it may be old news, it is never "future"
news we know of) but not `since` (nothing says it is recent).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date, timedelta
from urllib.parse import urlparse

EPOCH = date(1970, 1, 1)
UNKNOWN_DAY = -1


def day_number(d: date | str | None) -> int:
    """Days since 1970-01-01 of an ISO date ("2026-01-07", or a datetime's date part); UNKNOWN_DAY when none."""
    if d is None or d == "":
        return UNKNOWN_DAY
    if isinstance(d, str):
        try:
            d = date.fromisoformat(d[:10])
        except ValueError:
            return UNKNOWN_DAY
    return (d - EPOCH).days


def from_day_number(n: int) -> date | None:
    return None if n == UNKNOWN_DAY else EPOCH + timedelta(days=n)


@lru_cache(maxsize=4096)  # a write asks it for each chunk's outlet and host, a filter for each hit
def source_key(text: str) -> str:
    """How an outlet or a host is matched: lower case, no scheme, no leading www."""
    t = (text or "").strip().lower()
    if "://" in t:
        t = urlparse(t).hostname or t
    return t.removeprefix("www.")


@dataclass(frozen=True)
class Filter:
    since: date | None = None  # first day included
    until: date | None = None  # last day included
    sources: tuple[str, ...] = ()  # outlets or hosts (any of them), compared by `source_key`
    article_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", tuple(source_key(s) for s in self.sources if s and s.strip()))
        object.__setattr__(self, "article_ids", tuple(self.article_ids))

    @property
    def empty(self) -> bool:
        return self.since is None and self.until is None and not self.sources and not self.article_ids

    @property
    def since_day(self) -> int | None:
        return None if self.since is None else day_number(self.since)

    @property
    def until_day(self) -> int | None:
        return None if self.until is None else day_number(self.until)

    def matches(self, day: int, source: str, host: str, article_id: str) -> bool:
        if self.since is not None and day < day_number(self.since):  # UNKNOWN_DAY (-1) is before any since
            return False
        if self.until is not None and day > day_number(self.until):
            return False
        if self.sources and source_key(source) not in self.sources and source_key(host) not in self.sources:
            return False
        return not self.article_ids or article_id in self.article_ids

    def narrowed(self, since: date | None = None, until: date | None = None) -> "Filter":
        """This filter intersected with another date window."""
        s = max((d for d in (self.since, since) if d is not None), default=None)
        u = min((d for d in (self.until, until) if d is not None), default=None)
        return Filter(s, u, self.sources, self.article_ids)

    def describe(self) -> dict[str, object]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "sources": list(self.sources),
            "article_ids": list(self.article_ids),
        }
