import json
from dataclasses import replace

from core.settings import Settings
from ingest import ingest, remove
from rag.factory import ingest_options
from ui.cli import main

OPTS = ingest_options(Settings(_env_file=None))


def test_ingesting_twice_changes_nothing(store, embedder, corpus):
    first = ingest([corpus], store, embedder, OPTS)
    assert (first.added, first.updated, first.unchanged) == (2, 0, 0)
    chunks = store.chunks.count()
    second = ingest([corpus], store, embedder, OPTS)
    assert (second.added, second.updated, second.unchanged) == (0, 0, 2)
    assert store.chunks.count() == chunks == second.chunks_total
    assert sorted(store.keyword.ids()) == sorted(h.chunk_id for h in store.chunks.all())


def test_same_article_in_two_files_is_stored_once(store, embedder, corpus):
    (corpus / "copy.txt").write_text((corpus / "004_a8c840d12111fb8c.txt").read_text())
    report = ingest([corpus], store, embedder, OPTS)
    assert report.added == 2 and report.unchanged == 1
    assert len(store.manifest.articles()) == 2


def test_changed_file_replaces_its_old_chunks(writable_store, embedder, corpus):
    path = corpus / "000_e99bd238092f2c2c.txt"
    old_ids = {a.id for a in writable_store.manifest.articles()}
    path.write_text("Bananas are yellow, the fruit council said on Monday.\n" + path.read_text())
    report = ingest([corpus], writable_store, embedder, OPTS)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    texts = " ".join(h.text for h in writable_store.chunks.all())
    assert texts.count("Bananas are yellow") == 1
    assert texts.count("Interior Ministry in Kyiv said on Telegram") == 1  # old version gone
    assert len(writable_store.manifest.articles()) == 2
    assert {a.id for a in writable_store.manifest.articles()} != old_ids
    assert writable_store.lexical("bananas fruit council", 3)  # keyword index follows the update


def test_remove_by_file_deletes_chunks_and_keyword_entries(writable_store, corpus):
    removed = remove([str(corpus / "004_a8c840d12111fb8c.txt")], writable_store)
    assert len(removed) == 1
    assert all(h.meta["article_id"] != removed[0] for h in writable_store.chunks.all())
    assert not [cid for cid, _ in writable_store.lexical("Peskov Kremlin spokesman", 10) if cid.startswith(removed[0])]


