"""Files and folders in, articles upserted, a report out. Idempotent.

An article whose content hash the manifest already holds is skipped; a file
that now yields other articles than before has the old ones removed; a file
that fails is reported with a one-line reason and the rest carries on.

Hostile files are bounded, not trusted: only regular files are opened (a FIFO
would block forever; see ingest/files.py), at most the size limit is read, text
is cut to the article limit before it is parsed, and paragraphs are cut to a
bounded length before sentence splitting. Chunks of many articles are embedded
together and written beside the embedder (ingest/batches.py); crash safety lives
in the store's write order (see store/store.py).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from functools import partial
from typing import Any, Callable, Iterable

from ingest.batches import Batcher, Writer
from ingest.chunking import chunk_article
from ingest.decode import decode
from ingest.files import find_files, read_bytes, shown
from ingest.formats import READERS, ReadContext, tidy
from ingest.progress import Progress
from core.articles import Article
from core.errors import IngestError, NewsragError
from store import Store

log = logging.getLogger(__name__)

MIN_WORDS = 5  # fewer words than this is not an article (a page's "Home" link, a stray "ok")
MAX_PARAGRAPH = 1200  # characters; longer paragraphs are cut (bounds the sentence splitter's cost)
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


@dataclass(frozen=True)
class IngestOptions:
    chunk_tokens: int = 160
    overlap: int = 1
    max_file_bytes: int = 50 * 1024 * 1024
    max_article_chars: int = 200_000
    batch_chunks: int = 256  # chunks embedded per batch, across articles (see bench/README.md)
    progress_every: float = 10.0  # seconds between progress lines when stderr is not a terminal


def load_file(path: Path, opts: IngestOptions, warnings: list[str]) -> list[Article]:
    """The articles in one file; an IngestError with a one-line reason if there are none."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise IngestError(f"unsupported file type {path.suffix or '(none)'!r}; newsrag reads {', '.join(sorted(READERS))}")
    data = read_bytes(path, opts.max_file_bytes)
    if not data or data.isspace():
        raise IngestError("empty file")
    text = decode(data)
    del data
    if not text or text.isspace():
        raise IngestError("empty file")
    ctx = ReadContext(opts.max_article_chars, warnings)
    articles = reader(text, str(path), ctx)
    del text
    good, thin = [], 0
    for a in articles:
        tidy(a)
        if a.body and a.body[-1][1] - a.body[0][0] > opts.max_article_chars:  # a reader that did not cut
            end = a.body[0][0] + opts.max_article_chars
            a.body = [(s, min(e, end)) for s, e in a.body if s < end]
            ctx.cut += 1
        a.body = bounded_paragraphs(a.text, a.body)
        if _has_words(a, MIN_WORDS):
            good.append(a)
        else:
            thin += 1
    if ctx.cut:
        what = "article" if ctx.cut == 1 else f"{ctx.cut} articles"
        warnings.append(f"{what} cut to {opts.max_article_chars} characters (NEWSRAG_MAX_ARTICLE_CHARS)")
    if not good:
        raise IngestError("no article text found" + (f" (fewer than {MIN_WORDS} words)" if thin else ""))
    if thin:
        warnings.append(f"{thin} record(s) with fewer than {MIN_WORDS} words skipped")
    return good


def _has_words(article: Article, n: int) -> bool:
    found = 0
    for s, e in article.body:
        for _ in re.finditer(r"\w+", article.text[s:e]):
            found += 1
            if found >= n:
                return True
    return False


def bounded_paragraphs(text: str, spans: list[tuple[int, int]], limit: int = MAX_PARAGRAPH) -> list[tuple[int, int]]:
    """Body spans cut to at most `limit` characters, at a sentence end or a space when there is one.

    A multi-megabyte line with no full stops is one 'paragraph' to the sentence splitter;
    cut, it costs linear time and yields passages of a sane size.
    """
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while e - s > limit:
            cut = _cut_point(text, s, s + limit)
            out.append((s, cut))
            s = cut
            while s < e and text[s].isspace():
                s += 1
        if s < e:
            out.append((s, e))
    return out


def _cut_point(text: str, s: int, hard: int) -> int:
    lo = s + (hard - s) // 2
    ends = [m.end() for m in re.finditer(r"[.!?…][\"'”’)\]]*(?=\s)", text[lo:hard])]
    if ends:
        return lo + ends[-1]
    space = text.rfind(" ", lo, hard)
    return space if space > s else hard


