"""Crash safety: a SIGKILL anywhere in an ingest, then the same ingest
again, leaves exactly what one clean ingest leaves, and `newsrag doctor` agrees."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, make_news_corpus, make_settings
from core.settings import Settings
from ingest import ingest, load_file
from ingest.chunking import chunk_article
from ingest.pipeline import token_counter
from rag.factory import ingest_options
from ui.cli import main
from ui.doctor import diagnose
from store import Store, audit, collection_name, repair

ARTICLES = 30
KILLS = 5
SEED = 20260307
RUN_LIMIT = 300  # seconds: a hang guard, not a timing assertion
OPTS = ingest_options(Settings(_env_file=None))


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update(NEWSRAG_HOME=str(home), NEWSRAG_LLM="extractive", TOKENIZERS_PARALLELISM="false", NEWSRAG_LOCK_TIMEOUT=str(RUN_LIMIT))
    # Small embedding batches: the corpus is written in many steps, so there are many moments to kill at
    # (with the default 256 chunks it would be one write). Every step runs as it does with any batch size.
    env.update(NEWSRAG_INGEST_BATCH="4")
    return env


def _cli(*args: str, home: Path, cwd: Path) -> subprocess.Popen[str]:
    # cwd is an empty folder: no stray .env is read
    return subprocess.Popen(
        [sys.executable, "-m", "ui.cli", *args], cwd=cwd, env={**_env(home), "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _progress(manifest: Path) -> tuple[int, int]:
    """(articles recorded, article writes pending), read as another process would."""
    if not manifest.exists():
        return 0, 0
    try:
        with sqlite3.connect(f"file:{manifest}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT count(*) FROM articles").fetchone()[0], db.execute("SELECT count(*) FROM pending").fetchone()[0]
    except sqlite3.Error:  # the tables may not exist yet
        return 0, 0


def _wait_for_lock(proc: subprocess.Popen[str], lock: Path) -> None:
    """Until `proc` holds the writer lock (the lock file names its pid) or has ended."""
    deadline = time.monotonic() + RUN_LIMIT
    while proc.poll() is None and time.monotonic() < deadline:
        if lock.exists() and lock.read_text().startswith(f"pid {proc.pid} "):
            return
        time.sleep(0.01)


def _run_and_kill(proc: subprocess.Popen[str], manifest: Path, target: int, mode: str, delay: float) -> str:
    """SIGKILL `proc` once `target` articles are recorded: at once while a write is pending
    (mode "pending"), or `delay` seconds later (mode "delay"). Returns what happened."""
    deadline = time.monotonic() + RUN_LIMIT
    while proc.poll() is None and time.monotonic() < deadline:
        done, pending = _progress(manifest)
        if done >= target and (mode == "delay" or pending):
            if mode == "delay":
                time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            return f"killed at {done} articles ({mode}{'' if mode == 'pending' else f' +{delay:.2f}s'}, pending={pending})"
        time.sleep(0.003)
    if proc.poll() is None:
        proc.kill()
        raise AssertionError("ingest did not finish or reach its kill point in time (a hang?)")
    return f"finished before the kill point (rc {proc.returncode})"


def test_sigkill_at_random_moments_then_rerun_equals_clean_ingest(tmp_path, embedder, monkeypatch, capsys):
    corpus = make_news_corpus(tmp_path / "corpus", ARTICLES, paragraphs=3)
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    name = collection_name("articles", embedder.identity)
    manifest, lock = home / "manifests" / f"{name}.sqlite", home / f"{name}.lock"
    rng = random.Random(SEED)
    targets = sorted(rng.sample(range(0, ARTICLES - 4), KILLS))
    log: list[str] = []
    procs = [_cli("ingest", str(corpus), "--json", home=home, cwd=cwd)]
    try:
        for i, target in enumerate(targets):
            _wait_for_lock(procs[-1], lock)
            # The re-run starts now and waits for the lock (NEWSRAG_LOCK_TIMEOUT), so its start-up
            # overlaps this run; it begins from whatever the kill leaves.
            procs.append(_cli("ingest", str(corpus), "--json", home=home, cwd=cwd))
            log.append(_run_and_kill(procs[-2], manifest, target, "pending" if i % 2 == 0 else "delay", rng.uniform(0.0, 0.4)))
        out, err = procs[-1].communicate(timeout=RUN_LIMIT)  # the same ingest, to completion
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert sum(x.startswith("killed") for x in log) >= KILLS - 1, log
    assert procs[-1].returncode == 0 and "Traceback" not in err, (out, err, log)

    clean_store = Store.open(tmp_path / "clean", embedder.identity, embedder.dimension)
    clean = ingest([corpus], clean_store, embedder, OPTS)
    assert clean.ok and clean.articles_total == ARTICLES

    store = Store.open(home, embedder.identity, embedder.dimension)
    assert len(store.manifest.articles()) == clean.articles_total, log
    assert store.chunks.count() == clean.chunks_total, log
    assert sorted(h.chunk_id for h in store.chunks.all()) == sorted(h.chunk_id for h in clean_store.chunks.all())
    assert sorted(store.keyword.ids()) == sorted(h.chunk_id for h in store.chunks.all())

    for k in [k for k in os.environ if k.startswith("NEWSRAG_")]:
        monkeypatch.delenv(k)
    for k, v in _env(home).items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(cwd)
    assert main(["doctor"]) == 0, log  # the CLI's doctor, in this process (quicker)
    out = capsys.readouterr().out
    assert "problem" not in out and out.strip().endswith("healthy"), out


def _write_partial(store: Store, embedder, corpus: Path, name: str, keep: int, pending: bool) -> str:
    """What a SIGKILL between a chunk upsert and the manifest write leaves: some chunks, no row."""
    article = load_file(corpus / name, OPTS, [])[0]
    chunks = chunk_article(article, token_counter(embedder), OPTS.chunk_tokens, OPTS.overlap)[:keep]
    metas = [{"article_id": article.article_id, "content_hash": article.content_hash, "chunk_index": c.index} for c in chunks]
    if pending:
        store.manifest.begin(article.article_id)
    store.chunks.upsert([c.chunk_id for c in chunks], embedder.get_text_embedding_batch([c.text for c in chunks]), [c.text for c in chunks], metas)
    return article.article_id


def test_an_out_of_date_keyword_index_is_rebuilt_by_the_next_ingest(tmp_path, embedder):
    # The keyword index is written before the manifest (while the articles are pending), so a
    # kill cannot leave it behind Chroma; an index restored from an older copy can be.
    corpus = make_news_corpus(tmp_path / "corpus", 3)
    store = Store.open(tmp_path / "home", embedder.identity, embedder.dimension)
    ingest([corpus / "n000.txt"], store, embedder, OPTS)
    older = tmp_path / "older-index"
    shutil.copytree(store.keyword.folder, older)
    ingest([corpus], store, embedder, OPTS)
    shutil.rmtree(store.keyword.folder)
    shutil.copytree(older, store.keyword.folder)
    assert store.keyword_stale()
    assert any("keyword index is out of date" in p for p in audit(store).problems())
    again = ingest([corpus], store, embedder, OPTS)
    assert (again.added, again.unchanged) == (0, 3)
    assert not store.keyword_stale()
    assert sorted(store.keyword.ids()) == sorted(h.chunk_id for h in store.chunks.all())
    assert audit(store).ok


def _same_as_clean(store: Store, corpus: Path, tmp_path: Path, embedder) -> None:
    clean = Store.open(tmp_path / "clean", embedder.identity, embedder.dimension)
    ingest([corpus], clean, embedder, OPTS)
    mine = {h.chunk_id: (h.text, h.meta["content_hash"]) for h in store.chunks.all()}
    assert mine == {h.chunk_id: (h.text, h.meta["content_hash"]) for h in clean.chunks.all()}
    assert len(store.manifest.articles()) == len(clean.manifest.articles())
    assert audit(store).ok, audit(store).problems()


def test_a_half_written_article_whose_file_is_gone_leaves_nothing(tmp_path, embedder):
    corpus = make_news_corpus(tmp_path / "corpus", 3, paragraphs=4)
    store = Store.open(tmp_path / "home", embedder.identity, embedder.dimension)
    aid = _write_partial(store, embedder, corpus, "n001.txt", keep=1, pending=True)
    assert store.manifest.pending() == [aid] and not audit(store).ok
    (corpus / "n001.txt").unlink()  # the re-run will not write it again
    report = ingest([corpus], store, embedder, OPTS)
    assert report.added == 2 and not store.manifest.pending()
    _same_as_clean(store, corpus, tmp_path, embedder)


def test_a_half_written_update_is_undone_even_if_the_file_changes_back(tmp_path, embedder):
    corpus = make_news_corpus(tmp_path / "corpus", 2, paragraphs=4)
    store = Store.open(tmp_path / "home", embedder.identity, embedder.dimension)
    ingest([corpus], store, embedder, OPTS)
    path = corpus / "n001.txt"
    original = path.read_text()
    path.write_text(original.replace("inspected", "rebuilt"))  # same headline and date: same article id
    aid = _write_partial(store, embedder, corpus, "n001.txt", keep=1, pending=True)  # killed mid-update
    assert "rebuilt" in store.get([f"{aid}:0"])[0].text
    path.write_text(original)
    report = ingest([corpus], store, embedder, OPTS)
    assert report.ok and not store.manifest.pending()
    _same_as_clean(store, corpus, tmp_path, embedder)


def test_orphan_chunks_are_reported_and_fixed(tmp_path, embedder):
    corpus = make_news_corpus(tmp_path / "corpus", 3)
    store = Store.open(tmp_path / "home", embedder.identity, embedder.dimension)
    ingest([corpus / "n000.txt"], store, embedder, OPTS)
    # Killed mid-article (by a version without the pending journal), and the file is gone since.
    orphan = _write_partial(store, embedder, corpus, "n002.txt", keep=1, pending=False)
    (corpus / "n002.txt").unlink()
    ingest([corpus], store, embedder, OPTS)
    problems = audit(store).problems()
    assert any("orphan chunk" in p and orphan in p for p in problems), problems
    settings = make_settings(tmp_path / "home", llm="extractive")
    found = diagnose(settings, embedder=embedder)
    assert any("orphan chunk" in p for p in found.problems)
    with store.writer(recover=False):
        done = repair(store)
    assert any("orphan" in d for d in done)
    assert audit(store).ok and not diagnose(settings, embedder=embedder).problems
    assert all(h.meta["article_id"] != orphan for h in store.chunks.all())
    assert not [cid for cid, _ in store.lexical("inspection report 1002", 20) if cid.startswith(orphan)]


def test_a_reader_never_adopts_a_killed_write(tmp_path, embedder):
    # Killed after all chunks were upserted, before the manifest row: the chunks look whole,
    # but the pending mark says the write did not finish. Only the next writer decides.
    corpus = make_news_corpus(tmp_path / "corpus", 3)
    store = Store.open(tmp_path / "home", embedder.identity, embedder.dimension)
    assert ingest([corpus], store, embedder, OPTS).ok
    aid = store.manifest.articles()[0].id
    store.manifest.remove(aid)
    store.manifest.begin(aid)
    store.catch_up()
    assert store.manifest.get(aid) is None and store.manifest.pending() == [aid]
    report = ingest([corpus], store, embedder, OPTS)
    assert report.added == 1 and not store.manifest.pending()
    _same_as_clean(store, corpus, tmp_path, embedder)
