"""A new input format is one reader and one registry line: `newsrag ingest`, its help and the
page's upload filter take it at once; a suffix nobody registered is still refused with its reason."""

from __future__ import annotations

import json

import pytest

from core.articles import Article
from ingest import readers, register, suffixes, unregister
from ingest.formats import ReadContext
from ui.cli import main
from ui.corpus import save_uploads

NEWSX = "title: Tram line opens in Gdansk\noutlet: Baltic Wire\ndate: 2026-03-02\n\nThe new tram line in Gdansk opened on Monday, the city said, with trams every six minutes.\n"
BUILT_IN = {".txt", ".text", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".ndjson", ".pdf", ".eml", ".mbox", ".rss", ".atom", ".xml"}


def read_newsx(text: str, path: str, ctx: ReadContext) -> list[Article]:
    """A made-up format: `key: value` lines, a blank line, then the story."""
    text = ctx.bound(text)
    head, _, _ = text.partition("\n\n")
    meta = dict(line.split(": ", 1) for line in head.splitlines())
    return [Article(text=text, path=path, body=[(len(head) + 2, len(text))], title=meta["title"], source=meta["outlet"], date=meta["date"])]


@pytest.fixture
def newsx():
    register(".newsx", read_newsx)
    yield
    unregister(".newsx")


@pytest.fixture
def cli_home(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSRAG_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # no .env from the checkout


def test_the_built_in_formats_are_all_registered():
    assert set(suffixes()) == BUILT_IN and readers.suffixes() == suffixes()
    assert suffixes("feed") == [".atom", ".rss", ".xml"]


def test_a_registered_format_is_ingested_by_the_cli_and_listed_in_its_help(newsx, cli_home, tmp_path, capsys):
    (tmp_path / "tram.newsx").write_text(NEWSX)
    assert ".newsx" in readers.suffixes()
    assert main(["ingest", str(tmp_path / "tram.newsx"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["added"] == 1 and report["failed"] == []
    assert main(["list", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["title"], row["source"], row["date"]) == ("Tram line opens in Gdansk", "Baltic Wire", "2026-03-02")
    with pytest.raises(SystemExit):
        main(["ingest", "--help"])
    assert ".newsx" in " ".join(capsys.readouterr().out.split())


def test_an_unregistered_suffix_is_refused_with_its_reason(newsx, cli_home, tmp_path, capsys):
    (tmp_path / "tram.newsy").write_text(NEWSX)
    assert main(["ingest", str(tmp_path / "tram.newsy"), "--json"]) == 1
    [failed] = json.loads(capsys.readouterr().out)["failed"]
    assert failed["reason"].startswith("unsupported file type '.newsy'; newsrag reads ") and ".newsx" in failed["reason"]


def test_the_upload_filter_takes_a_registered_format_and_refuses_others(newsx, tmp_path):
    for name in ("tram.newsx", "tram.newsy"):
        (tmp_path / name).write_text(NEWSX)
    saved = save_uploads([tmp_path / "tram.newsx", tmp_path / "tram.newsy"], tmp_path / "uploads", 10**6)
    assert [name for name, _ in saved.files] == ["tram.newsx"]
    [failed] = saved.failed
    assert failed["path"] == "tram.newsy" and "not an article file (.newsy)" in failed["reason"] and ".newsx" in failed["reason"]
    unregister(".newsx")  # asked at call time: gone from the registry, refused by the page
    assert [f["path"] for f in save_uploads([tmp_path / "tram.newsx"], tmp_path / "uploads", 10**6).failed] == ["tram.newsx"]


def test_a_bad_registration_says_what_is_expected():
    with pytest.raises(ValueError, match="starts with a dot"):
        register("newsx", read_newsx)
    with pytest.raises(ValueError, match="use one of text, bytes, feed"):
        register(".newsx", read_newsx, kind="binary")  # type: ignore[arg-type]
    assert ".newsx" not in suffixes()
