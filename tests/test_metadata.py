from core.text import sentence_spans
from ingest.chunking import chunk_article
from ingest.metadata import parse_plain
from tests.conftest import SAMPLE

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