def test_unreadable_file_is_reported_and_the_rest_ingested(store, embedder, corpus):
    (corpus / "broken.json").write_text("{not json")
    (corpus / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (corpus / "empty.txt").write_text("   \n")
    report = ingest([corpus], store, embedder, OPTS)
    assert report.added == 2
    reasons = {f["path"].rsplit("/", 1)[-1]: f["reason"] for f in report.failed}
    assert set(reasons) == {"broken.json", "photo.png", "empty.txt"}
    assert "invalid JSON" in reasons["broken.json"]
    assert "unsupported file type '.png'" in reasons["photo.png"]
    assert reasons["empty.txt"] == "empty file"


def test_cli_ingest_json_report_and_exit_code(tmp_path, corpus, monkeypatch, capsys):
    monkeypatch.setenv("NEWSRAG_HOME", str(tmp_path / "cli-home"))
    monkeypatch.chdir(tmp_path)
    assert main(["ingest", str(corpus), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["added"] == 2 and out["failed"] == [] and out["chunks_total"] > 10
    (corpus / "bad.jsonl").write_text("nope\n")
    assert main(["ingest", str(corpus), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["unchanged"] == 2 and [f["path"].endswith("bad.jsonl") for f in out["failed"]] == [True]


def test_json_and_jsonl_news_records(store, embedder, tmp_path):
    folder = tmp_path / "dump"
    folder.mkdir()
    rec = {"title": "Port strike ends", "body": "Dockworkers in Rotterdam ended a nine-day strike on Friday. Ships began unloading.", "published": "2026-02-03T10:00:00Z", "source": "Harbour Times", "url": "https://example.test/a"}
    (folder / "a.json").write_text(json.dumps({"articles": [rec]}))
    (folder / "b.jsonl").write_text(json.dumps({**rec, "url": "https://example.test/b", "title": "Second"}) + "\n{broken\n")
    report = ingest([folder], store, embedder, OPTS)
    assert report.added == 2 and not report.failed
    assert any("line 2" in w["reason"] for w in report.warnings)
    row = next(r for r in store.manifest.articles() if r.title == "Port strike ends")
    assert (row.date, row.source, row.url) == ("2026-02-03", "Harbour Times", "https://example.test/a")


def test_html_main_text_is_extracted(store, embedder, tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Floods close schools | City Paper</title></head><body><nav>Home | Sport | Weather</nav>"
        "<article><h1>Floods close schools</h1><p>Heavy rain closed 40 schools in Leeds on Tuesday, the council said.</p>"
        "<p>Officials expect the water to recede by Thursday, and classes to resume next week after inspections.</p></article>"
        "<footer>Cookie policy. Subscribe now.</footer></body></html>"
    )
    report = ingest([page], store, embedder, OPTS)
    assert report.added == 1, report.failed
    text = " ".join(h.text for h in store.chunks.all())
    assert "40 schools in Leeds" in text and "Cookie policy" not in text


def test_ingest_without_a_terminal_writes_progress_lines(tmp_path, corpus):
    # stderr is a pipe here, as under nohup or a service: progress comes as log lines, not a bar
    import os
    import re
    import subprocess
    import sys

    from conftest import REPO

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update(NEWSRAG_HOME=str(tmp_path / "home"), NEWSRAG_LLM="extractive", NEWSRAG_PROGRESS_EVERY="0",
               NEWSRAG_INGEST_BATCH="8", PYTHONPATH=str(REPO), TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run([sys.executable, "-m", "ui.cli", "ingest", str(corpus)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("ingest: ")]
    steps = [line for line in lines if re.fullmatch(r"ingest: \d+ articles \(\d+/\d+ files, \d+%\), [\d.]+ articles/s, \d+ chunks/s, ETA \S+", line)]
    assert len(steps) >= 2, proc.stderr
    assert lines[-1].startswith("ingest: done, ") and "chunks/s" in lines[-1]
    assert "\r" not in proc.stderr  # no bar


def test_a_new_version_replaces_the_old_chunks_even_when_the_manifest_lost_the_article(store, embedder):
    # The older-version check is skipped for articles the manifest has never seen, but only
    # while the manifest accounts for every chunk: here it lost an article, so Chroma is asked.
    from core.articles import Article
    from ingest.chunking import chunk_article

    def version(text):
        a = Article(text=text, path="story.txt", body=[(0, len(text))], url="https://example.org/story", title="Story")
        chunks = chunk_article(a, embedder.count_tokens, 40, 0)
        return a, chunks, embedder.get_text_embedding_batch([c.text for c in chunks])

    long = " ".join(f"Point {i}: the harbour council met on Monday and voted on the ferry plan." for i in range(20))
    with store.writer():
        first = version(long)
        store.write_articles([first])
        assert store.chunks.count() == len(first[1]) > 1
        store.manifest.remove(first[0].article_id)
        store.write_articles([version("The harbour council met on Tuesday instead.")])
    assert [h.text for h in store.chunks.all()] == ["The harbour council met on Tuesday instead."]


class FailsOnce:
    """The embedder, except that its first batch fails (a hosted embedder's outage, say)."""

    def __init__(self, embedder) -> None:
        self._embedder, self.calls = embedder, 0

    def __getattr__(self, name):
        return getattr(self._embedder, name)

    def _first_fails(self, embed, texts):
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("embedding server went away")
        return embed(texts)

    def get_text_embedding_batch(self, texts, **kw):
        return self._first_fails(self._embedder.get_text_embedding_batch, texts)

    def embed_batch(self, texts):
        return self._first_fails(self._embedder.embed_batch, texts)


def test_a_file_whose_first_batch_fails_is_reported_once_and_not_recorded(store, embedder, tmp_path):
    """A JSONL file spread over several embedding batches, the first of which fails: the file is
    reported once, its record is not written (no article listed that the store lacks), and the
    next ingest takes in all of it."""
    from store.audit import audit

    folder = tmp_path / "wire"
    folder.mkdir()
    rows = [{"title": f"Harbour report {i}", "date": "2026-03-0" + str(i + 1), "url": f"https://example.test/{i}",
             "text": f"Harbour report number {i}. The harbour board met on day {i} and approved budget line {i}."} for i in range(6)]
    (folder / "wire.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    first = ingest([folder], store, FailsOnce(embedder), replace(OPTS, batch_chunks=2))
    assert len(first.failed) == 1 and first.failed[0]["path"].endswith("wire.jsonl")
    assert "embedding server went away" in first.failed[0]["reason"]
    assert audit(store).dangling_files == []
    again = ingest([folder], store, embedder, replace(OPTS, batch_chunks=2))
    assert again.ok and len(store.manifest.articles()) == 6
    assert audit(store).dangling_files == [] and {aid for _, aid in store.manifest.files()} == {r.id for r in store.manifest.articles()}


def test_the_readers_libraries_do_not_talk_on_stderr_unless_verbose(tmp_path):
    """trafilatura and pypdf log ERROR and WARNING lines of their own about a file; the report's
    one line per failure is what a user reads (`-v` lets them through)."""
    import io
    import os
    import subprocess
    import sys

    from pypdf import PdfWriter

    from conftest import REPO

    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "comment.html").write_text("<!-- nothing but a comment -->")  # trafilatura: ERROR ... empty HTML tree
    w, buf = PdfWriter(), io.BytesIO()
    w.add_blank_page(200, 200)
    w.write(buf)
    (folder / "xref.pdf").write_bytes(buf.getvalue().replace(b"startxref\n", b"startxref\n9"))  # pypdf: WARNING ... startxref

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update(NEWSRAG_HOME=str(tmp_path / "home"), NEWSRAG_LLM="extractive", PYTHONPATH=str(REPO), TOKENIZERS_PARALLELISM="false")

    def run(*flags):
        return subprocess.run([sys.executable, "-m", "ui.cli", *flags, "ingest", str(folder)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)

    quiet = run()
    assert quiet.returncode == 1, quiet.stderr
    assert [x for x in quiet.stderr.splitlines() if not x.startswith("ingest: ")] == [], quiet.stderr
    failed = [x for x in quiet.stdout.splitlines() if x.startswith("  FAILED ")]
    assert len(failed) == 2 and "comment.html: not an article" in failed[0] and "xref.pdf: the PDF has no text layer" in failed[1], quiet.stdout
    loud = run("-v")
    assert "ERROR trafilatura" in loud.stderr and "WARNING pypdf" in loud.stderr, loud.stderr
    assert loud.stdout == quiet.stdout
