"""What has been ingested: articles and the files they came from (SQLite).

Each article row is written only after its chunks are in Chroma, in one
transaction with the file->articles mapping, so after a crash the manifest
never claims more than Chroma holds; a re-run redoes what is missing.

Before an article's chunks are touched its id goes into `pending` (committed,
fsynced); the transaction that records the article (or its removal) takes it
out again. So after a SIGKILL `pending` names exactly the articles whose chunks
may be half-written, and the next writer undoes them (see Store.recover).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
  id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, n_chunks INTEGER NOT NULL,
  title TEXT, byline TEXT, date TEXT, source TEXT, url TEXT, path TEXT,
  ingested_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS files (path TEXT NOT NULL, article_id TEXT NOT NULL, PRIMARY KEY (path, article_id));
CREATE TABLE IF NOT EXISTS pending (article_id TEXT PRIMARY KEY, since TEXT DEFAULT CURRENT_TIMESTAMP);
"""


def file_of(article_path: str) -> str:
    """The file an article came from: its path without a JSON record suffix `#n`."""
    return re.sub(r"#\d+$", "", article_path)


@dataclass(frozen=True)
class ArticleRow:
    id: str
    content_hash: str
    n_chunks: int
    title: str
    byline: str
    date: str
    source: str
    url: str
    path: str


class Manifest:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def get(self, article_id: str) -> ArticleRow | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, content_hash, n_chunks, title, byline, date, source, url, path FROM articles WHERE id=?", (article_id,)
            ).fetchone()
        return ArticleRow(*row) if row else None

    def articles(self) -> list[ArticleRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, content_hash, n_chunks, title, byline, date, source, url, path FROM articles ORDER BY date DESC, title"
            ).fetchall()
        return [ArticleRow(*r) for r in rows]

    def ids_for_path(self, path: str) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT article_id FROM files WHERE path=?", (path,))}

    def paths_for(self, article_id: str) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT path FROM files WHERE article_id=?", (article_id,))}

    def pending(self) -> list[str]:
        """Articles whose chunks a writer started to change and did not finish."""
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT article_id FROM pending ORDER BY article_id")]

    def begin(self, article_id: str) -> None:
        """Mark `article_id` as being written: call before touching its chunks."""
        self.begin_many([article_id])

    def begin_many(self, article_ids: list[str]) -> None:
        """`begin` for several articles in one transaction (one fsync)."""
        with self._tx() as db:
            db.executemany("INSERT OR IGNORE INTO pending (article_id) VALUES (?)", [(a,) for a in article_ids])

    def files(self) -> list[tuple[str, str]]:
        """Every (path, article id) row."""
        with self._lock:
            return [(r[0], r[1]) for r in self._db.execute("SELECT path, article_id FROM files ORDER BY path, article_id")]

    def drop_dangling_files(self) -> int:
        """File rows naming an article the manifest does not hold; returns how many went."""
        with self._tx() as db:
            return db.execute("DELETE FROM files WHERE article_id NOT IN (SELECT id FROM articles)").rowcount

    def put(self, row: ArticleRow) -> None:
        self.put_many([row])

    def put_many(self, rows: list[ArticleRow]) -> None:
        """Record articles and clear their pending marks, in one transaction."""
        with self._tx() as db:
            db.executemany("DELETE FROM pending WHERE article_id=?", [(r.id,) for r in rows])
            db.executemany(
                "INSERT OR REPLACE INTO articles (id, content_hash, n_chunks, title, byline, date, source, url, path) VALUES (?,?,?,?,?,?,?,?,?)",
                [(r.id, r.content_hash, r.n_chunks, r.title, r.byline, r.date, r.source, r.url, r.path) for r in rows],
            )
            db.executemany("INSERT OR IGNORE INTO files (path, article_id) VALUES (?, ?)", [(file_of(r.path), r.id) for r in rows])

    def set_file(self, path: str, article_ids: set[str]) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM files WHERE path=?", (path,))
            db.executemany("INSERT INTO files (path, article_id) VALUES (?, ?)", [(path, a) for a in sorted(article_ids)])

    def remove(self, article_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM pending WHERE article_id=?", (article_id,))
            db.execute("DELETE FROM articles WHERE id=?", (article_id,))
            db.execute("DELETE FROM files WHERE article_id=?", (article_id,))

    def close(self) -> None:
        self._db.close()
