"""Files, folders, pages and feeds in, articles upserted, a report out. Idempotent.

An article whose content hash the manifest already holds is skipped; a source
that now yields other articles than before has the old ones removed; a file,
page or feed entry that fails is reported with a one-line reason and the rest
carries on.

Hostile files are bounded, not trusted: only regular files are opened (a FIFO
would block forever; see ingest/files.py), at most the size limit is read, text
is cut to the article limit before it is parsed, and paragraphs are cut to a
bounded length before sentence splitting. Chunks of many articles are embedded
together and written beside the embedder (ingest/batches.py); crash safety lives
in the store's write order (see store/store.py). A full disk stops the run at
once with a message saying where and what to do, the report of what was done kept.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable

from core.errors import DiskFullError, NewsragError, StoreError
from ingest.batches import Batcher, Writer
from ingest.chunking import chunk_article
from ingest.files import find_files, shown
from ingest.progress import Progress
from ingest.readers import MAX_PARAGRAPH, MIN_WORDS, IngestOptions, bounded_paragraphs, load_file
from ingest.sources import Unit, file_key, units
from ingest.web import is_url
from store import Store

log = logging.getLogger(__name__)

__all__ = [
    "MAX_PARAGRAPH", "MIN_WORDS", "IngestOptions", "IngestReport", "bounded_paragraphs", "find_files", "ingest", "load_file",
    "remove", "store_units", "token_counter",
]

MAX_CHARS_PER_TOKEN = 8  # a 2,000-character 'word' is one [UNK] token, but not a 1-token passage


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    chunks_total: int = 0
    articles_total: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # seconds by stage: read, chunk, embed, write (beside), ...

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        lines = [
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, removed {self.removed}, "
            f"failed {len(self.failed)}; the store holds {self.articles_total} articles in {self.chunks_total} chunks"
        ]
        lines += [f"  FAILED {f['path']}: {f['reason']}" for f in self.failed]
        lines += [f"  warning {w['path']}: {w['reason']}" for w in self.warnings]
        return "\n".join(lines)


def token_counter(embedder: Any) -> Callable[[str], int]:
    """The embedder's token count, never below one token per MAX_CHARS_PER_TOKEN
    characters (so passages stay short whatever the tokenizer makes of them)."""
    counted: Callable[[str], int] = getattr(embedder, "count_tokens", None) or (lambda t: int(len(t.split()) * 1.4) + 1)

    def tokens(text: str) -> int:
        return max(counted(text), len(text) // MAX_CHARS_PER_TOKEN)

    return tokens


def ingest(
    items: Iterable[Path | str],
    store: Store,
    embedder: Any,
    opts: IngestOptions,
    progress: bool = False,
    on_file: Callable[[int, int, str], None] | None = None,
) -> IngestReport:
    """Files, folders, URLs of pages and feeds (a `str` with "://"), and feed files, upserted.
    progress: a bar when stderr is a terminal, else a line every `opts.progress_every` seconds."""
    report = IngestReport()
    try:
        with store.writer():  # one writer per store; also undoes what a killed writer left half-done
            work = units(items, opts, report.failed)
            # a large ingest that cannot fit is refused before it writes; files stored already ask for nothing
            store.room_for([(u.key, _size(u)) for u in work if not is_url(u.origin)])
            store_units(work, store, embedder, opts, report, progress, on_file)
    except DiskFullError as e:  # stop at once (every file would fail); the caller still gets the report
        e.report = report
        report.failed.append({"path": "(the store)", "reason": _one_line(str(e))})
        _totals(store, report)
        raise
    return report


def store_units(
    work: list[Unit], store: Store, embedder: Any, opts: IngestOptions, report: IngestReport,
    progress: bool = False, on_file: Callable[[int, int, str], None] | None = None,
) -> None:
    """Load, embed (in batches across units) and upsert each unit (hold `store.writer()`);
    a unit that fails is reported, the rest go on."""
    started = time.perf_counter()
    report.timings.update(read_s=0.0, chunk_s=0.0)
    count_tokens = token_counter(embedder)
    bar = Progress(sum(_size(u) for u in work), len(work), _progress_mode(progress), opts.progress_every)
    writer = Writer(store)
    batcher = Batcher(
        embedder, writer, opts.batch_chunks,
        on_failed=lambda name, e: report.failed.append({"path": name, "reason": _one_line(f"embedding failed: {type(e).__name__}: {e}")}),
        on_embedded=bar.embedded_batch,
    )
    seen: set[str] = set()  # articles met in this run: the first source to hold one wins
    completed = False
    try:
        for i, unit in enumerate(work):
            if on_file:
                on_file(i, len(work), unit.name)
            try:
                _ingest_unit(unit, store, batcher, count_tokens, opts, report, seen, bar)
            except Exception as e:
                if writer.error is not None or isinstance(e, StoreError):
                    raise  # the store cannot be written (a full disk, say): no later unit can be either
                if isinstance(e, NewsragError):
                    report.failed.append({"path": unit.name, "reason": _one_line(str(e))})
                    continue
                log.debug("ingest of %s failed", unit.name, exc_info=True)  # one bad unit must not stop the rest
                report.failed.append({"path": unit.name, "reason": _one_line(f"{type(e).__name__}: {e}")})
        batcher.flush()
        completed = True
    finally:
        batcher.close()  # after a failure, a batch still embedding is dropped: not written, ingested next time
        t0 = time.perf_counter()
        try:
            writer.close()
        finally:
            report.timings["write_drain_s"] = time.perf_counter() - t0
            bar.close(completed and writer.error is None)
    t0 = time.perf_counter()
    store.sync_keyword_if_needed()  # missing, damaged or replaced: rebuilt from Chroma
    report.timings["keyword_check_s"] = time.perf_counter() - t0
    report.timings.update(batcher.timings())
    report.timings = {k: round(v, 3) for k, v in report.timings.items()}
    report.timings["total_s"] = round(time.perf_counter() - started, 3)
    _totals(store, report)


def _ingest_unit(
    unit: Unit, store: Store, batcher: Batcher, count_tokens: Callable[[str], int], opts: IngestOptions, report: IngestReport,
    seen: set[str], bar: Progress,
) -> None:
    warnings: list[str] = []
    t0 = time.perf_counter()
    articles = unit.load(warnings)
    report.timings["read_s"] += time.perf_counter() - t0
    bar.file(_size(unit), len(articles))
    report.warnings.extend({"path": unit.name, "reason": _one_line(w)} for w in warnings)
    key = unit.key
    before = store.manifest.ids_for_path(key)
    now: set[str] = set()
    for a in articles:
        a.path = key + shown(a.path[len(unit.origin) :])
        aid = a.article_id
        if aid in now:
            bar.handled()
            continue  # the same article twice in one source
        now.add(aid)
        if aid in seen or store.is_current(a):
            # seen: a copy in an earlier source (say with another headline) must not
            # overwrite it, or every re-ingest would flip between the two versions
            seen.add(aid)
            report.unchanged += 1
            bar.handled()
            continue
        seen.add(aid)
        updated = store.manifest.get(aid) is not None or bool(before - now - {aid})
        t0 = time.perf_counter()
        chunks = chunk_article(a, count_tokens, opts.chunk_tokens, opts.overlap)
        header = a.header()
        texts = [f"{header}\n{c.text}" if header else c.text for c in chunks]
        report.timings["chunk_s"] += time.perf_counter() - t0
        batcher.add(a, chunks, texts, unit.name, partial(_count, report, bar, updated, len(chunks)))
    gone = [stale for stale in before - now if store.manifest.paths_for(stale) <= {key}]
    batcher.then(unit.name, partial(_finish_unit, store, unit, now, gone))


def _count(report: IngestReport, bar: Progress, updated: bool, chunks: int) -> None:
    """On the writer, once an article is stored."""
    bar.stored(chunks)
    if updated:
        report.updated += 1
    else:
        report.added += 1


def _finish_unit(store: Store, unit: Unit, now: set[str], gone: list[str]) -> None:
    """On the writer, after the unit's articles: remove the ones it no longer holds, record what it
    holds, and (a feed entry) mark the entry as taken in, so a failed one is tried at the next poll."""
    for stale in gone:
        store.remove_article(stale)
    store.manifest.set_file(unit.key, now)
    if unit.feed:
        store.manifest.mark_entry(unit.feed, unit.entry)


def remove(ids_or_paths: Iterable[str], store: Store) -> list[str]:
    """Remove articles by id or by the file they came from; returns the removed ids."""
    removed = []
    with store.writer():
        for item in ids_or_paths:
            ids = {item} if store.manifest.get(item) else store.manifest.ids_for_path(item if is_url(item) else file_key(Path(item)))
            for aid in ids:
                store.remove_article(aid)
                removed.append(aid)
        store.sync_keyword_if_needed()
    return removed


def _totals(store: Store, report: IngestReport) -> None:
    try:
        report.chunks_total = store.chunks.count()
        report.articles_total = store.manifest.count()
    except Exception as e:  # noqa: BLE001 - totals are best effort when the store has failed
        log.debug("cannot count the store: %s", e)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _progress_mode(enabled: bool) -> str | None:
    if not enabled:
        return None
    return "bar" if sys.stderr.isatty() else "log"


def _size(unit: Unit) -> int:
    """Bytes of a file unit (progress weights by it); pages and feed entries count as none."""
    if is_url(unit.origin):
        return 0
    try:
        return Path(unit.origin).stat().st_size
    except OSError:
        return 0
