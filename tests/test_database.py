"""The store's SQLite files (manifest, stories, watches) as a server's threads share them: a reader
never sees a write half done, and a write on a full disk says what to free."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from core.errors import DiskFullError
from store.database import Database
from store.stories import Stories

SCHEMA = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY);"


def test_a_reader_in_another_thread_never_sees_a_write_that_is_rolled_back(tmp_path):
    stories = Stories(tmp_path / "stories.sqlite")
    seen, asking = [], threading.Event()

    def reader() -> None:
        asking.set()
        seen.append(stories.of(["a1"]))

    with pytest.raises(RuntimeError):
        with stories._sql.write() as db:  # an ingest placing an article, failing before it commits
            db.execute("INSERT INTO members VALUES ('a1', 's1', 0, 'x', x'00', '[]')")
            t = threading.Thread(target=reader)
            t.start()
            asking.wait(5)
            t.join(0.3)  # the page's read, asked while the transaction is open
            raise RuntimeError("the ingest fails")
    t.join(5)
    assert seen == [{}]


def test_a_write_on_a_full_disk_names_the_home_and_what_to_free(tmp_path):
    home = tmp_path / "home"
    db = Database(home / "watches" / "w.sqlite", SCHEMA, home)
    with pytest.raises(DiskFullError) as e:
        with db.write() as c:
            c.execute("INSERT INTO t VALUES ('a')")
            raise sqlite3.OperationalError("database or disk is full")
    assert str(home) in str(e.value) and "free " in str(e.value)
    with db.read() as c:  # rolled back: nothing half written
        assert c.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0
