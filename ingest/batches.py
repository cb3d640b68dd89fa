"""Embedding across articles, writing beside it.

The embedder is the bottleneck of an ingest, so it gets whole batches: the
chunks of many articles (`batch_chunks` in all), sorted by length so that the
embedder's own small batches pad little. A writer thread takes each embedded
batch from a bounded queue and writes it (Chroma, keyword index, manifest: the
store's crash-safe order) while the next batch is embedded. File bookkeeping
(`then`) runs on the writer after the articles added before it, so the
manifest's record of a file never runs ahead of its articles.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from core.articles import Article, Chunk
from store import Store

log = logging.getLogger(__name__)

QUEUE_DEPTH = 2  # embedded batches waiting for the writer: bounds memory, keeps the embedder busy
WRITER_NICE = 10  # the writer thread's niceness (see `_yield_to_embedder`)


@dataclass
class _Item:
    article: Article
    chunks: Sequence[Chunk]
    texts: list[str]  # what is embedded for each chunk
    file: str  # the file it came from (shown), for failures
    done: Callable[[], None]  # counts it in the report once embedded


@dataclass
class _Batch:
    items: list[_Item] = field(default_factory=list)
    after: list[tuple[str, Callable[[], None]]] = field(default_factory=list)  # (file, op) run once written
    chunks: int = 0


class Writer:
    """Writes batches on a thread, in the order given; the first error stops it and is re-raised."""

    def __init__(self, store: Store | None = None, open_store: Callable[[], Store] | None = None) -> None:
        """Either a store the caller holds the writer lock of, or `open_store`: then the writer
        thread opens the store and holds its lock itself (opening Chroma, about 0.8 s, overlaps
        the first batch's embedding), and brings the keyword index in step before letting go."""
        self.store = store  # type: ignore[assignment]
        self._open = open_store
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_DEPTH)
        self.error: BaseException | None = None
        self.busy_s = 0.0  # time spent writing (beside the embedder)
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._thread.start()

    def put(self, job: tuple[list[tuple[Article, Sequence[Chunk], Any]], list[Callable[[], None]]]) -> None:
        self._check()
        self._queue.put(job)

    def _run(self) -> None:
        _yield_to_embedder()
        with contextlib.ExitStack() as held:
            if self._open is not None:
                try:
                    self.store = self._open()
                    held.enter_context(self.store.writer())
                except BaseException as e:  # noqa: BLE001 - handed to the main thread
                    self.error = e
            self._loop()
            if self._open is not None and self.error is None:
                try:
                    self.store.sync_keyword_if_needed()
                except BaseException as e:  # noqa: BLE001
                    self.error = e

    def _loop(self) -> None:
        while (job := self._queue.get()) is not None:
            if self.error is not None:
                continue  # drain: the main thread raises at its next put or close
            items, ops = job
            t0 = time.perf_counter()
            try:
                self.store.write_articles(items)
                for op in ops:
                    op()
            except BaseException as e:  # noqa: BLE001 - handed to the main thread
                self.error = e
            self.busy_s += time.perf_counter() - t0

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._check()


