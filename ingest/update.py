"""`newsrag update`: poll the store's feeds and take in only their new entries.

Each feed is asked with the ETag and Last-Modified its server sent last time;
a 304 costs one request and nothing else. An entry counts as taken in once
its article is stored (a failed entry is tried again at the next poll).
`every()` polls until stopped; Ctrl-C between or during polls is safe, since
every article write is (see store/store.py).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any, Callable

from core.errors import ConfigError, IngestError
from ingest.feeds import parse_feed
from ingest.pipeline import IngestReport, store_units
from ingest.readers import IngestOptions
from ingest.sources import Unit, feed_units
from ingest.web import check_url, fetch
from store import Store

log = logging.getLogger(__name__)

_PERIOD = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$", re.I)
_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_period(text: str) -> float:
    """"30m" -> 1800.0 seconds ("45s", "2h", "1d"; a bare number is minutes)."""
    m = _PERIOD.match(text)
    if not m or float(m.group(1)) <= 0:
        raise ConfigError(f"cannot read the period {text!r}: write it as 30m, 2h, 45s or 1d")
    return float(m.group(1)) * _SECONDS[(m.group(2) or "m").lower()]


def add_feed(store: Store, url: str) -> bool:
    check_url(url)
    return store.manifest.add_feed(url)


def update(store: Store, embedder: Any, opts: IngestOptions, progress: bool = False) -> IngestReport:
    """Poll every feed once; ingest the entries not taken in before."""
    report = IngestReport()
    with store.writer():
        work: list[Unit] = []
        for feed in store.manifest.feeds():
            work.extend(_new_entries(store, feed.url, feed.etag, feed.last_modified, opts, report))
        store_units(work, store, embedder, opts, report, progress)
    return report


def _new_entries(store: Store, url: str, etag: str, modified: str, opts: IngestOptions, report: IngestReport) -> list[Unit]:
    try:
        r = fetch(url, opts.fetch, etag, modified)
        if r.status == 304:
            store.manifest.polled(url, "not modified (304)")
            return []
        feed = parse_feed(r.data)
    except IngestError as e:
        store.manifest.polled(url, f"failed: {e}")
        report.failed.append({"path": url, "reason": str(e)})
        return []
    seen = store.manifest.seen_entries(url)
    new = [u for u in feed_units(url, feed, opts) if u.entry not in seen]
    store.manifest.polled(url, f"{len(feed.entries)} entries, {len(new)} new", r.etag, r.last_modified)
    return new


def every(
    period: float, poll: Callable[[], IngestReport], show: Callable[[IngestReport], None],
    sleep: Callable[[float], None] = time.sleep, rounds: int | None = None,
) -> None:
    """Poll now and then every `period` seconds, until Ctrl-C (or `rounds` polls, for tests)."""
    done = 0
    while rounds is None or done < rounds:
        started = time.monotonic()
        show(poll())
        done += 1
        if rounds is not None and done >= rounds:
            break
        sleep(max(0.0, period - (time.monotonic() - started)))
