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
from conftest import ingest_opts

FIX = r"free \d+ MB \(or set NEWSRAG_HOME to a folder on a disk with room\), then "
MESSAGE = rf"^no space left on .+ for NEWSRAG_HOME \(.+\): {FIX}run the same ingest again$"


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
    assert ingest([corpus], store, embedder, ingest_opts()).ok
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
    last = [x for x in err.splitlines() if x.startswith("ingest: ")][-1]  # what was stored, not what was embedded
    assert last.startswith("ingest: stopped after ") and " 1 articles stored (" in last and "1 embedded but not stored" in last, last

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
        ingest([corpus], store, embedder, ingest_opts())
    need_mb = int(str(e.value).split("free ")[1].split(" MB")[0])
    assert need_mb >= 11  # the headroom beyond the 5 MB free, at least
    assert store.is_empty() and store.manifest.articles() == []


def test_a_failed_chroma_write_on_a_nearly_full_disk_counts_as_disk_full(tmp_path, embedder, corpus, monkeypatch):
    """Chroma's error may say nothing of space at all: a nearly full disk is the tell."""
    from chromadb.errors import InternalError

    from store.chroma import ChunkStore

    store = Store.open(tmp_path / "home", embedder.identity, embedder.dimension)
    monkeypatch.setattr(space, "check_free", lambda home, need, then="": None)  # the checks passed, then the disk filled
    monkeypatch.setattr(space, "free_bytes", lambda p: 3 * 2**20)

    def bare(self, *a, **kw):
        raise InternalError("Error in compaction: Failed to apply logs to the metadata segment")

    monkeypatch.setattr(ChunkStore, "upsert", bare)
    with pytest.raises(DiskFullError, match=MESSAGE) as e:
        ingest([corpus], store, embedder, ingest_opts())
    assert isinstance(e.value.__cause__, InternalError)


def test_the_last_progress_line_counts_what_was_stored(tmp_path, embedder, monkeypatch, capsys):
    """An ingest the disk stopped midway said "done, 99 articles, 2191 chunks" with 70 stored."""
    from conftest import make_news_corpus
    from store.chroma import ChunkStore

    real, calls = ChunkStore.upsert, []

    def fills_up(self, *a, **kw):
        calls.append(1)
        if len(calls) > 3:
            raise chroma_compaction_error()
        return real(self, *a, **kw)

    monkeypatch.setattr(ChunkStore, "upsert", fills_up)
    monkeypatch.setenv("NEWSRAG_INGEST_BATCH", "2")  # a write every two articles (one chunk each)
    monkeypatch.setenv("NEWSRAG_PROGRESS_EVERY", "0")
    home = tmp_path / "home"
    code, summary, err = cli_ingest(home, make_news_corpus(tmp_path / "news", 12), monkeypatch, capsys)
    assert code == 2 and "Traceback" not in err
    store = Store.open(home, embedder.identity, embedder.dimension)
    stored, chunks = store.manifest.count(), store.chunks.count()
    assert 0 < stored == summary["added"] < 12
    last = [x for x in err.splitlines() if x.startswith("ingest: ")][-1]
    assert re.match(rf"ingest: stopped after \S+, {stored} articles stored \({chunks} chunks\); \d+ embedded but not stored$", last), last


def test_a_rerun_of_unchanged_files_needs_no_space(tmp_path, embedder, corpus, monkeypatch):
    """Only files the store does not hold yet are counted; nothing to add is never refused."""
    Usage = namedtuple("Usage", "total used free")
    store = Store.open(tmp_path / "home", embedder.identity, embedder.dimension)
    assert ingest([corpus], store, embedder, ingest_opts()).ok
    monkeypatch.setattr(space.shutil, "disk_usage", lambda p: Usage(10 * 2**30, 10 * 2**30 - 2**20, 2**20))  # 1 MB free
    report = ingest([corpus], store, embedder, ingest_opts())
    assert report.ok and report.unchanged == 2 and report.added == 0
    assert store.room_for([(str(p.resolve()), p.stat().st_size) for p in corpus.iterdir()]) == 0
    (corpus / "new.txt").write_text("Harbour reopens\n\n" + "The harbour of Split reopened on Monday after the storm. " * 40)
    with pytest.raises(DiskFullError, match=MESSAGE):
        ingest([corpus], store, embedder, ingest_opts())


