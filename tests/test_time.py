"""News in time: time words resolved against the as-of date, the as-of limit,
filters pushed down to the store, the recency prior, the freshness line, and
copies of one story collapsed, on a tiny dated corpus."""

from __future__ import annotations

import json
from datetime import date

import pytest

from core.filters import Filter, day_number
from rag.engine import Engine
from rag.when import resolve
from conftest import ingest_opts

AS_OF = date(2026, 1, 7)  # a Wednesday


@pytest.mark.parametrize(
    "question, since, until",
    [
        ("What happened today?", "2026-01-07", "2026-01-07"),
        ("What did the mayor say yesterday?", "2026-01-06", "2026-01-07"),
        ("Which city was in the news this week?", "2026-01-01", "2026-01-07"),
        ("Who resigned last week?", "2025-12-25", "2025-12-31"),
        ("What changed this month?", "2026-01-01", "2026-01-07"),
        ("What did the council decide in March?", "2025-03-01", "2025-03-31"),
        ("What did the council decide in March 2024?", "2024-03-01", "2024-03-31"),
        ("How many homes were flooded since January?", "2026-01-01", "2026-01-07"),
        ("How many storms so far this year?", "2026-01-01", "2026-01-07"),
        ("Who won the election in 2025?", "2025-01-01", "2025-12-31"),
        ("What happened recently in Riverton?", "2025-12-08", "2026-01-07"),
        ("Who was elected on Tuesday?", "2026-01-06", "2026-01-07"),
        ("What did they agree last month?", "2025-12-01", "2025-12-31"),
    ],
)
def test_time_words_become_a_window(question, since, until):
    w = resolve(question, AS_OF)
    assert w is not None and (str(w.since), str(w.until)) == (since, until)


@pytest.mark.parametrize("question", ["Who is the latest harbour director?", "What is the most recent count?",
                                      "Who currently leads the port?", "Who runs the port now?"])
def test_latest_words_ask_for_the_newest(question):
    w = resolve(question, AS_OF)
    assert w is not None and w.latest and w.since is None and w.until is None


@pytest.mark.parametrize("question", ["Who is the harbour director of Riverton?", "What may the council decide?"])
def test_no_time_words_no_window(question):
    assert resolve(question, AS_OF) is None


OLD = {
    "title": "Riverton names a new harbour director",
    "source": "The Riverton Courier",
    "url": "https://courier.example/2025/03/harbour-director",
    "date": "2025-03-02",
    "text": "The Riverton city council named Maria Lopez as harbour director on Monday. "
    "Lopez, a former ship pilot, will run the port and its ferry service. "
    "The harbour director oversees forty staff and the ferry timetable.",
}
NEW = {
    "title": "Riverton appoints a new harbour director",
    "source": "The Riverton Gazette",
    "url": "https://gazette.example/2026/01/harbour-director",
    "date": "2026-01-05",
    "text": "The Riverton city council named Tom Becker as harbour director on Monday. "
    "Becker, a former ferry captain, will run the port and its ferry service. "
    "The harbour director oversees forty staff and the ferry timetable.",
}
WIRE = {  # the new story, reprinted by another outlet
    **NEW, "source": "Coastal Wire", "url": "https://wire.example/riverton-harbour", "title": "Riverton appoints harbour director",
}


@pytest.fixture
def dated(tmp_path, store, embedder):
    from ingest import ingest

    folder = tmp_path / "dated"
    folder.mkdir()
    (folder / "news.jsonl").write_text("\n".join(json.dumps(a) for a in (OLD, NEW, WIRE)) + "\n")
    report = ingest([folder], store, embedder, ingest_opts())
    assert report.ok and report.added == 3, report.failed
    return store


def engine_for(store, embedder, fake_llm, **kw):
    fake_llm.default = lambda req: "The harbour director is " + req.passages[0].text.split(" as ")[0].split()[-1] + " [1]."
    return Engine(store, embedder, fake_llm, **kw)


def test_dates_are_stored_as_numbers_with_their_source(dated):
    records = {h.meta["url"]: h.meta for h in dated.chunks.all()}
    assert records[NEW["url"]]["day"] == day_number("2026-01-05")
    assert records[OLD["url"]]["day"] == day_number("2025-03-02")


def test_latest_cites_the_new_article(dated, embedder, fake_llm):
    a = engine_for(dated, embedder, fake_llm).answer("Who is the latest harbour director of Riverton?", as_of=AS_OF)
    assert a.citations[0].title == NEW["title"] or a.citations[0].title == WIRE["title"]
    assert "Becker" in a.text and a.as_of == "2026-01-07"
    assert a.freshness.startswith("Newest source: 2026-01-05")


def test_as_of_before_the_new_article_never_sees_it(dated, embedder, fake_llm):
    a = engine_for(dated, embedder, fake_llm).answer("Who is the latest harbour director of Riverton?", as_of=date(2025, 6, 1))
    assert a.passages and all(p.date <= "2025-06-01" for p in a.passages)
    assert "Lopez" in a.text and all("Becker" not in p.text for p in a.passages)
    assert fake_llm.requests and all("Becker" not in m["content"] for m in fake_llm.requests[-1].messages)
    assert "Today is Sunday, June 1, 2025." in fake_llm.requests[-1].messages[-1]["content"]


