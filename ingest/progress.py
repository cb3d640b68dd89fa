"""Ingest progress: articles/s, chunks/s and an ETA, as a tqdm bar on a terminal and
as a log line every `every` seconds otherwise (a long ingest into a file is not silent).

The ETA comes from bytes: files whose size is known up front, and within a file the
share of its articles handled, so one big JSONL file still gives a fair estimate.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any


def _clock(seconds: float) -> str:
    s = int(max(seconds, 0) + 0.5)
    return f"{s // 3600}h{s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


class Progress:
    def __init__(self, total_bytes: int, files: int, mode: str | None, every: float, stream: IO[str] | None = None) -> None:
        """mode: "bar" (tqdm), "log" (lines to `stream`) or None (silent)."""
        self.total = max(total_bytes, 1)
        self.files = files
        self.mode = mode
        self.every = every
        self.stream = stream or sys.stderr
        self.start = self._last = time.monotonic()
        self.articles = self.chunks = self.file_no = 0  # handled: embedded, or found unchanged
        self.embedded = 0  # articles embedded (of `articles`)
        self.stored_articles = self.stored_chunks = 0  # written to the store (counted by the writer)
        self._done_bytes = 0  # bytes of finished files
        self._file_bytes = self._file_articles = self._file_seen = 0
        self._bar: Any = None
        if mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc="ingest", unit="B", unit_scale=True, file=self.stream)

    def file(self, size: int, articles: int) -> None:
        """A file was read: `size` bytes holding `articles` articles."""
        self._done_bytes += self._file_bytes
        self._file_bytes, self._file_articles, self._file_seen = size, max(articles, 1), 0
        self.file_no += 1
        self._tick()

    def handled(self, articles: int = 1, chunks: int = 0) -> None:
        """Articles embedded (with their chunks) or found unchanged."""
        self.articles += articles
        self.chunks += chunks
        self._file_seen += articles
        self._tick()

    def embedded_batch(self, articles: int, chunks: int) -> None:
        """Articles embedded, with their chunks (on their way to the writer)."""
        self.embedded += articles
        self.handled(articles, chunks)

    def stored(self, chunks: int) -> None:
        """One article written to the store, with its chunks (called on the writer thread)."""
        self.stored_articles += 1
        self.stored_chunks += chunks

    @property
    def fraction(self) -> float:
        within = self._file_bytes * min(self._file_seen / max(self._file_articles, 1), 1.0)
        return min((self._done_bytes + within) / self.total, 1.0)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        f = self.fraction
        eta = elapsed * (1 - f) / f if f > 0 else 0.0
        return (
            f"ingest: {self.articles} articles ({self.file_no}/{self.files} files, {f:.0%}), "
            f"{self.articles / elapsed:.1f} articles/s, {self.chunks / elapsed:.0f} chunks/s, "
            + (f"ETA {_clock(eta)}" if f > 0 else "ETA ?")
        )

    def _tick(self) -> None:
        now = time.monotonic()
        if self._bar is not None:
            self._bar.n = int(self.fraction * self.total)
            elapsed = max(now - self.start, 1e-9)
            self._bar.set_postfix_str(
                f"{self.articles} articles, {self.articles / elapsed:.1f}/s, {self.chunks / elapsed:.0f} chunks/s", refresh=True
            )
        elif self.mode == "log" and now - self._last >= self.every:
            self._last = now
            print(self.line(), file=self.stream, flush=True)

    def close(self, completed: bool = True) -> None:
        """The last line says what was stored, not what was embedded: an ingest that stopped
        (a full disk) has embedded articles it never wrote."""
        if self._bar is not None:
            if completed:
                self._bar.n = self.total
            self._bar.close()
        elif self.mode == "log":
            print(self.final_line(completed), file=self.stream, flush=True)

    def final_line(self, completed: bool = True) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        unchanged = self.articles - self.embedded
        stored = f"{self.stored_articles} articles stored ({self.stored_chunks} chunks)" + (f", {unchanged} unchanged" if unchanged else "")
        if not completed:
            lost = self.embedded - self.stored_articles
            return f"ingest: stopped after {_clock(elapsed)}, {stored}" + (f"; {lost} embedded but not stored" if lost > 0 else "")
        return (
            f"ingest: done, {stored} in {_clock(elapsed)} "
            f"({self.stored_articles / elapsed:.1f} articles/s, {self.stored_chunks / elapsed:.0f} chunks/s)"
        )
