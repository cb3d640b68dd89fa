"""One writer, many readers: questions keep being answered during an
ingest, and a second ingest on the same store refuses or waits."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import REPO, ingest_opts, make_news_corpus
from ingest import ingest
from ui.cli import main
from rag.engine import Engine
from core.errors import StoreError
from store import Store, audit

READERS = 4
LIMIT = 300  # seconds: a hang guard, not a timing assertion
QUESTIONS = [
    "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?",
    "Which shortages force Ukrainian units to give ground?",
    "What happened to the bridge in Lisbon?",
    "When was the harbour in Porto inspected?",
]


def test_four_readers_keep_answering_while_an_ingest_writes(writable_store, embedder, fake_llm, tmp_path):
    corpus = make_news_corpus(tmp_path / "news", 16, paragraphs=3)
    engine = Engine(writable_store, embedder, fake_llm)
    ingesting, done = threading.Event(), threading.Event()
    warmed = threading.Barrier(READERS + 1, timeout=LIMIT)
    during = [0] * READERS
    answers = [0] * READERS
    errors: list[str] = []

    def reader(r: int) -> None:
        try:
            first = True
            while not done.is_set() or first:
                a = engine.answer(QUESTIONS[(r + answers[r]) % len(QUESTIONS)])
                if a.error or not a.passages:
                    errors.append(f"reader {r}: {a.error or 'no passages'}")
                answers[r] += 1
                during[r] += ingesting.is_set() and not done.is_set()
                if first:
                    first = False
                    warmed.wait()
                    ingesting.wait(LIMIT)
        except Exception as e:  # noqa: BLE001 - any failure is the finding
            errors.append(f"reader {r}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=reader, args=(r,), daemon=True) for r in range(READERS)]
    for t in threads:
        t.start()
    warmed.wait()  # every reader has answered once against the sample store
    ingesting.set()
    report = ingest([corpus], writable_store, embedder, ingest_opts())
    done.set()
    for t in threads:
        t.join(LIMIT)
    assert not any(t.is_alive() for t in threads), "a reader hung"
    assert not errors, errors
    assert report.ok and report.added == 16
    assert all(n >= 1 for n in during), during  # each reader answered while the ingest was writing

    # The new articles are answerable now, through the same engine.
    a = engine.answer("What was inspected in Lisbon on day 1000?")
    assert not a.error and "bridge in Lisbon was inspected on day 1000" in a.passages[0].text
    assert audit(writable_store).ok


def test_second_ingest_on_the_same_store_refuses_with_a_clear_message(tmp_path, embedder, corpus, monkeypatch, capsys):
    home = tmp_path / "home"
    store = Store.open(home, embedder.identity, embedder.dimension)
    monkeypatch.setenv("NEWSRAG_HOME", str(home))
    monkeypatch.delenv("NEWSRAG_LOCK_TIMEOUT", raising=False)
    monkeypatch.chdir(tmp_path)
    with store.writer():  # an ingest is running
        assert main(["ingest", str(corpus)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the store in") and "is being written by pid" in err
    assert "one writer at a time, so `newsrag ingest` cannot start" in err and "NEWSRAG_LOCK_TIMEOUT" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["ingest", str(corpus)]) == 0  # and works once the other one is done


def test_ingest_json_prints_its_json_when_the_lock_refuses(tmp_path, embedder, corpus, monkeypatch, capsys):
    import json

    home = tmp_path / "home"
    store = Store.open(home, embedder.identity, embedder.dimension)
    monkeypatch.setenv("NEWSRAG_HOME", str(home))
    monkeypatch.delenv("NEWSRAG_LOCK_TIMEOUT", raising=False)
    monkeypatch.chdir(tmp_path)
    with store.writer():
        assert main(["ingest", str(corpus), "--json"]) == 2
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["added"] == 0 and report["error"] == err.strip().removeprefix("error: ")
    assert report["failed"] == [{"path": "(the store)", "reason": report["error"]}] and "is being written by pid" in report["error"]


def _held_by_an_ingest(home: Path) -> subprocess.Popen:
    """Another process, `newsrag ingest` by its own account, holding the store's writer lock."""
    lock = next(home.glob("*.lock"))
    code = (
        "import sys, time; sys.argv = ['newsrag', 'ingest']\n"
        "from store.lock import WriterLock\n"
        f"with WriterLock(__import__('pathlib').Path({str(lock)!r})):\n"
        "    print('held', flush=True); time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.parametrize("argv, wants", [(["remove", "x"], "`newsrag remove`"), (["doctor", "--fix", "--no-model"], "`newsrag doctor --fix`")])
def test_the_lock_message_names_who_holds_it_and_who_wants_it(argv, wants, writable_store, monkeypatch, capsys):
    home = writable_store.home
    monkeypatch.setenv("NEWSRAG_HOME", str(home))
    monkeypatch.setenv("NEWSRAG_LLM", "extractive")
    monkeypatch.delenv("NEWSRAG_LOCK_TIMEOUT", raising=False)
    monkeypatch.chdir(home.parent)
    proc = _held_by_an_ingest(home)
    try:
        code = main(argv)
    finally:
        proc.kill()
        proc.wait()
    out, err = capsys.readouterr()
    if argv[0] == "doctor":  # doctor reports it as its one problem
        assert code == 1
        err = next(x for x in out.splitlines() if x.startswith("problem: store "))
    else:
        assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"is being written by pid {proc.pid} (newsrag ingest): one writer at a time, so {wants} cannot start" in err, err
    assert "only one ingest" not in err


def test_a_read_only_doctor_runs_during_an_ingest(writable_store, monkeypatch, capsys):
    home = writable_store.home
    monkeypatch.setenv("NEWSRAG_HOME", str(home))
    monkeypatch.setenv("NEWSRAG_LLM", "extractive")
    monkeypatch.chdir(home.parent)
    proc = _held_by_an_ingest(home)
    try:
        code = main(["doctor", "--no-model"])
    finally:
        proc.kill()
        proc.wait()
    out = capsys.readouterr().out
    assert code == 0 and out.strip().endswith("healthy"), out
    assert any(f"2 articles" in x and f"pid {proc.pid} (newsrag ingest) is writing to it" in x and "run `newsrag doctor` again" in x
               for x in out.splitlines()), out


def test_second_ingest_waits_with_a_lock_timeout(tmp_path, embedder, corpus):
    first = Store.open(tmp_path / "home", embedder.identity, embedder.dimension)
    second = Store.open(tmp_path / "home", embedder.identity, embedder.dimension, lock_timeout=LIMIT)
    holding, release = threading.Event(), threading.Event()
    released = []

    def other_ingest() -> None:
        with first.writer():
            holding.set()
            release.wait(LIMIT)
            released.append(True)

    t = threading.Thread(target=other_ingest, daemon=True)
    t.start()
    holding.wait(LIMIT)
    threading.Timer(0.5, release.set).start()
    report = ingest([corpus], second, embedder, ingest_opts())  # waits for the lock, then ingests
    assert released == [True] and report.ok and report.added == 2
    t.join(LIMIT)


def test_a_lock_timeout_that_runs_out_says_so(tmp_path, embedder, corpus):
    first = Store.open(tmp_path / "home", embedder.identity, embedder.dimension)
    impatient = Store.open(tmp_path / "home", embedder.identity, embedder.dimension, lock_timeout=0.3)
    with first.writer():
        with pytest.raises(StoreError, match=r"still writing after 0.3 s: .*raise NEWSRAG_LOCK_TIMEOUT"):
            ingest([corpus], impatient, embedder, ingest_opts())
