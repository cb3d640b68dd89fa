"""Files and folders in, articles upserted, a report out. Idempotent.

An article whose content hash the manifest already holds is skipped; a file
that now yields other articles than before has the old ones removed; a file
that fails is reported with a one-line reason and the rest carries on.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ingest.chunking import chunk_article
from ingest.decode import decode
from ingest.formats import READERS, read_jsonl
from ingest.types import Article
from rag.errors import IngestError, NewsragError
from store import Store

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class IngestOptions:
    chunk_tokens: int = 160
    overlap: int = 1
    max_file_bytes: int = 50 * 1024 * 1024
    max_article_chars: int = 200_000


def find_files(paths: Iterable[Path], report: IngestReport) -> list[Path]:
    """Files under the given paths; unknown types and unreadable entries are reported."""
    found: list[Path] = []
    seen_dirs: set[tuple[int, int]] = set()
    for p in paths:
        if p.is_dir():
            for root, dirs, files in os.walk(p, followlinks=True, onerror=lambda e: report.failed.append({"path": str(e.filename), "reason": e.strerror or str(e)})):
                st = os.stat(root)
                if (st.st_dev, st.st_ino) in seen_dirs:  # a symlink loop
                    dirs[:] = []
                    continue
                seen_dirs.add((st.st_dev, st.st_ino))
                dirs.sort()
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for name in sorted(files):
                    if not name.startswith("."):
                        found.append(Path(root) / name)
        elif p.exists() or p.is_symlink():
            found.append(p)
        else:
            report.failed.append({"path": str(p), "reason": "no such file or folder"})
    return found


def load_file(path: Path, opts: IngestOptions, warnings: list[str]) -> list[Article]:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise IngestError(f"unsupported file type {path.suffix or '(none)'!r}; newsrag reads {', '.join(sorted(READERS))}")
    try:
        size = path.stat().st_size
        if size > opts.max_file_bytes:
            raise IngestError(f"file is {size / 1e6:.1f} MB, over the {opts.max_file_bytes / 1e6:.0f} MB limit (NEWSRAG_MAX_FILE_MB)")
        with open(path, "rb") as f:
            data = f.read(opts.max_file_bytes + 1)
    except OSError as e:
        raise IngestError(f"cannot read: {e.strerror or e}") from None
    if not data.strip():
        raise IngestError("empty file")
    text = decode(data)
    if not text.strip():
        raise IngestError("empty file")
    articles = read_jsonl(text, str(path), warnings) if reader is read_jsonl else reader(text, str(path))
    good = []
    for a in articles:
        if len(a.text) > opts.max_article_chars:
            a.body = [(s, min(e, opts.max_article_chars)) for s, e in a.body if s < opts.max_article_chars]
            warnings.append(f"article cut to {opts.max_article_chars} characters (NEWSRAG_MAX_ARTICLE_CHARS)")
        if a.body and a.body_text.strip():
            good.append(a)
    if not good:
        raise IngestError("no article text found")
    return good


def ingest(
    paths: Iterable[Path | str],
    store: Store,
    embedder: Any,
    opts: IngestOptions = IngestOptions(),
    progress: bool = False,
    on_file: Callable[[int, int, str], None] | None = None,
) -> IngestReport:
    report = IngestReport()
    count_tokens = getattr(embedder, "count_tokens", None) or (lambda t: int(len(t.split()) * 1.4) + 1)
    with store.writer():
        files = find_files([Path(p) for p in paths], report)
        bar = _progress(files, progress)
        changed = False
        for i, path in enumerate(bar):
            if on_file:
                on_file(i, len(files), str(path))
            try:
                changed |= _ingest_file(path, store, embedder, count_tokens, opts, report)
            except NewsragError as e:
                report.failed.append({"path": str(path), "reason": str(e)})
            except Exception as e:  # one bad file must not stop the rest
                log.debug("ingest of %s failed", path, exc_info=True)
                report.failed.append({"path": str(path), "reason": f"{type(e).__name__}: {e}"})
        if changed or not store.keyword.exists() or store.keyword.fingerprint == "":
            store.sync_keyword()
    report.chunks_total = store.chunks.count()
    report.articles_total = len(store.manifest.articles())
    return report


def _ingest_file(path: Path, store: Store, embedder: Any, count_tokens: Callable[[str], int], opts: IngestOptions, report: IngestReport) -> bool:
    warnings: list[str] = []
    articles = load_file(path, opts, warnings)
    report.warnings.extend({"path": str(path), "reason": w} for w in warnings)
    key = str(path.resolve())
    before = store.manifest.ids_for_path(key)
    now: set[str] = set()
    changed = False
    for a in articles:
        a.path = key + a.path[len(str(path)) :]
        aid = a.article_id
        if aid in now:
            continue  # the same article twice in one file
        now.add(aid)
        if store.is_current(a):
            report.unchanged += 1
            continue
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
            ids = {item} if store.manifest.get(item) else store.manifest.ids_for_path(str(Path(item).resolve()))
            for aid in ids:
                store.remove_article(aid)
                removed.append(aid)
        if removed:
            store.sync_keyword()
    return removed


def _progress(files: list[Path], enabled: bool) -> Iterable[Path]:
    if not enabled:
        return files
    from tqdm import tqdm

    return tqdm(files, desc="ingest", unit="file")
