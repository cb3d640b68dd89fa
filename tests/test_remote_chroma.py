"""A real Chroma server by URL (`NEWSRAG_CHROMA_URL`), shared by two NEWSRAG_HOMEs:
one machine ingests, another answers. The second builds its keyword index and
article list from what the server holds, and its `doctor --fix` deletes nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ingest_opts, make_settings
from ingest import ingest
from ui.doctor import diagnose
from rag.engine import Engine
from tests.servers import free_port
from store import Store

pytestmark = pytest.mark.integration

QUESTION = "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?"


def _chroma_cli() -> str | None:
    beside = Path(sys.executable).with_name("chroma")  # installed with chromadb
    return str(beside) if beside.exists() else shutil.which("chroma")


@pytest.fixture
def chroma_url(tmp_path):
    cli = _chroma_cli()
    if not cli:
        pytest.skip("the `chroma` command (installed with chromadb) is not on PATH")
    port = free_port()
    log = open(tmp_path / "chroma-server.log", "wb")
    proc = subprocess.Popen([cli, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"chroma server did not start: {(tmp_path / 'chroma-server.log').read_text()[-2000:]}")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_one_home_ingests_another_answers(tmp_path, chroma_url, embedder, corpus, fake_llm, caplog):
    writer = Store.open(tmp_path / "a", embedder.identity, embedder.dimension, chroma_url=chroma_url)
    first = ingest([corpus], writer, embedder, ingest_opts())
    assert first.ok and first.added == 2
    chunks = writer.chunks.count()

    # Another machine: its own, empty NEWSRAG_HOME, the same server.
    reader = make_settings(tmp_path / "b", chroma_url=chroma_url, llm="extractive")
    fake_llm.default = lambda req: "Dmitry Peskov " + "".join(f"[{p.n}]" for p in req.passages if "Peskov" in p.text) + "."
    with caplog.at_level("WARNING", logger="store"):
        engine = Engine.from_settings(reader, llm=fake_llm, embedder=embedder)
    assert not [r for r in caplog.records if "migrat" in r.getMessage()], "the server's records are current: nothing to rewrite"
    assert len(engine.store.manifest.articles()) == 2, "the reader lists the articles on the server"
    a = engine.answer(QUESTION)
    assert a.answerable and a.citations and a.citations[0].path.endswith("004_a8c840d12111fb8c.txt")
    assert any(p.keyword_rank is not None for p in a.passages), "the reader searches by keyword too"

    # Its doctor finds nothing to delete: the articles are whole, only unknown to its old manifest.
    found = diagnose(reader, fix=True, model=False, embedder=embedder)
    assert not found.problems, found.problems
    assert writer.chunks.count() == chunks

    # The writer's next ingest of the same files adds nothing.
    again = ingest([corpus], writer, embedder, ingest_opts())
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2) and writer.chunks.count() == chunks


def test_doctor_adopts_whole_articles_and_removes_only_broken_ones(tmp_path, chroma_url, embedder, corpus):
    writer = Store.open(tmp_path / "a", embedder.identity, embedder.dimension, chroma_url=chroma_url)
    assert ingest([corpus], writer, embedder, ingest_opts()).ok
    broken = writer.manifest.articles()[0]
    writer.chunks.delete_ids([f"{broken.id}:0"])  # one article loses a chunk on the server

    reader = make_settings(tmp_path / "b", chroma_url=chroma_url, llm="extractive")
    found = diagnose(reader, model=False, embedder=embedder)
    assert any("1 complete article(s) in Chroma the manifest does not know" in p for p in found.problems), found.problems
    assert any("orphan chunk(s) of 1 article(s)" in p for p in found.problems), found.problems
    found = diagnose(reader, fix=True, model=False, embedder=embedder)
    assert not found.problems, found.problems
    store = Store.open(tmp_path / "b", embedder.identity, embedder.dimension, chroma_url=chroma_url)
    assert [r.id for r in store.manifest.articles()] == [r.id for r in writer.manifest.articles() if r.id != broken.id]
    assert all(not h.chunk_id.startswith(broken.id) for h in store.chunks.all())
