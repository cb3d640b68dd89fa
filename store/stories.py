"""Stories: articles about one developing event, across days and outlets (SQLite beside the manifest).

An article joins a story as it is written (`Store.write_articles`), never by
re-clustering the store: among the stories active within `DAYS` of its date it
joins the nearest by meaning (the mean of its first chunks' vectors against the
story's centroid), helped by the names they share; when none is near enough it
starts one. Removing an article takes it out of its story (an emptied story
goes), so a re-ingested article is re-placed with its new text.

Crash safety: membership is written after the manifest row, so an article can
be stored and not yet placed, never placed and not stored; `Store.sync_stories`
places whatever the manifest holds and this table does not (at the next writer).
Placing is idempotent: an article already placed stays where it is.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.filters import UNKNOWN_DAY, from_day_number
from store.database import Database

# Measured on RealTimeQA dev-small (bench/story_pairs.py; docs/decisions/0019): of 7,999 article
# pairs within 10 days (median cosine 0.14), pairs at 0.72 or more were mostly reports of one
# event; from 0.6 to 0.72 one event (a plane crash, 0.61) and one topic (Thanksgiving, 0.62-0.71)
# mix, so there the names must agree too.
JOIN = 0.72  # cosine to a story's centroid at which an article joins it
JOIN_WITH_NAMES = 0.6  # ... when it also shares at least NAMES_NEEDED names with the story
NAMES_NEEDED = 2
DAYS = 10  # a story takes articles dated within this many days of its first or last one
LEAD_CHUNKS = 3  # an article's vector: the mean of its first chunks (headline and lead)
MAX_NAMES = 24  # names a story keeps (its most frequent)

SCHEMA = """
CREATE TABLE IF NOT EXISTS stories (
  id TEXT PRIMARY KEY, label TEXT NOT NULL, label_score REAL NOT NULL, first_day INTEGER NOT NULL,
  last_day INTEGER NOT NULL, n INTEGER NOT NULL, vec BLOB NOT NULL, names TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
  article_id TEXT PRIMARY KEY, story_id TEXT NOT NULL, day INTEGER NOT NULL, source TEXT NOT NULL,
  vec BLOB NOT NULL, names TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stories_days ON stories (last_day, first_day);
CREATE INDEX IF NOT EXISTS members_story ON members (story_id);
CREATE INDEX IF NOT EXISTS members_day ON members (day);
"""


@dataclass(frozen=True)
class Placement:
    """What placing an article needs: its id, day number, outlet, title, lead vector and names."""

    article_id: str
    day: int
    source: str
    title: str
    vector: np.ndarray
    names: tuple[str, ...]


@dataclass(frozen=True)
class Story:
    id: str
    label: str
    first: str  # ISO date ("" when no article has a known date)
    last: str
    outlets: tuple[str, ...]
    articles: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "first": self.first, "last": self.last,
                "outlets": list(self.outlets), "articles": self.articles}


def lead_vector(vectors: Sequence[Sequence[float]]) -> np.ndarray:
    v = np.asarray(vectors[:LEAD_CHUNKS], dtype=np.float32).mean(axis=0)
    return v / (np.linalg.norm(v) or 1.0)


def _iso(day: int) -> str:
    d = from_day_number(day)
    return d.isoformat() if d else ""


class Stories:
    def __init__(self, path: Path, home: Path | None = None) -> None:
        self.path = path
        self._sql = Database(path, SCHEMA, home)

    # --- writes (the store holds the writer lock)
    def place(self, items: Sequence[Placement]) -> list[str]:
        """Put each article into a story (a new one when none is near); returns their story ids."""
        out = []
        with self._sql.write() as db:
            for it in items:
                row = db.execute("SELECT story_id FROM members WHERE article_id = ?", (it.article_id,)).fetchone()
                out.append(row[0] if row else self._place(db, it))
        return out

    def _place(self, db: sqlite3.Connection, it: Placement) -> str:
        best, best_score = None, -1.0
        if it.day != UNKNOWN_DAY:
            near = db.execute(
                "SELECT id, vec, names, n FROM stories WHERE last_day >= ? AND first_day <= ? AND first_day != ?",
                (it.day - DAYS, it.day + DAYS, UNKNOWN_DAY),
            ).fetchall()
            mine = set(it.names)
            for sid, blob, names, n in near:
                centroid = np.frombuffer(blob, dtype=np.float32)
                cos = float(centroid @ it.vector) / (float(np.linalg.norm(centroid)) or 1.0)
                shared = len(mine & set(json.loads(names)))
                if cos >= JOIN or (cos >= JOIN_WITH_NAMES and shared >= NAMES_NEEDED):
                    score = cos + 0.01 * min(shared, 5)
                    if score > best_score:
                        best, best_score = sid, score
        if best is None:
            best = "s" + it.article_id[:15]
            db.execute(
                "INSERT OR REPLACE INTO stories VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                (best, it.title, -1.0, it.day, it.day, np.zeros_like(it.vector).tobytes(), "[]"),
            )
        db.execute("INSERT INTO members VALUES (?, ?, ?, ?, ?, ?)",
                   (it.article_id, best, it.day, it.source, it.vector.astype(np.float32).tobytes(), json.dumps(list(it.names))))
        self._refresh(db, best, joined=it)
        return best

    def forget(self, article_ids: Sequence[str]) -> None:
        """Take articles out of their stories (removed, or about to be re-placed with new text)."""
        with self._sql.write() as db:
            for aid in article_ids:
                row = db.execute("SELECT story_id FROM members WHERE article_id = ?", (aid,)).fetchone()
                if row is None:
                    continue
                db.execute("DELETE FROM members WHERE article_id = ?", (aid,))
                self._refresh(db, row[0])

    def _refresh(self, db: sqlite3.Connection, sid: str, joined: Placement | None = None) -> None:
        """Recompute a story from its members (a story has tens of articles, not thousands)."""
        rows = db.execute("SELECT day, vec, names FROM members WHERE story_id = ?", (sid,)).fetchall()
        if not rows:
            db.execute("DELETE FROM stories WHERE id = ?", (sid,))
            return
        vecs = np.stack([np.frombuffer(v, dtype=np.float32) for _, v, _ in rows])
        centroid = vecs.mean(axis=0)
        days = [d for d, _, _ in rows if d != UNKNOWN_DAY] or [UNKNOWN_DAY]
        names = Counter(n for _, _, ns in rows for n in json.loads(ns))
        top = [n for n, _ in names.most_common(MAX_NAMES)]
        db.execute("UPDATE stories SET first_day = ?, last_day = ?, n = ?, vec = ?, names = ? WHERE id = ?",
                   (min(days), max(days), len(rows), centroid.astype(np.float32).tobytes(), json.dumps(top), sid))
        if joined is not None:  # the label: the title of the article nearest the story's centre so far
            unit = centroid / (float(np.linalg.norm(centroid)) or 1.0)
            score = float(unit @ joined.vector)
            label_score = db.execute("SELECT label_score FROM stories WHERE id = ?", (sid,)).fetchone()[0]
            if score > label_score and joined.title:
                db.execute("UPDATE stories SET label = ?, label_score = ? WHERE id = ?", (joined.title[:200], score, sid))

    # --- reads
    def of(self, article_ids: Sequence[str]) -> dict[str, str]:
        """Article id -> story id, for those placed."""
        out: dict[str, str] = {}
        ids = list(dict.fromkeys(article_ids))
        with self._sql.read() as db:
            for i in range(0, len(ids), 500):
                part = ids[i : i + 500]
                marks = ",".join("?" * len(part))
                out.update(db.execute(f"SELECT article_id, story_id FROM members WHERE article_id IN ({marks})", part).fetchall())
        return out

    def leads_between(self, first_day: int, last_day: int) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The articles dated in [first_day, last_day] (day numbers): their ids, days and lead
        vectors (one row each), for reading a window article by article without a vector search."""
        with self._sql.read() as db:
            rows = db.execute("SELECT article_id, day, vec FROM members WHERE day BETWEEN ? AND ?", (first_day, last_day)).fetchall()
        if not rows:
            return [], np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        return [r[0] for r in rows], np.array([r[1] for r in rows]), np.stack([np.frombuffer(r[2], dtype=np.float32) for r in rows])

    def placed(self) -> set[str]:
        with self._sql.read() as db:
            return {r[0] for r in db.execute("SELECT article_id FROM members")}

    def list(self, since: int | None = None, until: int | None = None, grep: str = "", sources: Sequence[str] = (),
             ids: Sequence[str] = (), limit: int = 200) -> list[Story]:
        """Stories active within [since, until] (day numbers), newest first; `grep` matches labels,
        `sources` the outlets (case-insensitive substrings)."""
        sql, args = "SELECT id, label, first_day, last_day, n FROM stories WHERE 1=1", []
        if since is not None:
            sql, args = sql + " AND last_day >= ?", [*args, since]
        if until is not None:
            sql, args = sql + " AND first_day <= ?", [*args, until]
        if grep:
            sql, args = sql + " AND label LIKE ?", [*args, f"%{grep}%"]
        if ids:
            sql, args = sql + f" AND id IN ({','.join('?' * len(ids))})", [*args, *ids]
        with self._sql.read() as db:
            rows = db.execute(sql + " ORDER BY last_day DESC, n DESC", args).fetchall()
        out = []
        for sid, label, first, last, n in rows:
            with self._sql.read() as db:
                outlets = tuple(sorted({r[0] for r in db.execute("SELECT source FROM members WHERE story_id = ?", (sid,))} - {""}))
            if sources and not any(s.lower() in o.lower() for s in sources for o in outlets):
                continue
            out.append(Story(sid, label, _iso(first), _iso(last), outlets, n))
            if len(out) >= limit:
                break
        return out

    def close(self) -> None:
        self._sql.close()

    def articles_of(self, story_id: str) -> list[str]:
        """The ids of a story's articles (none for an unknown story)."""
        with self._sql.read() as db:
            return [r[0] for r in db.execute("SELECT article_id FROM members WHERE story_id = ?", (story_id,))]
