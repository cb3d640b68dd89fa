import json

import pytest

from core.text import sentence_spans
from ingest import load_file
from ingest.chunking import chunk_article
from ingest.metadata import parse_plain
from tests.conftest import SAMPLE, ingest_opts

WAPO = SAMPLE / "004_a8c840d12111fb8c.txt"
KYIV = SAMPLE / "000_e99bd238092f2c2c.txt"


def test_news_header_becomes_metadata():
    a = parse_plain(WAPO.read_text(), str(WAPO))
    assert a.title == "Ukraine sees ‘progress’ in latest talks with Russia despite ongoing attacks"
    assert not a.title_guessed
    assert a.byline == "David L. Stern and Anastacia Galouchka"
    assert a.source == "The Washington Post"
    assert a.date == "2026-01-28"


def test_page_furniture_is_not_answerable_text():
    body = parse_plain(WAPO.read_text(), str(WAPO)).body_text
    assert "Peskov said Wednesday" in body
    for furniture in ("Popular posts from this blog", "Comments", "(Sergei Gapon/AFP/Getty Images)", "Ukraine turns the tables", "contributed"):
        assert furniture not in body
    assert not body.startswith("Ukraine sees")  # the headline is metadata, not body


def test_article_without_headline_gets_a_guessed_title():
    a = parse_plain(KYIV.read_text(), str(KYIV))
    assert a.title_guessed and a.title.startswith("The United States has already had")
    assert a.date == "" and a.source == ""


def test_sentence_split_keeps_abbreviations_and_initials():
    t = "U.S. President Donald Trump spoke on Jan. 24 to Gen. Valery Gerasimov and David L. Stern. Then he left! Was it “fine?” Yes."
    assert [t[s:e] for s, e in sentence_spans(t)] == [
        "U.S. President Donald Trump spoke on Jan. 24 to Gen. Valery Gerasimov and David L. Stern.",
        "Then he left!",
        "Was it “fine?”",
        "Yes.",
    ]


def test_chunks_fit_the_embedder_window_and_spans_point_into_the_article(embedder):
    text = WAPO.read_text()
    a = parse_plain(text, str(WAPO))
    chunks = chunk_article(a, embedder.count_tokens, chunk_tokens=160, overlap=1)
    assert len(chunks) > 5
    for c in chunks:
        assert embedder.count_tokens(a.header() + "\n" + c.text) <= 256
        for s, e in c.sentences:
            assert text[s:e] in c.text
        assert text[c.start : c.start + 20] == c.text[:20]
    # neighbours overlap by one sentence
    assert chunks[1].sentences[0] == chunks[0].sentences[-1]


def test_a_short_article_counted_whole_chunks_as_counted_by_sentence(embedder, monkeypatch):
    """Short articles are counted in one call; the chunk (text, spans, sentences) is the one the
    sentence-by-sentence count gives, over paragraphs, and at the edge of the budget."""
    import ingest.chunking as chunking
    from core.articles import Article

    para = "The ferry resumed on Monday. Fares rose by 4%, the council said. Mr. Lee disagreed."
    texts = [para, f"{para}\n\n{para}", " ".join([para] * 5), "One line without a stop"]
    for budget in (24, 40, 160):
        for text in texts:
            paras = [(m.start(), m.end()) for m in __import__("re").finditer(r"[^\n]+", text)]
            a = Article(text=text, path="x.txt", body=paras, title="Ferry")
            whole = chunking.chunk_article(a, embedder.count_tokens, budget, 1)
            monkeypatch.setattr(chunking, "SHORT_CHARS_PER_TOKEN", 0)  # every sentence counted alone
            by_sentence = chunking.chunk_article(a, embedder.count_tokens, budget, 1)
            monkeypatch.undo()
            assert whole == by_sentence, (budget, text)



@pytest.mark.parametrize("lead, day", [
    ("RIVERSIDE, Jan. 12, 2026 — The city council voted on Monday to raise water rates by 8 percent, citing the drought.", "2026-01-12"),
    ("RIVERSIDE, Calif., January 12, 2026 (AP) - The city council voted on Monday to raise water rates by 8 percent.", "2026-01-12"),
    ("SAN JUAN, Puerto Rico, Tuesday, Sept. 3, 2025 – Crews restored power to most of the island after the storm.", "2025-09-03"),
])
def test_a_dateline_opening_the_body_is_the_date(lead, day):
    text = f"Council raises water rates\n\n{lead}\n\nThe vote was 5 to 2, and the new rates start in March."
    a = parse_plain(text, "rates.txt")
    assert (a.date, a.date_source) == (day, "dateline")
    assert a.title == "Council raises water rates" and a.body_text.startswith(lead)  # the lead stays the body's first paragraph


