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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.filters import source_key
from store.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
  id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, n_chunks INTEGER NOT NULL,
  title TEXT, byline TEXT, date TEXT, source TEXT, url TEXT, path TEXT,
  ingested_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS files (path TEXT NOT NULL, article_id TEXT NOT NULL, PRIMARY KEY (path, article_id));
CREATE TABLE IF NOT EXISTS pending (article_id TEXT PRIMARY KEY, since TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS articles_date ON articles (date);
CREATE INDEX IF NOT EXISTS articles_source ON articles (source);
CREATE TABLE IF NOT EXISTS feeds (
  url TEXT PRIMARY KEY, etag TEXT DEFAULT '', last_modified TEXT DEFAULT '', status TEXT DEFAULT '',
  added_at TEXT DEFAULT CURRENT_TIMESTAMP, polled_at TEXT
);
CREATE TABLE IF NOT EXISTS feed_entries (feed TEXT NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (feed, entry));
"""
SORTS = {"date": "date", "title": "title COLLATE NOCASE", "outlet": "source COLLATE NOCASE", "added": "ingested_at"}
COLUMNS = "id, content_hash, n_chunks, title, byline, date, source, url, path"


def file_of(article_path: str) -> str:
    """The file an article came from: its path without a JSON record suffix `#n`."""
    return re.sub(r"#\d+$", "", article_path)


@dataclass(frozen=True)
class ArticleQuery:
    """What the Corpus tab and `newsrag list` ask for: matches of `grep` (in titles, outlets and
    URLs), from any of `sources` (outlet or host), dated within [since, until], sorted, one page."""

    grep: str = ""
    sources: tuple[str, ...] = ()
    since: str = ""  # yyyy-mm-dd, first day included
    until: str = ""  # yyyy-mm-dd, last day included
    sort: str = "date"  # a key of SORTS
    descending: bool = True
    limit: int | None = None  # None: every match
    offset: int = 0


@dataclass(frozen=True)
class FeedRow:
    url: str
    etag: str
    last_modified: str
    status: str  # what the last poll found
    added_at: str
    polled_at: str


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
    def __init__(self, path: Path, home: Path | None = None) -> None:
        """`home`: NEWSRAG_HOME, named when a write finds the disk full (default: the manifest's folder)."""
        self.path = path
        self.home = home or path.parent
        self._sql = Database(path, SCHEMA, self.home, durable=True)
        with self._sql.read() as db:
            db.create_function("source_key", 1, lambda t: source_key(t or ""), deterministic=True)

    def get(self, article_id: str) -> ArticleRow | None:
        with self._sql.read() as db:
            row = db.execute(
                "SELECT id, content_hash, n_chunks, title, byline, date, source, url, path FROM articles WHERE id=?", (article_id,)
            ).fetchone()
        return ArticleRow(*row) if row else None

    def chunk_total(self) -> int:
        """Chunks the recorded articles hold, by the manifest's count."""
        with self._sql.read() as db:
            return int(db.execute("SELECT COALESCE(SUM(n_chunks), 0) FROM articles").fetchone()[0])

    def known(self, article_ids: list[str]) -> set[str]:
        """Which of these articles the manifest holds."""
        out: set[str] = set()
        with self._sql.read() as db:
            for i in range(0, len(article_ids), 500):
                part = article_ids[i : i + 500]
                marks = ",".join("?" * len(part))
                out.update(r[0] for r in db.execute(f"SELECT id FROM articles WHERE id IN ({marks})", part))
        return out

    def known_files(self, paths: list[str]) -> set[str]:
        """Which of these files (manifest keys) the manifest holds articles of."""
        out: set[str] = set()
        with self._sql.read() as db:
            for i in range(0, len(paths), 500):
                part = paths[i : i + 500]
                out.update(r[0] for r in db.execute(f"SELECT DISTINCT path FROM files WHERE path IN ({','.join('?' * len(part))})", part))
        return out

    def articles(self) -> list[ArticleRow]:
        with self._sql.read() as db:
            rows = db.execute(
                "SELECT id, content_hash, n_chunks, title, byline, date, source, url, path FROM articles ORDER BY date DESC, title"
            ).fetchall()
        return [ArticleRow(*r) for r in rows]

    def article_ids(self) -> set[str]:
        """The ids of the recorded articles with chunks, without reading their rows."""
        with self._sql.read() as db:
            return {r[0] for r in db.execute("SELECT id FROM articles WHERE n_chunks > 0")}

    def ids_for_path(self, path: str) -> set[str]:
        with self._sql.read() as db:
            return {r[0] for r in db.execute("SELECT article_id FROM files WHERE path=?", (path,))}

    def paths_for(self, article_id: str) -> set[str]:
        with self._sql.read() as db:
            return {r[0] for r in db.execute("SELECT path FROM files WHERE article_id=?", (article_id,))}

    def pending(self) -> list[str]:
        """Articles whose chunks a writer started to change and did not finish."""
        with self._sql.read() as db:
            return [r[0] for r in db.execute("SELECT article_id FROM pending ORDER BY article_id")]

    def begin(self, article_id: str) -> None:
        """Mark `article_id` as being written: call before touching its chunks."""
        self.begin_many([article_id])

    def begin_many(self, article_ids: list[str]) -> None:
        """`begin` for several articles in one transaction (one fsync)."""
        with self._sql.write() as db:
            db.executemany("INSERT OR IGNORE INTO pending (article_id) VALUES (?)", [(a,) for a in article_ids])

    def files(self) -> list[tuple[str, str]]:
        """Every (path, article id) row."""
        with self._sql.read() as db:
            return [(r[0], r[1]) for r in db.execute("SELECT path, article_id FROM files ORDER BY path, article_id")]

    def drop_dangling_files(self) -> int:
        """File rows naming an article the manifest does not hold; returns how many went."""
        with self._sql.write() as db:
            return db.execute("DELETE FROM files WHERE article_id NOT IN (SELECT id FROM articles)").rowcount

    def put(self, row: ArticleRow) -> None:
        self.put_many([row])

    def put_many(self, rows: list[ArticleRow]) -> None:
        """Record articles and clear their pending marks, in one transaction."""
        with self._sql.write() as db:
            db.executemany("DELETE FROM pending WHERE article_id=?", [(r.id,) for r in rows])
            db.executemany(
                "INSERT OR REPLACE INTO articles (id, content_hash, n_chunks, title, byline, date, source, url, path) VALUES (?,?,?,?,?,?,?,?,?)",
                [(r.id, r.content_hash, r.n_chunks, r.title, r.byline, r.date, r.source, r.url, r.path) for r in rows],
            )
            db.executemany("INSERT OR IGNORE INTO files (path, article_id) VALUES (?, ?)", [(file_of(r.path), r.id) for r in rows])

    def set_file(self, path: str, article_ids: set[str]) -> None:
        with self._sql.write() as db:
            db.execute("DELETE FROM files WHERE path=?", (path,))
            db.executemany("INSERT INTO files (path, article_id) VALUES (?, ?)", [(path, a) for a in sorted(article_ids)])

    def remove(self, article_id: str) -> None:
        with self._sql.write() as db:
            db.execute("DELETE FROM pending WHERE article_id=?", (article_id,))
            db.execute("DELETE FROM articles WHERE id=?", (article_id,))
            db.execute("DELETE FROM files WHERE article_id=?", (article_id,))

    def get_meta(self, key: str) -> str | None:
        with self._sql.read() as db:
            row = db.execute("SELECT value FROM store_meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._sql.write() as db:
            db.execute("INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)", (key, value))
    def count(self) -> int:
        with self._sql.read() as db:
            return int(db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def search(self, q: ArticleQuery) -> tuple[list[ArticleRow], int]:
        """One page of the articles matching `q`, and how many match in all."""
        where, args = _where(q)
        order = SORTS.get(q.sort, SORTS["date"]) + (" DESC" if q.descending else " ASC")
        page = "" if q.limit is None else f" LIMIT {max(0, int(q.limit))} OFFSET {max(0, int(q.offset))}"
        with self._sql.read() as db:
            total = int(db.execute(f"SELECT COUNT(*) FROM articles{where}", args).fetchone()[0])
            rows = db.execute(f"SELECT {COLUMNS} FROM articles{where} ORDER BY {order}, title, id{page}", args).fetchall()
        return [ArticleRow(*r) for r in rows], total

    def outlets(self) -> list[tuple[str, int]]:
        """Every outlet named by an article, with its number of articles, most first."""
        with self._sql.read() as db:
            rows = db.execute(
                "SELECT source, COUNT(*) FROM articles WHERE source IS NOT NULL AND source != '' GROUP BY source ORDER BY COUNT(*) DESC, source"
            ).fetchall()
        return [(str(r[0]), int(r[1])) for r in rows]

    # --- feeds: the list `newsrag update` polls, and the entries already taken in
    def feeds(self) -> list[FeedRow]:
        with self._sql.read() as db:
            rows = db.execute("SELECT url, etag, last_modified, status, added_at, polled_at FROM feeds ORDER BY added_at, url").fetchall()
        return [FeedRow(*(str(x or "") for x in r)) for r in rows]

    def add_feed(self, url: str) -> bool:
        """True when the feed is new to the list."""
        with self._sql.write() as db:
            return db.execute("INSERT OR IGNORE INTO feeds (url) VALUES (?)", (url,)).rowcount > 0

    def remove_feed(self, url: str) -> bool:
        with self._sql.write() as db:
            db.execute("DELETE FROM feed_entries WHERE feed=?", (url,))
            return db.execute("DELETE FROM feeds WHERE url=?", (url,)).rowcount > 0

    def polled(self, url: str, status: str, etag: str = "", last_modified: str = "") -> None:
        """Note a poll; the validators are kept when the server sent none (a 304, a failure)."""
        with self._sql.write() as db:
            db.execute(
                "UPDATE feeds SET status=?, etag=CASE WHEN ?='' THEN etag ELSE ? END, "
                "last_modified=CASE WHEN ?='' THEN last_modified ELSE ? END, polled_at=CURRENT_TIMESTAMP WHERE url=?",
                (status, etag, etag, last_modified, last_modified, url),
            )

    def mark_entry(self, feed: str, entry: str) -> None:
        with self._sql.write() as db:
            db.execute("INSERT OR IGNORE INTO feed_entries (feed, entry) VALUES (?, ?)", (feed, entry))

    def seen_entries(self, feed: str) -> set[str]:
        with self._sql.read() as db:
            return {r[0] for r in db.execute("SELECT entry FROM feed_entries WHERE feed=?", (feed,))}

    def close(self) -> None:
        self._sql.close()


def _where(q: ArticleQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if q.grep.strip():
        like = "%" + q.grep.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(title LIKE ? ESCAPE '\\' OR source LIKE ? ESCAPE '\\' OR url LIKE ? ESCAPE '\\')")
        args += [like, like, like]
    keys = [source_key(s) for s in q.sources if s.strip()]
    if keys:
        marks = ",".join("?" * len(keys))
        clauses.append(f"(source_key(source) IN ({marks}) OR source_key(url) IN ({marks}))")
        args += keys + keys
    if q.since:
        clauses.append("date >= ? AND date != ''")
        args.append(q.since[:10])
    if q.until:
        clauses.append("date <= ?")  # an unknown date ("") passes `until`, as in core.filters
        args.append(q.until[:10] + "~")  # "~" sorts after the time part of a full timestamp
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args
