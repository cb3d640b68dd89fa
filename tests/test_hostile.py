"""Hostile inputs: every file is ingested (its encoding detected) or
reported with a one-line reason; never a traceback, never a hang."""

from __future__ import annotations

import codecs
import errno
import json
import os
import random
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from core.settings import Settings
from ingest import ingest
from ingest.decode import detect
from ingest.files import os_reason
from ingest.pipeline import MAX_PARAGRAPH, token_counter
from ui.cli import main
from rag.engine import Engine
from rag.factory import ingest_options
from core.errors import IngestError

OPTS = replace(ingest_options(Settings(_env_file=None)), max_file_bytes=4 * 1024 * 1024, max_article_chars=8_000)  # small limits keep the test quick
RUN_LIMIT = 300  # seconds: a hang guard, not a timing assertion


def story(city: str, what: str) -> str:
    return (
        f"{what} in {city}\n\nMarch 3, 2026\n\n"
        f"The council of {city} said on Monday that {what.lower()} would change daily life in the city. "
        f"Residents of {city} were told to expect detours for several weeks while crews finish the work.\n"
    )


def build_corpus(root: Path) -> dict[str, str]:
    """Writes the hostile corpus; returns file name -> expected outcome
    ("ok" or a fragment of the failure reason)."""
    root.mkdir()
    rng = random.Random(7)
    expect: dict[str, str] = {}

    def put(name: str, data: bytes | str, outcome: str) -> None:
        (root / name).write_bytes(data if isinstance(data, bytes) else data.encode())
        expect[name] = outcome

    put("empty.txt", b"", "empty file")
    put("whitespace.txt", " \n\t\r\n  ", "empty file")
    put("random.txt", bytes(rng.getrandbits(8) for _ in range(20_000)), "binary data")
    put("image.txt", b"\x89PNG\r\n\x1a\n" + bytes(4000) + bytes(rng.getrandbits(8) for _ in range(4000)), "binary data")
    put("latin1.txt", story("Liège", "Café tax protest").encode("latin-1"), "ok")
    put("cp1252.txt", (story("Málaga", "Piñata festival") + "She said \u201cno\u201d, it\u2019s over.\n").encode("cp1252"), "ok")
    put("utf16_bom.txt", codecs.BOM_UTF16_LE + story("Valencia", "Flood barrier").encode("utf-16-le"), "ok")
    put("utf16_nobom.txt", story("Zaragoza", "Tram extension").encode("utf-16-be"), "ok")
    put("utf8_bom.txt", codecs.BOM_UTF8 + story("Seville", "Bridge repair").encode(), "ok")
    put("nul_bytes.txt", story("Bilbao", "Harbour dredging").encode().replace(b"Monday", b"Mon\x00day") + bytes(8192), "ok")
    put("mostly_nul.txt", b"abc\x00" * 5000, "binary data")
    words = " ".join(f"word{rng.randrange(5000)}" for _ in range(330_000))  # ~3 MB, one line, no full stop
    put("long_line.txt", words, "ok")
    put("dots.txt", "Title of a strange file\n\n" + "a. " * 300_000, "ok")  # worst case for the sentence splitter
    put("no_spaces.txt", "x" * 2_000_000, "ok")
    put("big.txt", b"", "over the 4 MB limit")
    os.truncate(root / "big.txt", 5 * 1024 * 1024)  # sparse: no disk needed
    put("broken.json", '{"title": "x", "body": ', "invalid JSON")
    put("shape.json", json.dumps([1, "two", None, {"no": "body"}]), "no article records")
    put("deep.json", "[" * 100_000 + "]" * 100_000, "nested too deeply")
    put("deep_dict.json", '{"a":' * 200 + "1" + "}" * 200, "nested too deeply")
    put("huge_title.json", json.dumps({"title": "T" * 1_000_000, "body": story("Ghent", "Canal cleanup"), "url": "https://example.test/ghent"}), "ok")
    good1 = {"title": "Port reopens in Gdansk", "body": story("Gdansk", "Port reopening"), "url": "https://example.test/gdansk"}
    good2 = {"title": "Library opens in Tallinn", "body": story("Tallinn", "Library opening"), "url": "https://example.test/tallinn"}
    lines = [json.dumps(good1), "{broken", "[" * 5000 + "]" * 5000, json.dumps([1, 2]), '"just a string"', json.dumps(good2)]
    put("mixed.jsonl", "\n".join(lines) + "\n", "ok")
    put("all_bad.jsonl", "{nope\n[]\n", "no article records")
    put("nav_only.html", "<html><body><nav><a>Home</a> | <a>Sport</a></nav><script>var x = 1;</script></body></html>", "no article text")
    put("page.html", f"<html><head><title>Ferry strike in Split</title></head><body><article><h1>Ferry strike in Split</h1><p>{story('Split', 'Ferry strike')}</p></article></body></html>", "ok")
    put("images.md", "# A page\n\n" + "![" * 200_000, "no article text")
    paragraphs = "".join(f"<p>{p}</p>" for p in story("Braga", "Pier closure").split("\n\n")[2:])
    deep = "<div>" * 5000 + paragraphs + "</div>" * 5000  # deeper than lxml builds trees (255)
    put("deep_divs.html", f"<html><head><title>Pier closure in Braga</title></head><body>{deep}</body></html>", "ok")
    put("notes.docx", b"PK\x03\x04", "unsupported file type '.docx'")
    put("README", "no extension here", "unsupported file type '(none)'")
    put(".hidden.txt", story("Nowhere", "Hidden file"), "skipped")
    (root / "locked.txt").write_text(story("Riga", "Locked file"))
    (root / "locked.txt").chmod(0)
    expect["locked.txt"] = "ok" if os.geteuid() == 0 else "permission denied"  # root reads anything
    os.symlink("missing.txt", root / "dangling.txt")
    expect["dangling.txt"] = "broken symlink"
    os.symlink("loop_b.txt", root / "loop_a.txt")
    os.symlink("loop_a.txt", root / "loop_b.txt")
    expect["loop_a.txt"] = expect["loop_b.txt"] = "symlink loop"
    (root / "sub").mkdir()
    os.symlink("..", root / "sub" / "up")  # a folder loop: walked once, no hang
    (root / "sub" / "inner.txt").write_text(story("Cork", "Market hall"))
    expect["sub/inner.txt"] = "ok"
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "pipe.txt")  # opening it for reading would block forever
        expect["pipe.txt"] = "not a regular file"
    odd = os.fsencode(root) + b"/caf\xe9-odd-name.txt"  # not UTF-8: shown with U+FFFD
    with open(odd, "wb") as f:
        f.write(story("Porto", "Odd name").encode())
    expect["caf\ufffd-odd-name.txt"] = "ok"
    return expect