def test_the_estimate_covers_the_measured_growth():
    """Peak store sizes measured with `newsrag ingest` (store/space.py): the realtimeqa
    dev-small corpus in one ingest, and in three parts into one new store, and the sample
    corpus. The old 4x asked for 21 MB where the corpus needed 99 MB."""
    assert space.estimate(5_455_769, new_store=True) >= 98_877_378
    assert space.estimate(1_313_428, new_store=True) >= 26_695_622
    assert space.estimate(1_324_959) >= 21_460_436
    assert space.estimate(2_817_382) >= 46_587_836
    assert space.estimate(5_455_769, new_store=True) >= 93_550_494
    assert space.estimate(11_496, new_store=True) >= 616_170
    assert space.for_chunks(4_802) >= 46_587_836 and space.for_chunks(2_273) >= 21_460_436
    assert space.estimate(5_455_769, new_store=True) < 1.15 * 98_877_378  # not so far above that it refuses what fits
    assert space.estimate(0, new_store=True) == 0  # nothing new to store: nothing asked for


# --- a store that cannot be opened: every command says so in one line

CODE_13 = "error returned from database: (code: 13) database or disk is full"
BACKFILL = "Error executing plan: Error sending backfill request to compactor: Error sending message to compactor"


def unopenable(monkeypatch, message: str):
    import chromadb
    from chromadb.errors import InternalError

    def fails(*a, **kw):
        raise InternalError(message)

    monkeypatch.setattr(chromadb, "PersistentClient", fails)


def run_cli(argv, home, monkeypatch, capsys):
    monkeypatch.setenv("NEWSRAG_HOME", str(home))
    monkeypatch.setenv("NEWSRAG_LLM", "extractive")
    monkeypatch.chdir(home.parent)
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