def test_a_dateline_without_a_headline_is_not_the_title():
    a = parse_plain("LISBON, Feb. 2, 2026 — Ferries stopped.\n\nThe strike ended on Friday after nine days of talks.", "x.txt")
    assert a.date == "2026-02-02" and a.title_guessed


def test_a_place_and_agency_without_a_date_is_no_date():
    a = parse_plain("Rates rise\n\nWASHINGTON (AP) — The council voted on Monday to raise the water rates again.", "x.txt")
    assert a.date == ""


def test_an_ingested_dateline_is_the_stored_date(tmp_path, store, embedder):
    from conftest import ingest_opts
    from ingest import ingest

    (tmp_path / "rates.txt").write_text(
        "Council raises water rates\n\nRIVERSIDE, Jan. 12, 2026 — The city council voted on Monday to raise water rates by 8 percent, "
        "citing the cost of the drought and of repairs to the old pipes under downtown streets.\n"
    )
    assert ingest([tmp_path / "rates.txt"], store, embedder, ingest_opts()).added == 1
    assert store.manifest.articles()[0].date == "2026-01-12"
    assert {h.meta.get("date_source") for h in store.chunks.all()} == {"dateline"}


LEDE = "The harbour of Split reopened on Monday."
REST = "Ships had waited three days at anchor outside the breakwater while the storm blew itself out."


@pytest.mark.parametrize("name, content", [
    ("split.json", json.dumps({"title": "Split harbour reopens", "text": f"{LEDE}\n\n{REST}", "date": "2026-02-05"})),
    ("split.md", f"---\ntitle: Split harbour reopens\ndate: 2026-02-05\n---\n{LEDE}\n\n{REST}\n"),
    ("split.html", f"<html><head><title>Split harbour reopens</title></head><body><article><h1>Split harbour reopens</h1>"
                   f"<p>{LEDE}</p><p>{REST}</p></article></body></html>"),
])
def test_a_short_lede_is_the_story_when_the_headline_comes_with_the_record(tmp_path, name, content):
    """A record that carries its headline: the text's short first paragraph is the lede, which
    says what happened, not a second headline to drop."""
    (tmp_path / name).write_text(content)
    [a] = load_file(tmp_path / name, ingest_opts(), [])
    assert a.title == "Split harbour reopens"
    assert a.body_text.startswith(LEDE) and REST in a.body_text


def test_a_record_whose_text_repeats_its_headline_or_opens_with_a_dateline_drops_that_line(tmp_path):
    for first in ("Split harbour reopens", "CNN —"):
        rec = {"title": "Split harbour reopens", "text": f"{first}\n\n{LEDE}\n\n{REST}", "date": "2026-02-05"}
        (tmp_path / "r.json").write_text(json.dumps(rec))
        [a] = load_file(tmp_path / "r.json", ingest_opts(), [])
        assert a.body_text.startswith(LEDE), first


def test_promotions_and_a_summary_label_are_not_story_text():
    text = (
        "Ghent closes its centre\n\n"
        "AI-assisted summary The council of Ghent voted to close the city centre to through traffic.\n\n"
        "Need a break? Play the USA TODAY Daily Crossword Puzzle.\n\n"
        "Shops said deliveries would move to the early morning, before 11 o'clock.\n\n"
        "Join our Watch Party! Sign up to receive the best of our city coverage right in your inbox.\n\n"
        "Video Ad Feedback Ghent's mayor explains the plan 01:42 - Source: Ghent Daily\n\n"
        "Subscribers to the city's parking scheme keep their permits, the council said.\n"
    )
    a = parse_plain(text, "ghent.txt")
    body = a.body_text
    for furniture in ("AI-assisted", "Crossword", "Watch Party", "Video Ad"):
        assert furniture not in body
    s, e = a.body[0]
    assert text[s:e] == "The council of Ghent voted to close the city centre to through traffic."  # a citation points at the text, not the label
    assert "deliveries would move" in body and "Subscribers to the city's parking scheme" in body