def _in_thread(fn, *args):
    """Run fn(*args) in a thread: a hang fails the test instead of blocking it."""
    box: dict = {}
    t = threading.Thread(target=lambda: box.update(result=fn(*args)), daemon=True)
    t.start()
    t.join(RUN_LIMIT)
    assert not t.is_alive(), f"{fn.__name__} hung"
    return box["result"]


def test_hostile_corpus_every_file_ingested_or_reported(tmp_path, store, embedder, fake_llm, monkeypatch, capsys):
    root = tmp_path / "hostile"
    expect = build_corpus(root)
    report = _in_thread(ingest, [root], store, embedder, OPTS)

    failed = {str(Path(f["path"]).relative_to(root)): f["reason"] for f in report.failed}
    stored = {str(Path(p.split("#")[0]).relative_to(root.resolve())) for p, _ in store.manifest.files()}
    for name, outcome in expect.items():
        if outcome == "ok":
            assert name in stored and name not in failed, (name, failed.get(name))
        elif outcome == "skipped":
            assert name not in stored and name not in failed
        else:
            assert outcome in failed.get(name, ""), (name, failed.get(name), outcome)
    assert set(failed) == {n for n, o in expect.items() if o not in ("ok", "skipped")}
    assert all("\n" not in r and "Traceback" not in r for r in failed.values())
    warnings = [w["reason"] for w in report.warnings if w["path"].endswith("mixed.jsonl")]
    assert warnings == ["line 2: invalid JSON", "line 3: JSON nested too deeply", "line 4: no article text", "line 5: no article text"]

    # Decoded, not mangled: the good ones are answerable from their own words.
    chunks = store.chunks.all()
    text = " ".join(h.text for h in chunks)
    for word in ("Liège", "café", "Málaga", "piñata", "“no”", "it’s", "Valencia", "Zaragoza", "Monday"):
        assert word in text, word
    assert "\x00" not in text and "\ufeff" not in text and "\ufffd" not in text
    assert all(len(h.text) <= MAX_PARAGRAPH and len(h.meta["title"]) <= 301 for h in chunks)
    count = token_counter(embedder)
    assert all(count(f"{h.meta['title']}\n{h.text}") <= 256 for h in chunks)  # inside the embedder's window
    engine = Engine(store, embedder, fake_llm)
    for question, city in [
        ("Which café tax protest happened in Liège?", "Liège"),
        ("What did the council of Zaragoza say about the tram extension?", "Zaragoza"),
        ("Is the port of Gdansk reopening?", "Gdansk"),
        ("What did the council of Porto say?", "Porto"),
        ("When does the ferry strike in Split end?", "Split"),
        ("What did the council of Braga say about the pier closure?", "Braga"),
    ]:
        answer = engine.answer(question)
        assert not answer.error and city in answer.passages[0].text, (question, answer.passages[:1])

    # The CLI on the same corpus: exit 1, one line per failure, no traceback.
    monkeypatch.setenv("NEWSRAG_HOME", str(store.home))
    monkeypatch.setenv("NEWSRAG_MAX_FILE_MB", "4")
    monkeypatch.setenv("NEWSRAG_MAX_ARTICLE_CHARS", "8000")
    monkeypatch.chdir(tmp_path)
    assert _in_thread(main, ["ingest", str(root)]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "added 0, updated 0" in out
    failure_lines = [line for line in out.splitlines() if line.startswith("  FAILED ")]
    assert len(failure_lines) == len(failed)


@pytest.mark.parametrize(
    "data, text, encoding",
    [
        ("Café in Liège".encode("latin-1"), "Café in Liège", "cp1252"),
        ("El niño y la piña".encode("cp1252"), "El niño y la piña", "cp1252"),
        (b"Caf\xe9 \x81 here", "Café \x81 here", "latin-1"),  # 0x81 is unassigned in cp1252
        ("Москва объявила новые меры поддержки для малого бизнеса сегодня.".encode("cp1251"), "Москва объявила новые меры поддержки для малого бизнеса сегодня.", "cp1251"),
        (codecs.BOM_UTF8 + "naïve".encode(), "naïve", "utf-8-sig"),
        ("Floods hit the city".encode("utf-16"), "Floods hit the city", "utf-16"),
        ("Floods hit the city".encode("utf-16-le"), "Floods hit the city", "utf-16-le"),
        ("Floods".encode("utf-32"), "Floods", "utf-32"),
        (b"line one\r\nline two\rthree\x00", "line one\nline two\nthree", "utf-8"),
    ],
)
def test_encodings_are_detected(data, text, encoding):
    assert detect(data) == (text, encoding)


@pytest.mark.parametrize("data", [bytes(range(256)) * 40, b"\x00\x01\x02\x03" * 1000, b"\x7fELF\x02\x01\x01" + bytes(5000)])
def test_binary_is_refused(data):
    with pytest.raises(IngestError, match="binary"):
        detect(data)


def test_unreadable_file_reason(tmp_path):
    """As root (as these tests run) chmod 000 cannot make a file unreadable; the reason is checked here."""
    e = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "x.txt"))
    assert os_reason(e, tmp_path / "x.txt") == "permission denied: make the file readable (chmod +r) or leave it out"