COMMANDS = [["ask", "Who is the Kremlin spokesman?"], ["list"], ["ingest", "IN"], ["remove", "x"], ["chat", "--no-sample"], ["serve", "--no-sample"]]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: a[0])
def test_a_full_disk_at_open_is_one_line_for_every_command(argv, tmp_path, corpus, monkeypatch, capsys):
    unopenable(monkeypatch, CODE_13)  # as `newsrag ask` saw it with 0 bytes free
    argv = [str(corpus) if a == "IN" else a for a in argv]
    code, out, err = run_cli(argv, tmp_path / "home", monkeypatch, capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert re.match(rf"^error: no space left on .+ for NEWSRAG_HOME \(.+home\): {FIX}run the same command again$", err.strip()), err


def test_ingest_json_gets_its_json_when_the_store_cannot_open(tmp_path, corpus, monkeypatch, capsys):
    unopenable(monkeypatch, CODE_13)
    code, out, err = run_cli(["ingest", str(corpus), "--json"], tmp_path / "home", monkeypatch, capsys)
    assert code == 2 and err.startswith("error: no space left on ")
    summary = json.loads(out)
    assert summary["added"] == 0 and summary["error"] == err.strip().removeprefix("error: ")


def test_doctor_on_a_full_disk_reports_it_and_what_it_could_not_check(tmp_path, monkeypatch, capsys):
    unopenable(monkeypatch, CODE_13)
    (tmp_path / "home" / "chroma").mkdir(parents=True)
    code, out, err = run_cli(["doctor", "--no-model"], tmp_path / "home", monkeypatch, capsys)
    assert code == 1 and "Traceback" not in err + out
    problems = [x for x in out.splitlines() if x.startswith("problem: ")]
    assert len(problems) == 1 and "could not check" in problems[0] and "no space left on " in problems[0], out
    assert out.strip().endswith("1 problem(s)") and any(x.startswith("ok: embedder ") for x in out.splitlines())


def test_a_chroma_failure_on_a_nearly_full_disk_is_the_full_disk(tmp_path, monkeypatch, capsys):
    """With 2 MB free after a failed ingest, `doctor` ended in Chroma's backfill error."""
    unopenable(monkeypatch, BACKFILL)
    monkeypatch.setattr(space, "free_bytes", lambda p: 2 * 2**20)
    code, out, err = run_cli(["ask", "Who?"], tmp_path / "home", monkeypatch, capsys)
    assert code == 2 and err.startswith("error: no space left on ") and len(err.strip().splitlines()) == 1, err


def test_another_open_failure_names_the_cause_and_the_fix(tmp_path, monkeypatch, capsys):
    unopenable(monkeypatch, BACKFILL)  # plenty of room: not the disk
    code, out, err = run_cli(["ask", "Who?"], tmp_path / "home", monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: cannot open the store in ") and "InternalError: Error executing plan" in err
    assert err.strip().endswith("run `newsrag doctor` to see what is wrong, or set NEWSRAG_HOME to another folder")


def test_damaged_store_files_are_named_as_such(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    (home / "chroma").mkdir(parents=True)
    (home / "chroma" / "chroma.sqlite3").write_bytes(b"not a database at all, just some bytes" * 100)
    code, out, err = run_cli(["ask", "Who?"], home, monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"error: cannot open the store in {home} (") and "file is not a database" in err
    assert err.strip().endswith("its files are damaged; move that folder aside (or set NEWSRAG_HOME to a new one) and ingest your articles again")
    code, out, err = run_cli(["ask", "Who?"], home, monkeypatch, capsys)  # in the same process Chroma fails otherwise
    assert code == 2 and err.startswith(f"error: cannot open the store in {home} (") and len(err.strip().splitlines()) == 1, err
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()  # as a new process would find it
    code, out, err = run_cli(["doctor", "--no-model"], home, monkeypatch, capsys)
    assert code == 1 and [x for x in out.splitlines() if x.startswith("problem: ") and "its files are damaged" in x], out


def test_a_store_folder_that_cannot_be_written_is_named_as_such(tmp_path, monkeypatch, capsys):
    import chromadb

    def denied(*a, **kw):
        raise PermissionError(errno.EROFS, "Read-only file system", str(tmp_path / "home"))

    monkeypatch.setattr(chromadb, "PersistentClient", denied)
    monkeypatch.setattr(space, "free_bytes", lambda p: 0)  # a read-only disk shows no room: still not "disk full"
    code, out, err = run_cli(["list"], tmp_path / "home", monkeypatch, capsys)
    assert code == 2 and "Read-only file system" in err and "no space left" not in err, err
    assert err.strip().endswith("make that folder writable for this user, or set NEWSRAG_HOME to a folder you can write")


def test_a_failing_read_on_a_nearly_full_disk_is_one_line_too(writable_store, monkeypatch, capsys):
    """Opened, then Chroma fails a query (its backfill needs room): `ask` says the disk is full."""
    from chromadb.api.models.Collection import Collection
    from chromadb.errors import InternalError

    def fails(self, *a, **kw):
        raise InternalError(BACKFILL)

    monkeypatch.setattr(Collection, "query", fails)
    monkeypatch.setattr(Collection, "get", fails)  # a filtered search of a small store reads by id
    monkeypatch.setattr(space, "free_bytes", lambda p: 2 * 2**20)
    code, out, err = run_cli(["ask", "Who is the Kremlin spokesman?"], writable_store.home, monkeypatch, capsys)
    assert code == 2 and err.startswith("error: no space left on ") and len(err.strip().splitlines()) == 1, err


# --- a real full disk: a small tmpfs (needs root; skipped where mounting is not permitted)


@pytest.fixture
def tmpfs(tmp_path):
    import os
    import subprocess

    mounted = []

    def mount(size_mb: int):
        point = tmp_path / f"tmpfs{len(mounted)}"
        point.mkdir()
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(point)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"mount -t tmpfs is not permitted here: {r.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def newsrag(home, *argv):
    import os
    import subprocess
    import sys

    from conftest import REPO

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update(NEWSRAG_HOME=str(home), NEWSRAG_LLM="extractive", PYTHONPATH=str(REPO), TOKENIZERS_PARALLELISM="false")
    return subprocess.run([sys.executable, "-m", "ui.cli", *argv], cwd=home.parent, env=env, capture_output=True, text=True, timeout=300)


def fill(folder) -> None:
    """Write a file until the disk holding `folder` has no byte left."""
    with open(folder / "filler", "wb", buffering=0) as f:
        for block in (2**20, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * block)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
    assert space.free_bytes(folder) == 0


def test_ask_and_doctor_on_a_full_tmpfs_each_print_one_line(tmpfs, corpus):
    disk = tmpfs(40)
    home = disk / ".newsrag"
    done = newsrag(home, "ingest", str(corpus))
    assert done.returncode == 0, done.stderr
    fill(disk)

    ask = newsrag(home, "ask", "Who is the Kremlin spokesman?")
    assert ask.returncode == 2 and ask.stdout == "" and "Traceback" not in ask.stderr
    assert len(ask.stderr.strip().splitlines()) == 1, ask.stderr
    assert re.match(rf"^error: no space left on the device mounted at {disk} for NEWSRAG_HOME \(.+\): {FIX}run the same command again$",
                    ask.stderr.strip()), ask.stderr

    doctor = newsrag(home, "doctor", "--no-model")
    assert doctor.returncode == 1 and "Traceback" not in doctor.stdout + doctor.stderr, doctor.stderr
    problems = [x for x in doctor.stdout.splitlines() if x.startswith("problem: ")]
    assert len(problems) == 1 and "could not check" in problems[0] and "no space left on " in problems[0], doctor.stdout

    (disk / "filler").unlink()  # space freed: nothing was damaged
    doctor = newsrag(home, "doctor", "--no-model")
    assert doctor.returncode == 0 and doctor.stdout.strip().endswith("healthy"), doctor.stdout + doctor.stderr