def token_counter(embedder: Any) -> Callable[[str], int]:
    """The embedder's token count, never below one token per MAX_CHARS_PER_TOKEN
    characters (so passages stay short whatever the tokenizer makes of them)."""
    counted: Callable[[str], int] = getattr(embedder, "count_tokens", None) or (lambda t: int(len(t.split()) * 1.4) + 1)

    def tokens(text: str) -> int:
        return max(counted(text), len(text) // MAX_CHARS_PER_TOKEN)

    return tokens


def ingest(
    paths: Iterable[Path | str],
    store: Store,
    embedder: Any,
    opts: IngestOptions = IngestOptions(),
    progress: bool = False,
    on_file: Callable[[int, int, str], None] | None = None,
) -> IngestReport:
    """progress: a bar when stderr is a terminal, else a line every `opts.progress_every` seconds."""
    started = time.perf_counter()
    report = IngestReport(timings={"read_s": 0.0, "chunk_s": 0.0})
    count_tokens = token_counter(embedder)
    with store.writer():  # one writer per store; also undoes what a killed writer left half-done
        files = find_files([Path(p) for p in paths], report)
        shown_bar = _progress_mode(progress)
        bar = Progress(sum(_size(p) for p in files), len(files), shown_bar, opts.progress_every)
        writer = Writer(store)
        batcher = Batcher(
            embedder, writer, opts.batch_chunks,
            on_failed=lambda file, e: report.failed.append({"path": file, "reason": _one_line(f"embedding failed: {type(e).__name__}: {e}")}),
            on_embedded=lambda articles, chunks: bar.handled(articles, chunks),
        )
        seen: set[str] = set()  # articles met in this run: the first file to hold one wins
        try:
            for i, path in enumerate(files):
                if on_file:
                    on_file(i, len(files), shown(path))
                try:
                    _ingest_file(path, store, batcher, count_tokens, opts, report, seen, bar)
                except Exception as e:
                    if writer.error is not None:
                        raise  # the store cannot be written: no later file can be either
                    if isinstance(e, NewsragError):
                        report.failed.append({"path": shown(path), "reason": _one_line(str(e))})
                        continue
                    # one bad file must not stop the rest
                    log.debug("ingest of %s failed", path, exc_info=True)
                    report.failed.append({"path": shown(path), "reason": _one_line(f"{type(e).__name__}: {e}")})
            batcher.flush()
        finally:
            t0 = time.perf_counter()
            writer.close()
            report.timings["write_drain_s"] = round(time.perf_counter() - t0, 3)
            bar.close()
        t0 = time.perf_counter()
        store.sync_keyword_if_needed()  # missing, damaged or replaced: rebuilt from Chroma
        report.timings["keyword_check_s"] = round(time.perf_counter() - t0, 3)
        report.timings.update(batcher.timings())
        report.timings = {k: round(v, 3) for k, v in report.timings.items()}
        report.timings["total_s"] = round(time.perf_counter() - started, 3)
    report.chunks_total = store.chunks.count()
    report.articles_total = len(store.manifest.articles())
    return report


def _ingest_file(
    path: Path, store: Store, batcher: Batcher, count_tokens: Callable[[str], int], opts: IngestOptions, report: IngestReport,
    seen: set[str], bar: Progress,
) -> None:
    warnings: list[str] = []
    t0 = time.perf_counter()
    articles = load_file(path, opts, warnings)
    report.timings["read_s"] += time.perf_counter() - t0
    bar.file(_size(path), len(articles))
    report.warnings.extend({"path": shown(path), "reason": _one_line(w)} for w in warnings)
    key = _key(path)
    before = store.manifest.ids_for_path(key)
    now: set[str] = set()
    for a in articles:
        a.path = key + shown(a.path[len(str(path)) :])
        aid = a.article_id
        if aid in now:
            bar.handled()
            continue  # the same article twice in one file
        now.add(aid)
        if aid in seen or store.is_current(a):
            # seen: a copy in an earlier file (say with another headline) must not
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
        batcher.add(a, chunks, texts, shown(path), partial(_count, report, updated))
    gone = [stale for stale in before - now if store.manifest.paths_for(stale) <= {key}]
    batcher.then(shown(path), partial(_finish_file, store, key, now, gone))


def _count(report: IngestReport, updated: bool) -> None:
    if updated:
        report.updated += 1
    else:
        report.added += 1


def _finish_file(store: Store, key: str, now: set[str], gone: list[str]) -> None:
    """On the writer, after the file's articles: remove the ones it no longer holds, record what it holds."""
    for stale in gone:
        store.remove_article(stale)
    store.manifest.set_file(key, now)


def remove(ids_or_paths: Iterable[str], store: Store) -> list[str]:
    """Remove articles by id or by the file they came from; returns the removed ids."""
    removed = []
    with store.writer():
        for item in ids_or_paths:
            ids = {item} if store.manifest.get(item) else store.manifest.ids_for_path(_key(Path(item)))
            for aid in ids:
                store.remove_article(aid)
                removed.append(aid)
        store.sync_keyword_if_needed()
    return removed


def _key(path: Path) -> str:
    """The manifest's name for a file: its absolute, resolved path."""
    try:
        return shown(path.resolve())
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, on Python < 3.13
        return shown(os.path.abspath(path))


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _progress_mode(enabled: bool) -> str | None:
    if not enabled:
        return None
    return "bar" if sys.stderr.isatty() else "log"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
