"""`newsrag doctor [--fix]`: says what is wrong, one line each, and repairs it."""

from __future__ import annotations

import pytest

from conftest import ingest_opts, make_settings
from ingest import ingest
from ui.cli import main
from ui.doctor import diagnose
from core.errors import StoreError
from core.models import gguf
from store import Store, collection_name


@pytest.fixture
def home(writable_store):
    return writable_store.home


def _doctor(home, embedder, fix=False, **kw):
    return diagnose(make_settings(home, llm="extractive", **kw), fix=fix, embedder=embedder)


def test_cli_doctor_on_a_healthy_store(home, monkeypatch, capsys):
    monkeypatch.setenv("NEWSRAG_HOME", str(home))
    monkeypatch.setenv("NEWSRAG_LLM", "extractive")
    monkeypatch.chdir(home.parent)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "healthy" and not [line for line in out if line.startswith("problem")]
    assert any("2 articles" in line and "agree" in line for line in out)
    assert any(line.startswith("ok: embedder embedded:") for line in out)


def test_damaged_keyword_index_is_reported_and_rebuilt(writable_store, home, embedder, monkeypatch, capsys):
    writable_store.keyword.file.write_bytes(b"not an index")
    assert writable_store.lexical("Kremlin spokesman", 5) == []  # readers go on without keywords
    found = _doctor(home, embedder)
    assert [p for p in found.problems if p.startswith("keyword index is unreadable")], found.problems
    monkeypatch.setenv("NEWSRAG_HOME", str(home))
    monkeypatch.setenv("NEWSRAG_LLM", "extractive")
    monkeypatch.chdir(home.parent)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "problem: keyword index is unreadable" in out and out.strip().endswith("1 problem(s)")
    assert main(["doctor", "--fix"]) == 0
    out = capsys.readouterr().out
    assert "fixed: rebuilt the keyword index" in out and out.strip().endswith("healthy")
    assert writable_store.lexical("Kremlin spokesman", 5)


def test_article_missing_a_chunk_is_removed_and_can_be_reingested(writable_store, home, embedder, corpus):
    row = next(r for r in writable_store.manifest.articles() if r.n_chunks > 2)
    writable_store.chunks.delete_ids([f"{row.id}:1"])
    found = _doctor(home, embedder)
    assert any(p.startswith(f"article {row.id} ({row.path})") and "1 missing" in p for p in found.problems), found.problems
    fixed = _doctor(home, embedder, fix=True)
    assert not fixed.problems and any(f"removed article {row.id}" in f and f"newsrag ingest {row.path}" in f for f in fixed.fixed)
    assert writable_store.manifest.get(row.id) is None
    report = ingest([corpus], writable_store, embedder, ingest_opts())
    assert report.added == 1 and not _doctor(home, embedder).problems


def test_interrupted_write_is_reported_and_undone(writable_store, home, embedder):
    aid = writable_store.manifest.articles()[0].id
    writable_store.manifest.begin(aid)  # as a killed writer leaves it
    found = _doctor(home, embedder)
    assert any(p.startswith("1 article write(s) interrupted") and aid in p for p in found.problems)
    fixed = _doctor(home, embedder, fix=True)
    assert not fixed.problems and any(f.startswith("undid 1 interrupted") for f in fixed.fixed)
    assert writable_store.manifest.get(aid) is None and not writable_store.manifest.pending()


def test_collection_built_by_another_embedder(tmp_path, embedder):
    from store.chroma import make_client

    home = tmp_path / "home"
    name = collection_name("articles", embedder.identity)
    make_client(home).create_collection(name, metadata={"embedder": "embedded:some-other-model:0123", "dimension": 384})
    with pytest.raises(StoreError, match="newsrag doctor --fix"):
        Store.open(home, embedder.identity, embedder.dimension)
    found = _doctor(home, embedder)
    assert [p for p in found.problems if "built with embedder 'embedded:some-other-model:0123'" in p]
    fixed = _doctor(home, embedder, fix=True)
    assert not fixed.problems and any(f.startswith(f"dropped collection {name}") for f in fixed.fixed)
    Store.open(home, embedder.identity, embedder.dimension)  # usable again


def test_a_read_only_doctor_does_not_wait_for_an_ingest_and_fix_does(writable_store, home, embedder):
    with writable_store.writer(purpose="an ingest"):
        found = _doctor(home, embedder)  # read-only: reports what it can, compares nothing in flux
        assert not found.problems and any("2 articles" in x and "is writing to it" in x for x in found.ok), found.ok
        fixing = _doctor(home, embedder, fix=True)  # repairs wait for the writer
        assert [p for p in fixing.problems if "being written by pid" in p and "`newsrag doctor --fix` cannot start" in p], fixing.problems


def test_a_read_only_doctor_does_not_hold_up_an_ingest(writable_store, home, embedder, corpus, monkeypatch):
    """While doctor compares the three parts, an ingest can start (doctor takes no lock)."""
    from store import audit as real_audit

    started = []

    def audit_with_an_ingest(store):
        result = real_audit(store)
        started.append(ingest([corpus], writable_store, embedder, ingest_opts()).ok)  # not refused
        return result

    monkeypatch.setattr("store.audit", audit_with_an_ingest)
    found = _doctor(home, embedder)
    assert started == [True] and not found.problems, found.problems


def test_model_file_checks(tmp_path, embedder):
    home = tmp_path / "home"
    models = tmp_path / "models"
    models.mkdir()
    (models / gguf.NAME).write_bytes(b"GGUF" + bytes(1000))  # a truncated model
    found = diagnose(make_settings(home, llm="embedded").model_copy(update={"model_dir": models}), embedder=embedder)
    assert [p for p in found.problems if p.startswith(f"LLM {models / gguf.NAME} is damaged (1004 bytes")], found.problems
    own = tmp_path / "own.gguf"
    own.write_bytes(b"GGUF" + bytes(10))
    found = diagnose(make_settings(home, llm="embedded", llm_model_path=own), embedder=embedder)
    assert not found.problems and any("own.gguf: a GGUF file" in x for x in found.ok)
    own.write_bytes(b"<html>not a model</html>")
    found = diagnose(make_settings(home, llm="embedded", llm_model_path=own), embedder=embedder)
    assert [p for p in found.problems if "is not a GGUF file" in p]


def test_fix_assembles_a_damaged_model_again(tmp_path, embedder):
    try:
        gguf.part_files()
    except Exception as e:  # the `local` extra is not installed: nothing to assemble from
        pytest.skip(f"model parts not installed: {e}")
    models = tmp_path / "models"
    models.mkdir()
    (models / gguf.NAME).write_bytes(b"GGUF" + bytes(1000))  # truncated, as by a full disk
    settings = make_settings(tmp_path / "home", llm="embedded").model_copy(update={"model_dir": models})
    found = diagnose(settings, fix=True, embedder=embedder)
    assert [f for f in found.fixed if "assembled again from its parts and verified" in f], (found.fixed, found.problems)
    assert (models / gguf.NAME).stat().st_size == gguf.SIZE
    found = diagnose(settings, embedder=embedder)
    assert any("sha256 verified" in x for x in found.ok) and not found.problems