class Batcher:
    """Collects articles to embed; embeds them `batch_chunks` chunks at a time, longest-first
    order undone afterwards, on a thread of its own (the caller reads and chunks the next
    articles meanwhile); hands each embedded batch to the writer."""

    def __init__(self, embedder: Any, writer: Writer, batch_chunks: int, on_failed: Callable[[str, Exception], None],
                 on_embedded: Callable[[int, int], None]) -> None:
        self.embedder = embedder
        self.writer = writer
        self.batch_chunks = max(batch_chunks, 1)
        self.on_failed = on_failed
        self.on_embedded = on_embedded
        self._batch = _Batch()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-embed")
        self._pending: tuple[_Batch, Future[tuple[list[Any], float]]] | None = None  # the batch being embedded
        self._failed: set[str] = set()  # files with a batch the embedder failed: their `then` ops never run
        self.embed_s = 0.0  # time in the embedder
        self.wait_s = 0.0  # time waiting for the writer (its queue full): the writes' cost to the embedder

    def add(self, article: Article, chunks: Sequence[Chunk], texts: list[str], file: str, done: Callable[[], None]) -> None:
        self._batch.items.append(_Item(article, chunks, texts, file, done))
        self._batch.chunks += len(chunks)
        if self._batch.chunks >= self.batch_chunks:
            self._embed()

    def then(self, file: str, op: Callable[[], None]) -> None:
        """Run `op` (on the writer) once everything added so far is written; dropped if `file` failed."""
        self._batch.after.append((file, op))

    def flush(self) -> None:
        """Embed what was added and hand everything to the writer. The last batch goes in two
        parts, the second a quarter of it: only that part's writes are left once the embedder
        stops (RGB index build: the write after the last embedding 0.17-0.30 -> 0.09-0.12 s)."""
        batch = self._batch
        cut, seen = 0, 0
        while cut < len(batch.items) and seen < batch.chunks * 3 // 4:
            seen += len(batch.items[cut].chunks)
            cut += 1
        if 0 < cut < len(batch.items):
            self._batch = _Batch(batch.items[:cut], [], seen)
            self._embed()
            self._batch = _Batch(batch.items[cut:], batch.after, batch.chunks - seen)
        self._embed()
        self._hand_over(self._finish())

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _embed(self) -> None:
        """Start embedding the current batch; the batch embedded before it then goes to the
        writer, so its writes run beside this embedding (the embedder releases the GIL), as
        does the chunking of the next articles (RGB index build, 3 runs each: writes handed
        over with the next embedding 11.6 -> 11.2 s; chunking beside it 12.1 -> 11.5 s; bench/README.md)."""
        batch, self._batch = self._batch, _Batch()
        before = self._finish()
        if batch.items or batch.after:
            texts = [t for item in batch.items for t in item.texts]
            self._pending = (batch, self._pool.submit(_timed_embed, self.embedder, texts))
        self._hand_over(before)

    def _finish(self) -> Any:
        """Wait for the batch being embedded; the writer's job for it (None if there is none)."""
        if self._pending is None:
            return None
        (batch, future), self._pending = self._pending, None
        written: list[tuple[Article, Sequence[Chunk], Any]] = []
        try:
            vectors, seconds = future.result()
        except Exception as e:  # the embedder failed (a hosted one, say): these files fail, the rest goes on
            log.debug("embedding a batch failed", exc_info=True)
            for item in batch.items:
                if item.file not in self._failed:  # a file spread over batches fails once, and for good
                    self._failed.add(item.file)
                    self.on_failed(item.file, e)
            batch.items = []
        else:
            self.embed_s += seconds
            start = 0
            for item in batch.items:
                written.append((item.article, item.chunks, vectors[start : start + len(item.texts)]))
                start += len(item.texts)
            self.on_embedded(len(batch.items), start)
        done = [item.done for item in batch.items]  # counted once written
        return written, done + [op for file, op in batch.after if file not in self._failed]

    def _hand_over(self, job: Any) -> None:
        if job is not None:
            t0 = time.perf_counter()
            self.writer.put(job)
            self.wait_s += time.perf_counter() - t0

    def timings(self) -> dict[str, float]:
        return {"embed_s": round(self.embed_s, 3), "write_s": round(self.writer.busy_s, 3), "write_wait_s": round(self.wait_s, 3)}


def _timed_embed(embedder: Any, texts: list[str]) -> tuple[list[Any], float]:
    t0 = time.perf_counter()
    vectors = embed_sorted(embedder, texts)
    return vectors, time.perf_counter() - t0


def _yield_to_embedder() -> None:
    """Lower this thread's CPU priority (Linux: per thread): on few cores the embedder's threads
    come first and the writes fill the gaps; the queue gives the writer slack to catch up."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: the writer runs at normal priority
        pass


def embed_sorted(embedder: Any, texts: list[str]) -> list[Any]:
    """Vectors of `texts` in their order, embedded longest first (neighbours pad alike).
    The embedded model's own `embed_batch` is called directly: llama-index's
    `get_text_embedding_batch` wraps each batch of 8 in its instrumentation (bare embedder on
    RGB's 969 snippets, 3 rounds: 32.9 s through it, 30.4 s direct); others go through it."""
    if not texts:
        return []
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    native = getattr(embedder, "embed_batch", None)
    embed = native if callable(native) else embedder.get_text_embedding_batch
    got = embed([texts[i] for i in order])
    out: list[Any] = [None] * len(texts)
    for i, v in zip(order, got):
        out[i] = v
    return out
