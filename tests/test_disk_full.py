"""Disk full during an ingest: the message names the device, NEWSRAG_HOME and how much to free,
`newsrag ingest --json` still prints its summary, and ingesting again once space is freed
leaves what a clean ingest leaves. ENOSPC is injected at the write layer (a tiny filesystem
needs privileges the tests lack): Chroma's wrapped error, and the keyword index's segment files."""

from __future__ import annotations

import errno
import json
import re
import sqlite3
from collections import namedtuple

import pytest

from core.errors import DiskFullError
from ingest import ingest
from store import Store, space
from ui.cli import main

MESSAGE = r"^no space left on .+ for NEWSRAG_HOME \(.+\): free \d+ MB, then run the same ingest again$"


def enospc() -> OSError:
    return OSError(errno.ENOSPC, "No space left on device")


def chroma_compaction_error() -> Exception:
    """As the issue saw it: Chroma's InternalError, the OSError only in its context."""
    from chromadb.errors import InternalError

    try:
        try:
            raise enospc()
        except OSError:
            raise InternalError("Error in compaction: Failed to apply logs to the metadata segment")
    except InternalError as e:
        return e


def test_no_space_is_found_under_any_wrapping():
    from chromadb.errors import InternalError

    assert space.is_no_space(enospc())
    assert space.is_no_space(chroma_compaction_error())
    assert space.is_no_space(sqlite3.OperationalError("database or disk is full"))
    assert space.is_no_space(InternalError("Failed to write segment: No space left on device (os error 28)"))
    cause = RuntimeError("write failed")
    cause.__cause__ = enospc()
    assert space.is_no_space(cause)
    assert not space.is_no_space(InternalError("Error in compaction: Failed to apply logs to the metadata segment"))
    assert not space.is_no_space(OSError(errno.EACCES, "Permission denied"))


def snapshot(store: Store) -> dict:
    return {
        "articles": sorted((a.id, a.content_hash, a.n_chunks) for a in store.manifest.articles()),
        "chunks": sorted((h.chunk_id, h.text, h.meta.get("content_hash")) for h in store.chunks.all()),
        "keyword": sorted(store.keyword.ids()),
        "keyword_fresh": not store.keyword_stale(),
        "pending": store.manifest.pending(),
    }


@pytest.fixture
def clean(tmp_path, embedder, corpus):
    store = Store.open(tmp_path / "clean", embedder.identity, embedder.dimension)
    assert ingest([corpus], store, embedder).ok
    return snapshot(store)


def cli_ingest(home, corpus, monkeypatch, capsys) -> tuple[int, dict, str]:
    monkeypatch.setenv("NEWSRAG_HOME", str(home))
    monkeypatch.chdir(home.parent)
    code = main(["ingest", str(corpus), "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_chroma_disk_full_mid_ingest_names_the_fix_and_a_rerun_equals_a_clean_ingest(tmp_path, embedder, corpus, clean, monkeypatch, capsys):
    from store.chroma import ChunkStore

    real = ChunkStore.upsert
    calls = []

    def fills_up(self, *a, **kw):  # the first article is written, then the disk is full
        calls.append(1)
        if len(calls) > 1:
            raise chroma_compaction_error()
        return real(self, *a, **kw)

    monkeypatch.setattr(ChunkStore, "upsert", fills_up)
    monkeypatch.setenv("NEWSRAG_INGEST_BATCH", "4")  # one article a write, so the disk fills between them
    home = tmp_path / "home"
    code, summary, err = cli_ingest(home, corpus, monkeypatch, capsys)
    assert code == 2
    line = err.strip().splitlines()[-1]  # after the progress lines (stderr is not a terminal here)
    assert "Traceback" not in err
    assert line.startswith("error: no space left on ") and str(home) in line
    assert re.match(MESSAGE, line.removeprefix("error: ")), line
    assert summary["added"] == 1 and summary["error"] == line.removeprefix("error: ")
    assert summary["failed"][-1]["path"] == "(the store)"

    monkeypatch.setattr(ChunkStore, "upsert", real)  # space is freed
    code, summary, _ = cli_ingest(home, corpus, monkeypatch, capsys)
    assert code == 0 and summary["failed"] == []
    store = Store.open(home, embedder.identity, embedder.dimension)
    assert snapshot(store) == clean


def test_keyword_index_disk_full_is_named_and_a_rerun_equals_a_clean_ingest(tmp_path, embedder, corpus, clean, monkeypatch, capsys):
    import store.keyword as keyword

    def no_room(*a, **kw):
        raise enospc()

    monkeypatch.setattr(keyword.np, "savez", no_room)  # a keyword segment cannot be written
    home = tmp_path / "home"
    code, summary, err = cli_ingest(home, corpus, monkeypatch, capsys)
    assert code == 2 and "error: no space left on " in err and "free " in err and "Traceback" not in err
    # the keyword index is written with each batch, before the manifest records it: nothing counts as added
    assert summary["added"] == 0 and "no space left" in summary["error"]
    assert not list((home / "keyword").rglob("*.tmp")), "no temp file left behind"

    monkeypatch.undo()  # space is freed
    code, summary, _ = cli_ingest(home, corpus, monkeypatch, capsys)
    assert code == 0
    assert snapshot(Store.open(home, embedder.identity, embedder.dimension)) == clean


def test_a_large_ingest_that_cannot_fit_is_refused_before_it_writes(tmp_path, embedder, corpus, monkeypatch):
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(space.shutil, "disk_usage", lambda p: Usage(10 * 2**30, 10 * 2**30 - 5 * 2**20, 5 * 2**20))
    store = Store.open(tmp_path / "home", embedder.identity, embedder.dimension)
    with pytest.raises(DiskFullError, match=MESSAGE) as e:
        ingest([corpus], store, embedder)
    need_mb = int(str(e.value).split("free ")[1].split(" MB")[0])
    assert need_mb >= 11  # the headroom beyond the 5 MB free, at least
    assert store.is_empty() and store.manifest.articles() == []


def test_a_failed_chroma_write_on_a_nearly_full_disk_counts_as_disk_full(tmp_path, embedder, corpus, monkeypatch):
    """Chroma's error may say nothing of space at all: a nearly full disk is the tell."""
    from chromadb.errors import InternalError

    from store.chroma import ChunkStore

    store = Store.open(tmp_path / "home", embedder.identity, embedder.dimension)
    from ingest import pipeline

    monkeypatch.setattr(pipeline, "check_free", lambda home, need: None)  # the pre-check passed, then the disk filled
    monkeypatch.setattr(space, "free_bytes", lambda p: 3 * 2**20)

    def bare(self, *a, **kw):
        raise InternalError("Error in compaction: Failed to apply logs to the metadata segment")

    monkeypatch.setattr(ChunkStore, "upsert", bare)
    with pytest.raises(DiskFullError, match=MESSAGE) as e:
        ingest([corpus], store, embedder)
    assert isinstance(e.value.__cause__, InternalError)
