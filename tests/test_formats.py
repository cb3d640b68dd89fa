"""PDF by page, e-mail newsletters (.eml, .mbox), HTML inside JSON bodies, and where each
reader's publication date came from (`date_source`)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest

from core.settings import Settings
from core.types import Passage
from ingest import ingest, load_file
from rag.citations import make_citation
from rag.factory import ingest_options
from ui.text import render_answer
from ui.html import sources_html

HOSTILE = "<script>alert('x')</script><img src=y onerror=alert(1)><style>p{color:red}</style>"
TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
OPTS = ingest_options(Settings(_env_file=None))


def newsletter_html(lead: str) -> str:
    return (
        "<html><head><style>body{font-family:Arial}</style></head><body>"
        "<table width='600'><tr><td><h1>The Morning Brief</h1></td></tr>"
        f"<tr><td><p>{lead}</p>{HOSTILE}"
        "<p>Grain exports through the Black Sea rose for a third month, traders in Odesa said, as insurers cut their premiums.</p>"
        "<p><a href='https://example.test/unsubscribe'>Unsubscribe</a></p></td></tr></table></body></html>"
    )


def email(subject: str, sender: str, date: str, lead: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"], msg["Date"] = subject, sender, "reader@example.test", date
    msg.set_content("Plain-text version: see the HTML part.")
    msg.add_alternative(newsletter_html(lead), subtype="html")
    return msg


def make_pdf(path: Path, pages: list[list[str]], title: str = "", created: str = "") -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    if title:
        pdf.set_title(title)
    if created:
        from datetime import datetime

        pdf.set_creation_date(datetime.fromisoformat(created))
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def all_chunks(store) -> list:
    return store.chunks.all()


def test_pdf_pages_reach_the_chunks_and_the_citation(tmp_path, store, embedder):
    page1 = ["Port of Gdansk annual report", ""] + [
        f"Container traffic in Gdansk grew in quarter {q}, the port authority said, with new cranes on the Baltic terminal." for q in (1, 2, 3)
    ]
    page2 = ["The dredging of the northern channel to a depth of 17 metres will finish in October, allowing the largest ships to call."] + [
        "Rail links to the terminal carried a third of all containers inland, up from a quarter two years ago." for _ in range(2)
    ]
    pdf = make_pdf(tmp_path / "gdansk.pdf", [page1, page2], title="Port of Gdansk annual report", created="2026-01-15T09:00:00")
    report = ingest([pdf], store, embedder, replace(OPTS, chunk_tokens=40))
    assert report.added == 1, report.failed
    chunks = all_chunks(store)
    pages = {h.meta["page"] for h in chunks}
    assert pages == {1, 2}, pages
    dredging = next(h for h in chunks if "17 metres" in h.text)
    assert dredging.meta["page"] == 2 and dredging.meta["date"] == "2026-01-15" and dredging.meta["date_source"] == "pdf"
    assert dredging.meta["title"] == "Port of Gdansk annual report"

    from rag.factory import retriever

    passages = retriever(Settings(_env_file=None), store, embedder).retrieve("How deep will the northern channel be dredged?", top_k=4)
    p = next(p for p in passages if "17 metres" in p.text)
    assert p.page == 2
    c = make_citation(1, p, "The channel will be dredged to 17 metres.")
    assert c.page == 2
    from core.types import Answer

    a = Answer("q", "The channel will be dredged to 17 metres [1].", True, citations=(c,), passages=(p,))
    assert "p. 2" in render_answer(a)  # the CLI
    assert "p. 2" in sources_html([a])  # the page


def test_pdf_without_text_is_reported(tmp_path, store, embedder):
    pdf = make_pdf(tmp_path / "scan.pdf", [[""]])
    report = ingest([pdf], store, embedder, OPTS)
    assert report.added == 0 and "no text layer" in report.failed[0]["reason"]


def test_eml_newsletter_html_body_becomes_clean_text(tmp_path, store, embedder):
    path = tmp_path / "brief.eml"
    msg = email("Grain exports rise again", "The Morning Brief <brief@news.example.test>", "Tue, 03 Feb 2026 06:30:00 +0100",
                "Ukraine shipped 4.1 million tonnes of grain in January, the most since the war began, officials in Kyiv said.")
    path.write_bytes(bytes(msg))
    report = ingest([path], store, embedder, OPTS)
    assert report.added == 1, report.failed
    chunks = all_chunks(store)
    text = " ".join(h.text for h in chunks)
    assert "4.1 million tonnes" in text and "Grain exports through the Black Sea" in text
    assert not TAG.search(text) and "alert" not in text and "onerror" not in text and "color:red" not in text
    meta = chunks[0].meta
    assert (meta["title"], meta["source"], meta["date"], meta["date_source"]) == ("Grain exports rise again", "The Morning Brief", "2026-02-03", "email")


def test_mbox_holds_one_article_per_message(tmp_path, store, embedder):
    msgs = [
        email("Grain exports rise again", "The Morning Brief <brief@news.example.test>", "Tue, 03 Feb 2026 06:30:00 +0100",
              "Ukraine shipped 4.1 million tonnes of grain in January, officials in Kyiv said on Monday."),
        email("Rail strike called off", "brief@news.example.test", "Wed, 04 Feb 2026 06:30:00 +0100",
              "German train drivers called off a strike planned for Thursday after a last-minute wage offer from Deutsche Bahn."),
    ]
    mbox = b"".join(b"From brief@news.example.test Tue Feb  3 06:30:00 2026\n" + bytes(m) + b"\n" for m in msgs)
    (tmp_path / "briefs.mbox").write_bytes(mbox)
    report = ingest([tmp_path / "briefs.mbox"], store, embedder, OPTS)
    assert report.added == 2, report.failed
    text = " ".join(h.text for h in all_chunks(store))
    assert "train drivers called off a strike" in text and not TAG.search(text) and "onerror" not in text
    rows = {r.title: r for r in store.manifest.articles()}
    assert rows["Rail strike called off"].source == "brief@news.example.test"  # no display name: the address
    assert rows["Rail strike called off"].date == "2026-02-04"


def test_json_record_with_html_body_has_no_tags_in_chunks(tmp_path, store, embedder):
    body = (
        "<p>The council of Ghent voted on Monday to close the city centre to through traffic from June.</p>"
        + HOSTILE + "<p>Shops said deliveries would move to the early morning, before 11 o'clock.</p>"
    )
    (tmp_path / "ghent.json").write_text(json.dumps({"title": "Ghent closes its centre", "body": body, "date": "2026-02-02", "source": "Ghent Daily"}))
    report = ingest([tmp_path / "ghent.json"], store, embedder, OPTS)
    assert report.added == 1, report.failed
    text = " ".join(h.text for h in all_chunks(store))
    assert "close the city centre to through traffic" in text and "deliveries would move" in text
    assert not TAG.search(text) and "alert" not in text and "onerror" not in text


@pytest.mark.parametrize(
    "name, content, date, source",
    [
        ("a.json", json.dumps({"title": "T", "body": "The harbour of Split reopened on Monday after a storm.", "date": "2026-02-05"}), "2026-02-05", "json"),
        ("b.json", json.dumps({"title": "T", "body": "The harbour of Split reopened on Monday after a storm.", "url": "https://x.test/2026/02/06/split"}), "2026-02-06", "url"),
        ("c.txt", "Split harbour reopens\n\nUpdated February 7, 2026\n\nThe harbour of Split reopened on Monday after a storm.\n", "2026-02-07", "dateline"),
        ("d.md", "---\ntitle: Split harbour reopens\ndate: 2026-02-08\n---\nThe harbour of Split reopened on Monday after a storm.\n", "2026-02-08", "front-matter"),
        ("e.html", "<html><head><title>Split harbour reopens</title><meta property='article:published_time' content='2026-02-09T07:00:00Z'></head>"
         "<body><article><p>The harbour of Split reopened on Monday after a storm that closed it for three days.</p></article></body></html>", "2026-02-09", "html-meta"),
        ("f.txt", "Split harbour reopens\n\nThe harbour of Split reopened on Monday after a storm.\n", "", ""),
    ],
)
def test_each_reader_says_where_the_date_came_from(tmp_path, name, content, date, source):
    path = tmp_path / name
    path.write_text(content)
    [article] = load_file(path, OPTS, [])
    assert (article.date, article.date_source) == (date, source)


def test_file_mtime_is_never_the_date(tmp_path):
    import os

    path = tmp_path / "old.txt"
    path.write_text("Split harbour reopens\n\nThe harbour of Split reopened on Monday after a storm.\n")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    assert load_file(path, OPTS, [])[0].date == ""


def test_passage_page_defaults_to_zero():
    p = Passage(1, "a:0", "a", "t", "s", "2026-01-01", "text.", 0, 5, 0.1)
    assert p.page == 0 and make_citation(1, p, "text").page == 0
