"""Watches: saved topics, the events already found for each, and an outbox of deliveries.

One SQLite file under the store's home. A run (`rag.watch_run`) finds the events of a
watch's topic since its last run; `queue()` keeps those not seen before and writes one
outbox row per delivery channel, in one transaction with the watch's new `last_run`. Only
then is anything sent: a run killed before that transaction found nothing (the next one
finds it again), a run killed after it left pending rows (the next one sends them). A row
is marked sent after its channel acknowledged it; a kill between the two sends it again,
with the same idempotency key, which a receiver can use to drop the copy.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from store.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS watches (
  id TEXT PRIMARY KEY, topic TEXT NOT NULL, channels TEXT NOT NULL, created TEXT NOT NULL,
  last_run TEXT, last_error TEXT
);
CREATE TABLE IF NOT EXISTS events (
  watch_id TEXT NOT NULL, key TEXT NOT NULL, day TEXT NOT NULL, payload TEXT NOT NULL, found TEXT NOT NULL,
  PRIMARY KEY (watch_id, key)
);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, watch_id TEXT NOT NULL, channel TEXT NOT NULL, target TEXT NOT NULL,
  payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, sent TEXT, error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (sent);
"""
CHANNELS = ("atom", "webhook", "email")


@dataclass(frozen=True)
class Watch:
    id: str
    topic: str
    channels: tuple[tuple[str, str], ...]  # (channel, target): ("atom", ""), ("webhook", URL), ("email", ADDRESS)
    created: str
    last_run: str | None
    last_error: str | None


@dataclass(frozen=True)
class Delivery:
    id: int
    watch_id: str
    channel: str
    target: str
    payload: dict[str, Any]
    attempts: int

    @property
    def idempotency_key(self) -> str:
        return f"{self.watch_id}-{self.id}"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Watchlist:
    def __init__(self, home: Path) -> None:
        self._sql = Database(home / "watches" / "watches.sqlite", SCHEMA, home)

    def add(self, topic: str, channels: Sequence[tuple[str, str]]) -> Watch:
        wid = uuid.uuid4().hex[:10]
        with self._sql.write() as db:
            db.execute("INSERT INTO watches (id, topic, channels, created) VALUES (?, ?, ?, ?)",
                       (wid, topic, json.dumps([list(c) for c in channels]), now()))
        watch = self.get(wid)
        assert watch is not None
        return watch

    def remove(self, wid: str) -> bool:
        with self._sql.write() as db:
            gone = db.execute("DELETE FROM watches WHERE id = ?", (wid,)).rowcount
            db.execute("DELETE FROM events WHERE watch_id = ?", (wid,))
            db.execute("DELETE FROM outbox WHERE watch_id = ?", (wid,))
        return bool(gone)

    def get(self, wid: str) -> Watch | None:
        with self._sql.read() as db:
            row = db.execute("SELECT id, topic, channels, created, last_run, last_error FROM watches WHERE id = ?", (wid,)).fetchone()
        return _watch(row) if row else None

    def all(self) -> list[Watch]:
        with self._sql.read() as db:
            return [_watch(r) for r in db.execute("SELECT id, topic, channels, created, last_run, last_error FROM watches ORDER BY created")]

    def queue(self, watch: Watch, events: Sequence[tuple[str, str, dict[str, Any]]], ran: str) -> int:
        """Keep the (key, day, event) pairs not found before; one outbox row per channel holding
        them; the watch's last run. One transaction. Returns how many events were new."""
        with self._sql.write() as db:
            new = []
            for key, day, event in events:
                if db.execute("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?)",
                              (watch.id, key, day, json.dumps(event), ran)).rowcount:
                    new.append(event)
            for channel, target in watch.channels if new else ():
                if channel != "atom":  # the feed is read from the events; nothing to send
                    payload = {"watch": watch.id, "topic": watch.topic, "events": new}
                    db.execute("INSERT INTO outbox (watch_id, channel, target, payload) VALUES (?, ?, ?, ?)",
                               (watch.id, channel, target, json.dumps(payload)))
            db.execute("UPDATE watches SET last_run = ? WHERE id = ?", (ran, watch.id))
        return len(new)

    def pending(self, wid: str | None = None) -> list[Delivery]:
        with self._sql.read() as db:
            rows = db.execute(
                "SELECT id, watch_id, channel, target, payload, attempts FROM outbox WHERE sent IS NULL"
                + (" AND watch_id = ?" if wid else "") + " ORDER BY id", (wid,) if wid else ()).fetchall()
        return [Delivery(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5]) for r in rows]

    def sent(self, delivery: Delivery) -> None:
        with self._sql.write() as db:
            db.execute("UPDATE outbox SET sent = ?, attempts = attempts + 1, error = NULL WHERE id = ?", (now(), delivery.id))
            db.execute("UPDATE watches SET last_error = NULL WHERE id = ?", (delivery.watch_id,))

    def failed(self, delivery: Delivery, attempts: int, error: str) -> None:
        with self._sql.write() as db:
            db.execute("UPDATE outbox SET attempts = attempts + ?, error = ? WHERE id = ?", (attempts, error, delivery.id))
            db.execute("UPDATE watches SET last_error = ? WHERE id = ?", (f"{delivery.channel} {delivery.target}: {error}", delivery.watch_id))

    def events(self, wid: str, limit: int = 100) -> list[tuple[str, dict[str, Any]]]:
        """(found, event), newest found first: what the watch's feed shows."""
        with self._sql.read() as db:
            rows = db.execute("SELECT found, payload FROM events WHERE watch_id = ? ORDER BY found DESC, day DESC LIMIT ?", (wid, limit)).fetchall()
        return [(r[0], json.loads(r[1])) for r in rows]

    def counts(self, wid: str) -> dict[str, int]:
        with self._sql.read() as db:
            return {
                "events": db.execute("SELECT COUNT(*) FROM events WHERE watch_id = ?", (wid,)).fetchone()[0],
                "delivered": db.execute("SELECT COUNT(*) FROM outbox WHERE watch_id = ? AND sent IS NOT NULL", (wid,)).fetchone()[0],
                "pending": db.execute("SELECT COUNT(*) FROM outbox WHERE watch_id = ? AND sent IS NULL", (wid,)).fetchone()[0],
            }

    def close(self) -> None:
        self._sql.close()


def _watch(r: Any) -> Watch:
    return Watch(r[0], r[1], tuple((c, t) for c, t in json.loads(r[2])), r[3], r[4], r[5])
