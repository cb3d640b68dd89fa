"""The one query behind the Corpus tab and `newsrag list`; the watched folder."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from store import ArticleQuery, ArticleRow, Manifest
from ui.cli import main

OUTLETS = ["The Washington Post", "Harbour Times", "Ghent Daily"]


def fill(manifest: Manifest, n: int) -> None:
    for i in range(n):
        outlet = OUTLETS[i % 3]
        manifest.put(ArticleRow(
            f"id{i:05d}", "h", 1, f"Story {i} about {'bridges' if i % 2 else 'ports'}", "", f"2026-01-{1 + i % 28:02d}", outlet,
            f"https://www.{outlet.split()[-1].lower()}.example.test/{i}", f"/x/{i}.txt",
        ))


def test_search_filters_sorts_and_pages(tmp_path):
    m = Manifest(tmp_path / "m.sqlite")
    fill(m, 300)
    rows, total = m.search(ArticleQuery(limit=25))
    assert total == 300 and len(rows) == 25 and rows[0].date == "2026-01-28"
    rows, total = m.search(ArticleQuery(grep="bridges", sources=("Harbour Times",), limit=10, offset=10))
    assert total == 50 and len(rows) == 10 and all("bridges" in r.title and r.source == "Harbour Times" for r in rows)
    _, by_host = m.search(ArticleQuery(sources=("daily.example.test",)))  # a host matches too (no www.)
    assert by_host == 100
    rows, total = m.search(ArticleQuery(since="2026-01-10", until="2026-01-12", sort="title", descending=False))
    assert {r.date for r in rows} == {"2026-01-10", "2026-01-11", "2026-01-12"} and rows == sorted(rows, key=lambda r: r.title.lower())
    assert m.search(ArticleQuery(grep="100%_"))[1] == 0  # LIKE wildcards are literal
    assert m.search(ArticleQuery(grep="/42"))[1] == 1  # URLs are searched
    assert dict(m.outlets()) == {o: 100 for o in OUTLETS}


def test_cli_list_filters(tmp_path, monkeypatch, capsys, writable_store):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSRAG_HOME", str(tmp_path / "home"))
    assert main(["list", "--source", "The Washington Post", "--since", "2026-01-01"]) == 0
    out = capsys.readouterr()
    assert "Ukraine sees ‘progress’" in out.out and out.out.count("\n") == 1 and "1 of 1 matching" in out.err
    assert main(["list", "--grep", "progress", "--until", "2025-12-31"]) == 0
    assert capsys.readouterr().out == ""
    with pytest.raises(SystemExit):
        main(["list", "--since", "yesterday"])
    assert "write it as YYYY-MM-DD" in capsys.readouterr().err


def test_watched_folder_ingests_new_files_and_removes_only_with_sync(tmp_path, store, embedder):
    from core.settings import Settings
    from ingest.watch import watch
    from rag.factory import ingest_options
    from tests.conftest import news_article

    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a.txt").write_text(news_article(1))
    stop = threading.Event()
    reports: list = []
    t = threading.Thread(target=watch, args=(folder, store, embedder, ingest_options(Settings(_env_file=None))), kwargs=dict(
        sync=True, show=reports.append, stop_event=stop, debounce_ms=200), daemon=True)
    t.start()
    try:
        wait_for(lambda: store.manifest.count() == 1)
        time.sleep(0.5)  # the watcher is set up after the first ingest
        (folder / "b.txt").write_text(news_article(2))
        (folder / ".hidden.txt").write_text(news_article(3))
        wait_for(lambda: store.manifest.count() == 2)
        (folder / "a.txt").unlink()
        wait_for(lambda: store.manifest.count() == 1)
        assert [Path(p).name for p, _ in store.manifest.files()] == ["b.txt"]
    finally:
        stop.set()
        t.join(10)


def wait_for(cond, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            pytest.fail("the watcher did not catch up in time")
        time.sleep(0.1)
