"""`newsrag ingest --watch DIR`: ingest the folder, then new and changed files as they appear.

Changes are batched by watchfiles (it waits until writes settle). A file that
disappears keeps its articles unless `sync` is set, because a folder emptied
by mistake must not empty the store. Hidden files and unknown types are
ignored, as a folder ingest ignores them. Ctrl-C stops it; an ingest cut
short is finished by the next run (see store/store.py).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from ingest.pipeline import IngestReport, ingest, remove
from ingest.readers import IngestOptions
from ingest.registry import suffixes
from store import Store

log = logging.getLogger(__name__)


def wanted(path: str) -> bool:
    """A file a folder ingest would read: a known type, no hidden part in its name."""
    p = Path(path)
    return p.suffix.lower() in suffixes() and not any(part.startswith(".") for part in p.parts[-1:])


def watch(
    folder: Path, store: Store, embedder: Any, opts: IngestOptions, sync: bool = False,
    show: Callable[[IngestReport], None] = lambda r: None, stop_event: Any = None, step_ms: int = 50, debounce_ms: int = 1600,
) -> None:
    """Ingest `folder`, then follow it until Ctrl-C (or `stop_event` is set)."""
    from watchfiles import Change, watch as changes

    show(ingest([folder], store, embedder, opts))
    for batch in changes(folder, watch_filter=lambda _c, p: wanted(p), stop_event=stop_event, step=step_ms, debounce=debounce_ms):
        gone = sorted({p for c, p in batch if c == Change.deleted and not Path(p).exists()})
        present = sorted({p for c, p in batch if c != Change.deleted or Path(p).exists()} - set(gone))
        present = [p for p in present if Path(p).is_file()]
        if present:
            show(ingest([Path(p) for p in present], store, embedder, opts))
        if gone and sync:
            report = IngestReport(removed=len(remove(gone, store)))
            report.articles_total, report.chunks_total = store.manifest.count(), store.chunks.count()
            show(report)
        elif gone:
            log.info("%d file(s) deleted; their articles stay (use --sync to remove them)", len(gone))