def test_this_week_with_nothing_from_this_week_says_so(dated, embedder, fake_llm):
    a = engine_for(dated, embedder, fake_llm).answer("Who was named harbour director of Riverton this week?", as_of=date(2026, 2, 20))
    assert a.answerable
    assert a.freshness.startswith("No article from this week (2026-02-14 to 2026-02-20) mentions it; the newest one that does is from 2026-01-05 [1]")
    assert a.window == {"phrase": "this week", "since": "2026-02-14", "until": "2026-02-20", "latest": False}
    assert a.trace["window"]["since"] == "2026-02-14"


def test_the_recency_prior_prefers_the_newer_of_two_equal_passages(dated, embedder, fake_llm):
    eng = engine_for(dated, embedder, fake_llm)
    ranked = eng.retriever.run(eng.plan("Who was named harbour director of Riverton?", 2, None, AS_OF)).passages
    assert [p.date for p in ranked] == ["2026-01-05", "2025-03-02"]
    assert dict(ranked[0].boosts)["recency"] > dict(ranked[1].boosts)["recency"] > 1.0


def test_copies_of_one_story_count_once_listing_the_outlets(dated, embedder, fake_llm):
    passages = engine_for(dated, embedder, fake_llm).answer("Who is the latest harbour director of Riverton?", as_of=AS_OF).passages
    becker = [p for p in passages if "Becker" in p.text]
    assert len(becker) == 1
    other = {"The Riverton Gazette", "Coastal Wire"} - {becker[0].source}
    assert becker[0].also_in == tuple(other)


def test_filters_by_source_and_dates_are_pushed_down(dated, embedder, fake_llm):
    eng = engine_for(dated, embedder, fake_llm)
    q = "Who was named harbour director of Riverton?"
    only_courier = eng.answer(q, filters=Filter(sources=("The Riverton Courier",)), as_of=AS_OF)
    assert {p.source for p in only_courier.passages} == {"The Riverton Courier"}
    by_host = eng.answer(q, filters=Filter(sources=("gazette.example",)), as_of=AS_OF)
    assert {p.source for p in by_host.passages} == {"The Riverton Gazette"}
    in_2025 = eng.answer(q, filters=Filter(since=date(2025, 1, 1), until=date(2025, 12, 31)), as_of=AS_OF)
    assert {p.date for p in in_2025.passages} == {"2025-03-02"}
    # the store itself filters: Chroma's `where` and the keyword index
    vec = embedder.get_query_embedding(q)
    assert {h.meta["source"] for h in dated.dense(vec, 10, Filter(since=date(2026, 1, 1)))} == {"The Riverton Gazette", "Coastal Wire"}
    ids = [c for c, _ in dated.lexical("harbour director", 10, Filter(until=date(2025, 12, 31)))]
    assert ids and all(h.meta["date"] == "2025-03-02" for h in dated.get(ids))


def test_a_store_written_before_numeric_dates_is_migrated(dated, embedder, fake_llm):
    """Layout v1 kept dates as text only: opening it for answers migrates it, and date filters work."""
    from core.articles import RECORD_VERSION
    from store import Store

    from conftest import first_layout, rewrite_layout

    rewrite_layout(dated, first_layout)
    assert all("day" not in m for _, m in dated.chunks.scan())
    dated.manifest.set_meta("record_version", "1")
    assert dated.record_version() == 1
    dated = Store.open(dated.home, embedder.identity, embedder.dimension)  # opening it migrates it
    assert dated.record_version() == RECORD_VERSION
    assert all(m["day"] == day_number(m["date"]) for _, m in dated.chunks.scan())
    a = engine_for(dated, embedder, fake_llm).answer("Who is the latest harbour director of Riverton?", as_of=date(2025, 6, 1))
    assert a.passages and all(p.date == "2025-03-02" for p in a.passages)


def test_the_cli_takes_as_of_and_filters(dated, embedder, monkeypatch, capsys):
    """`newsrag ask --as-of --since --until --source` reach retrieval (extractive backend: no model)."""
    import json as _json

    from ui.cli import main

    monkeypatch.setenv("NEWSRAG_HOME", str(dated.home))
    monkeypatch.setenv("NEWSRAG_LLM", "extractive")
    q = "Who was named harbour director of Riverton?"
    assert main(["ask", q, "--json", "--as-of", "2025-06-01"]) == 0
    a = _json.loads(capsys.readouterr().out)
    assert a["as_of"] == "2025-06-01" and {p["date"] for p in a["passages"]} == {"2025-03-02"}
    assert main(["ask", q, "--json", "--source", "Coastal Wire", "--since", "2026-01-01", "--until", "2026-01-31"]) == 0
    a = _json.loads(capsys.readouterr().out)
    assert {p["source"] for p in a["passages"]} == {"Coastal Wire"} and a["trace"]["filters"]["sources"] == ["coastal wire"]
