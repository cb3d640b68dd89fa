"""Files and folders in, articles upserted, a report out. Idempotent.

An article whose content hash the manifest already holds is skipped; a file
that now yields other articles than before has the old ones removed; a file
that fails is reported with a one-line reason and the rest carries on.

Hostile files are bounded, not trusted: only regular files are opened (a FIFO
would block forever; see ingest/files.py), at most the size limit is read, text
is cut to the article limit before it is parsed, and paragraphs are cut to a
bounded length before sentence splitting. Crash safety lives in the store (see store/store.py);
after a batch the keyword index is rebuilt whenever it does not match Chroma.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ingest.chunking import chunk_article
from ingest.files import find_files, shown
from ingest.readers import MAX_PARAGRAPH, MIN_WORDS, IngestOptions, bounded_paragraphs, load_file
from ingest.sources import Unit, file_key, units
from ingest.web import is_url
from core.errors import DiskFullError, NewsragError
from store import Store
from store.space import check_free, estimate

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
    opts: IngestOptions = IngestOptions(),
    progress: bool = False,
    on_file: Callable[[int, int, str], None] | None = None,
) -> IngestReport:
    """Files, folders, URLs of pages and feeds (a `str` with "://"), and feed files, upserted."""
    report = IngestReport()
    try:
        with store.writer():  # one writer per store; also undoes what a killed writer left half-done
            work = units(items, opts, report.failed)
            # a large ingest that cannot fit is refused before it writes
            check_free(store.home, estimate([Path(u.origin) for u in work if not is_url(u.origin)]))
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
    """Load and upsert each unit (hold `store.writer()`); a unit that fails is reported, the rest go on."""
    count_tokens = token_counter(embedder)
    changed = False
    seen: set[str] = set()  # articles met in this run: the first file to hold one wins
    for i, unit in enumerate(_progress(work, progress)):
        if on_file:
            on_file(i, len(work), unit.name)
        try:
            changed |= _ingest_unit(unit, store, embedder, count_tokens, opts, report, seen)
            if unit.feed:
                store.manifest.mark_entry(unit.feed, unit.entry)
        except DiskFullError:
            raise
        except NewsragError as e:
            report.failed.append({"path": unit.name, "reason": _one_line(str(e))})
        except Exception as e:  # one bad file must not stop the rest
            log.debug("ingest of %s failed", unit.name, exc_info=True)
            report.failed.append({"path": unit.name, "reason": _one_line(f"{type(e).__name__}: {e}")})
    if changed or store.keyword_stale():  # stale: e.g. a writer killed before its rebuild
        store.sync_keyword()
    _totals(store, report)


def _totals(store: Store, report: IngestReport) -> None:
    try:
        report.chunks_total = store.chunks.count()
        report.articles_total = store.manifest.count()
    except Exception as e:  # noqa: BLE001 - totals are best effort when the store has failed
        log.debug("cannot count the store: %s", e)


def _ingest_unit(
    unit: Unit, store: Store, embedder: Any, count_tokens: Callable[[str], int], opts: IngestOptions, report: IngestReport, seen: set[str]
) -> bool:
    warnings: list[str] = []
    articles = unit.load(warnings)
    report.warnings.extend({"path": unit.name, "reason": _one_line(w)} for w in warnings)
    key = unit.key
    before = store.manifest.ids_for_path(key)
    now: set[str] = set()
    changed = False
    for a in articles:
        a.path = key + shown(a.path[len(unit.origin) :])
        aid = a.article_id
        if aid in now:
            continue  # the same article twice in one file
        now.add(aid)
        if aid in seen or store.is_current(a):
            # seen: a copy in an earlier file (say with another headline) must not
            # overwrite it, or every re-ingest would flip between the two versions
            seen.add(aid)
            report.unchanged += 1
            continue
        seen.add(aid)
        existed = store.manifest.get(aid) is not None
        chunks = chunk_article(a, count_tokens, opts.chunk_tokens, opts.overlap)
        header = a.header()
        vectors = embedder.get_text_embedding_batch([f"{header}\n{c.text}" if header else c.text for c in chunks])
        store.write_article(a, chunks, vectors)
        changed = True
        if existed or before - now - {aid}:
            report.updated += 1
        else:
            report.added += 1
    for stale in before - now:
        if store.manifest.paths_for(stale) <= {key}:
            store.remove_article(stale)
            changed = True
    store.manifest.set_file(key, now)
    return changed


def remove(ids_or_paths: Iterable[str], store: Store) -> list[str]:
    """Remove articles by id or by the file they came from; returns the removed ids."""
    removed = []
    with store.writer():
        for item in ids_or_paths:
            ids = {item} if store.manifest.get(item) else store.manifest.ids_for_path(item if is_url(item) else file_key(Path(item)))
            for aid in ids:
                store.remove_article(aid)
                removed.append(aid)
        if removed or store.keyword_stale():
            store.sync_keyword()
    return removed


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _progress(work: list[Unit], enabled: bool) -> Iterable[Unit]:
    if not enabled:
        return work
    from tqdm import tqdm

    return tqdm(work, desc="ingest", unit="item")
