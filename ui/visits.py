"""The reader's last visit, remembered by their browser, and questions asked "since my last visit".

The page keeps `{"this": day, "last": day}` in the browser's local storage
(`gr.BrowserState`): a visit is a day the page was opened, so opening it again
the same day keeps the last visit. "Today" is the engine's as-of date when one
is set (a store frozen at a date), else the server's date. A question with
"since my last visit" is answered as a timeline of what happened from that day
on: the phrase becomes "since YYYY-MM-DD", which the engine reads as the
question's window (a timeline keeps to it).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from rag.figures import dated_label

STORAGE_KEY = "newsrag-visits"
# Not a secret: Gradio hands it to the page to encrypt the value with. Fixed, so that the
# memory outlives a restart of the server (Gradio's default is a new one at each start).
SECRET = "newsrag-visits"
_SINCE = re.compile(r"\bsince (?:my |our |the )?last visit\b", re.I)


def record(stored: Any, today: date) -> tuple[dict[str, str], date | None]:
    """This visit recorded in what the browser kept: (what it keeps now, the last visit before today)."""
    seen = stored if isinstance(stored, dict) else {}
    this, last = _day(seen.get("this")), _day(seen.get("last"))
    if this is not None and this != today:
        last = this
    return {"this": today.isoformat(), **({"last": last.isoformat()} if last else {})}, last


def asks_since_last_visit(question: str) -> bool:
    return _SINCE.search(question) is not None


def with_last_visit(question: str, last: date | None) -> str:
    """The question with "since my last visit" as the day it means ("since 2026-03-08");
    without an earlier visit the phrase goes (the whole story is told)."""
    out = _SINCE.sub(f"since {last.isoformat()}" if last else "", question)
    return re.sub(r"\s+([?.!,;])", r"\1", re.sub(r"\s{2,}", " ", out)).strip()


def note(last: date | None) -> str:
    """The line the page shows about the reader's visits."""
    if last is None:
        return "First visit from this browser: next time, ask what happened *since my last visit*."
    return f"Your last visit from this browser: **{dated_label(last.isoformat())} {last.year}**. Ask what happened *since my last visit*."


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:  # what a browser keeps is data: an odd value counts as none
        return None