def test_html_nested_thousands_deep_keeps_its_paragraph(tmp_path, store, embedder):
    page = tmp_path / "deep.html"
    text = "The harbour authority of Braga said on Tuesday that the old pier will stay closed until its pillars are repaired."
    page.write_text("<html><head><title>Pier stays closed</title></head><body>" + "<div>" * 5000 + f"<p>{text}</p>" + "</div>" * 5000 + "</body></html>")
    report = ingest([page], store, embedder, OPTS)
    assert report.added == 1, report.failed
    row = store.manifest.articles()[0]
    assert row.title == "Pier stays closed" and text in " ".join(h.text for h in store.chunks.all())
    assert any("5002 levels deep" in w["reason"] and "read as plain text" in w["reason"] for w in report.warnings), report.warnings
    shallow = tmp_path / "nav.html"  # a shallow page trafilatura finds nothing in is still no article
    shallow.write_text("<html><body><nav><a>Home</a> | <a>Sport</a> | <a>Weather</a> | <a>Culture and the arts</a></nav></body></html>")
    assert "no article text" in ingest([shallow], store, embedder, OPTS).failed[0]["reason"]


def test_a_path_named_twice_is_ingested_and_reported_once(tmp_path, store, embedder, monkeypatch, capsys):
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "a.txt").write_text(story("Lyon", "Tram strike"))
    (folder / "b.txt").write_text(story("Nantes", "Bridge repair"))
    a = folder / "a.txt"
    report = ingest([a, a], store, embedder, OPTS)
    assert (report.added, report.unchanged, report.failed) == (1, 0, [])
    report = ingest([folder, a, folder / ".." / "news" / "b.txt"], store, embedder, OPTS)  # a folder and files in it
    assert (report.added, report.unchanged, report.failed) == (1, 1, [])
    report = ingest([tmp_path / "gone.txt", tmp_path / "gone.txt"], store, embedder, OPTS)
    assert report.failed == [{"path": str(tmp_path / "gone.txt"), "reason": "no such file or folder"}]

    monkeypatch.setenv("NEWSRAG_HOME", str(store.home))
    monkeypatch.chdir(tmp_path)
    assert main(["ingest", str(a), str(a)]) == 0
    assert "added 0, updated 0, unchanged 1, removed 0, failed 0" in capsys.readouterr().out
