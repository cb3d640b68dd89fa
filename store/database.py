"""One SQLite file shared by a process's threads (the manifest, stories, watches).

One connection behind a lock: a page's reads and an ingest's writes in one server
take turns, so a reader never sees another thread's transaction half done. Writes
run in IMMEDIATE transactions, so another process waits for the file (up to
`timeout`) instead of failing mid-way. A write that fails on a full disk says so
(`store.space`).
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from store import space


class Database:
    def __init__(self, path: Path, schema: str, home: Path | None = None, *, durable: bool = False, timeout: float = 30) -> None:
        """`home`: NEWSRAG_HOME, named when a write finds the disk full (default: the file's folder);
        `durable`: every commit reaches the disk before it returns (the manifest's record of what is stored)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.home = path, home or path.parent
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), timeout=timeout, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")  # readers in other processes do not wait for a writer
        if durable:
            self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(schema)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection, for reads fetched before the block ends."""
        with self._lock:
            yield self._db

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as e:  # "database or disk is full": said as such
                if full := space.explain(e, self.home, writing=False):
                    raise full from e
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()
