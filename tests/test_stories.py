"""Stories: articles about one developing event join one story at ingest, and a question about how
it developed is answered as dated, cited events, with what changed and who says what.

The corpus: one flood story over three weeks from two outlets (the death toll moves from 12 in
week 1 to 19 in week 3) and one unrelated council story.
"""

from __future__ import annotations

from datetime import date

import pytest

from conftest import ingest_opts
from core.filters import Filter
from core.models.fake import FakeLLM
from ingest import ingest
from rag.engine import Engine
from rag.timeline import asks_for_a_story

AS_OF = date(2026, 3, 20)
ARTICLES = {
    "w1-gazette.txt": ("Riverside floods kill 12 as river bursts its banks", "Riverside Gazette", "March 2, 2026",
                       "Floods in Riverside have killed 12 people after the Alder river burst its banks, officials said on Monday. "
                       "Rescue teams worked through the night in the flooded eastern districts of Riverside. "
                       "Hundreds of homes near the river were evacuated as the water rose."),
    "w1-herald.txt": ("Flood waters sweep through Riverside", "Valley Herald", "March 3, 2026",
                      "Flood waters swept through Riverside after the Alder river burst its banks, and officials said 12 people "
                      "have died. Schools in the eastern districts of Riverside stayed closed. Volunteers filled sandbags."),
    "w2-herald.txt": ("Riverside begins clearing debris as flood waters recede", "Valley Herald", "March 10, 2026",
                      "Riverside began clearing debris from the flooded eastern districts as the Alder river receded on Tuesday. "
                      "Engineers inspected the damaged Alder river embankment and said repairs would take months. "
                      "Families returned to homes that the floods had filled with mud."),
    "w3-gazette.txt": ("Riverside flood death toll rises to 19", "Riverside Gazette", "March 16, 2026",
                       "The death toll from the Riverside floods rose to 19 people, the governor said on Monday, after searchers "
                       "found more victims near the Alder river. The governor promised money to rebuild the river embankment. "
                       "Riverside held a memorial for the flood victims."),
    "council.txt": ("City council approves new library budget", "Valley Herald", "March 11, 2026",
                    "The city council approved a budget for the new central library on Wednesday. The library will open next "
                    "year with longer hours, the mayor said. Council members praised the architects."),
}
QUESTION = "What happened with the Riverside floods?"


@pytest.fixture
def flood_engine(tmp_path, store, embedder):
    folder = tmp_path / "news"
    folder.mkdir()
    for name, (title, outlet, day, body) in ARTICLES.items():
        (folder / name).write_text(f"{title}\n\nBy Staff, {outlet}\n{day}\n\n{body}\n")
    assert ingest([folder], store, embedder, ingest_opts()).ok
    llm = FakeLLM(default=lambda req: "Floods hit Riverside and the toll rose [1][%d]." % len(req.passages))
    return Engine(store, embedder, llm), folder, llm


def test_articles_about_one_event_join_one_story_and_others_do_not(flood_engine):
    engine, folder, _ = flood_engine
    stories = engine.store.stories.list()
    flood = [s for s in stories if "Riverside" in s.label or "Flood" in s.label]
    assert len(flood) == 1, [s.label for s in stories]
    (story,) = flood
    assert story.articles == 4 and story.first == "2026-03-02" and story.last == "2026-03-16"
    assert set(story.outlets) == {"Riverside Gazette", "Valley Herald"}
    assert any("library" in s.label for s in stories if s.id != story.id)


def test_removing_and_reingesting_keeps_the_stories_right(flood_engine, embedder):
    engine, folder, _ = flood_engine
    store = engine.store
    flood = next(s for s in store.stories.list() if s.articles == 4)
    victim = next(a for a in store.manifest.articles() if a.title.startswith("Riverside flood death toll"))
    store.remove_article(victim.id)
    shrunk = next(s for s in store.stories.list() if s.id == flood.id)
    assert shrunk.articles == 3 and shrunk.last == "2026-03-10"
    assert ingest([folder], store, embedder, ingest_opts()).ok  # the removed article comes back, once
    again = [s for s in store.stories.list() if s.articles >= 3]
    assert len(again) == 1 and again[0].articles == 4 and again[0].last == "2026-03-16"
    assert ingest([folder], store, embedder, ingest_opts()).ok  # idempotent
    assert sum(s.articles for s in store.stories.list()) == len(ARTICLES)


def test_the_timeline_lists_the_events_in_date_order_each_cited_to_its_article(flood_engine):
    engine, _, llm = flood_engine
    assert asks_for_a_story(QUESTION)
    s = engine.stream(QUESTION, as_of=AS_OF)
    assert s.timeline and llm.requests == []  # the events are there before the model is asked
    a = s.answer
    assert a.mode == "timeline" and a.answerable
    days = [e.date for e in a.timeline]
    assert days == sorted(days) and len(days) >= 3
    assert "2026-03-02" <= days[0] <= "2026-03-03" and days[-1] == "2026-03-16"
    assert not any("library" in e.text or "council" in e.text for e in a.timeline)  # the unrelated story is absent
    for e in a.timeline:
        (c,) = e.citations
        article = next(x for x in engine.store.manifest.articles() if x.id == c.article_id)
        assert article.date[:10] == e.date and e.text in open(article.path).read()
        assert c.quote == e.text and c.end - c.start == len(e.text)
    first = a.timeline[0]
    assert set(first.outlets) == {"Riverside Gazette", "Valley Herald"} or days[1] <= "2026-03-03"  # one event, both outlets
    # the overview: the model read only the events, and cites them by the numbers the timeline shows
    assert [p.text for p in llm.requests[0].passages] == [e.text for e in a.timeline]
    import re
    shown = {e.citations[0].n: e for e in a.timeline}
    assert {int(n) for n in re.findall(r"\[(\d+)\]", a.text)} <= set(shown) and len(shown) in {int(n) for n in re.findall(r"\[(\d+)\]", a.text)}
    assert all(shown[c.n].text == c.quote for c in a.citations)


def test_since_a_date_lists_only_the_later_events(flood_engine):
    engine, _, _ = flood_engine
    a = engine.answer("What happened with the Riverside floods since March 8?", as_of=AS_OF)
    assert a.mode == "timeline" and a.timeline
    assert all(e.date >= "2026-03-08" for e in a.timeline)
    assert [e.date for e in a.timeline][-1] == "2026-03-16"
    b = engine.answer("Riverside floods", as_of=AS_OF, mode="timeline", filters=Filter(since=date(2026, 3, 8)))
    assert b.timeline and all(e.date >= "2026-03-08" for e in b.timeline)


def test_an_overview_repeating_the_date_the_reader_asked_about_is_kept(flood_engine, embedder):
    engine, _, _ = flood_engine
    def overview(req):
        n = next(i for i, p in enumerate(req.passages, 1) if "19" in p.text)
        return f"Since March 8, the death toll from the Riverside floods rose to 19 people [{n}]."
    a = Engine(engine.store, embedder, FakeLLM(default=overview)).answer(
        "What happened with the Riverside floods since March 8?", as_of=AS_OF)
    assert a.mode == "timeline" and a.revision is None, a.revision
    assert a.text.startswith("Since March 8, the death toll from the Riverside floods rose to 19 people [")


def test_a_story_answer_s_freshness_reads_every_event_not_only_those_the_overview_cites(flood_engine, embedder):
    engine, _, _ = flood_engine
    a = Engine(engine.store, embedder, FakeLLM(default=lambda req: "Floods killed 12 people in Riverside [1].")).answer(
        QUESTION, as_of=AS_OF, mode="timeline", filters=Filter(until=date(2026, 3, 12)))  # weeks 1 and 2: the toll has not moved
    assert [c.n for c in a.citations] == [1] and a.timeline[0].date == "2026-03-02" and a.timeline[-1].date == "2026-03-10"
    assert a.freshness.startswith("Newest source: 2026-03-10"), a.freshness


def test_a_story_question_without_dates_tells_the_story_as_it_stands(flood_engine, tmp_path, embedder):
    """Two years before, the Alder burst its banks too: a question that names no dates is about
    this month's floods; one that names the years gets both."""
    engine, _, _ = flood_engine
    old = tmp_path / "2024"
    old.mkdir()
    (old / "floods-2024.txt").write_text(
        "Three die as Riverside floods after a week of storms\n\nBy Staff, Riverside Gazette\nMarch 4, 2024\n\n"
        "Three people died in Riverside floods on Sunday when a week of storms swelled the Alder river over its old levee. "
        "The western suburbs of Riverside lost power and the ring road closed for two days.\n")
    assert ingest([old], engine.store, embedder, ingest_opts()).ok
    now = engine.answer(QUESTION, as_of=AS_OF)
    assert now.mode == "timeline" and now.timeline[0].date == "2026-03-02", [(e.date, e.text) for e in now.timeline]
    since = engine.answer("What happened with the Riverside floods since January 2024?", as_of=AS_OF)
    assert since.timeline[0].date == "2024-03-04" and since.timeline[-1].date == "2026-03-16"


def test_what_changed_names_the_old_and_the_new_figure_with_their_dates(flood_engine):
    engine, _, _ = flood_engine
    a = engine.answer("What changed in the Riverside floods?", as_of=AS_OF)
    assert a.mode == "timeline"
    assert "What changed: 12 people (Mon 2 Mar)" in a.text and "19 people (Mon 16 Mar)" in a.text, a.text


def test_what_changed_sets_a_figure_only_against_an_earlier_one_of_the_same_thing():
    from rag.figures import changes, figures

    revenue = "Analysts calculated that the tariffs may raise about $300 billion a year."
    check = "Trump first said Americans will get a $2,000 check from tariff income in a Sunday, Nov. 9, post."
    assert [f.written for f in figures(check)] == ["$2,000"]  # "Nov. 9" is a date, not nine dollars
    assert changes([("2025-11-16", revenue), ("2025-11-17", check)]) == []  # a dollar is no dollar of the same thing
    both = "He once promised a $5,000 dividend, and on Nov. 9 a dividend of at least $2,000 a person from tariffs."
    assert changes([("2025-11-16", both), ("2025-11-17", check)]) == []  # the earlier sentence already gives $2,000
    later = "Trump said on Tuesday that Americans will get a $3,000 check from tariff income."
    (c,) = changes([("2025-11-16", revenue), ("2025-11-17", check), ("2025-11-25", later)])
    assert (c.before, c.before_date, c.after) == ("$2,000", "2025-11-17", "$3,000")


@pytest.mark.parametrize("said, written", [
    ("State and local authorities said at least 81 people have died in flooding.", "at least 81 people"),
    ("These are some of the more than 120 people killed by the floods.", "more than 120 people killed"),
    ("Floods in Riverside have killed 12 people after the river burst its banks.", "12 people"),
    ("The death toll from the Riverside floods rose to 19 people, the governor said.", "19 people"),
    ("At least 52 dead in Texas flooding.", "At least 52 dead"),
])
def test_a_count_of_the_dead_is_one_thing_however_it_is_told(said, written):
    """Texas, July 2025: "81 people have died" (6 July) and "more than 120 people killed" (11 July) are
    one toll, so the answer that gives the first says the second superseded it."""
    from rag.figures import figures

    assert [(f.written, f.unit) for f in figures(said)] == [(written, "death")]
    assert [f.unit for f in figures("More than 250 people gathered for the vigil.")] != ["death"]  # a crowd, not a toll


def test_the_figure_now_is_given_as_current_and_the_old_one_as_earlier(flood_engine):
    engine, _, llm = flood_engine

    def newest_toll(req):  # a model that answers from the newest passage, as the recency prior asks
        p = max((p for p in req.passages if "people" in p.text), key=lambda p: p.date)
        figure = "19 people" if "19 people" in p.text else "12 people"
        return f"The Riverside floods have killed {figure} [{p.n}]."

    llm.default = newest_toll
    a = engine.answer("What is the death toll of the Riverside floods now?", as_of=AS_OF)
    assert a.mode == "factoid" and a.text.startswith("The Riverside floods have killed 19 people")
    if "12 people" in a.text:  # the old figure, when the model read it, is told as history
        assert "Earlier (Mon 2 Mar) it was 12 people" in a.text or "Earlier (Tue 3 Mar) it was 12 people" in a.text, a.text
    assert "Sources differ" not in a.text
    old = FakeLLM(default=lambda req: "The Riverside floods have killed 12 people [%d]." % next(
        p.n for p in req.passages if "12 people" in p.text))
    b = engine.answer("What is the death toll of the Riverside floods now?", as_of=AS_OF, llm=old)
    assert "a later report (Mon 16 Mar) gives 19 people" in b.text, b.text  # the old figure is not left as current


def test_an_overview_written_without_citations_cites_the_events_it_restates(flood_engine):
    """A small model often tells the events back without a single [n]: the overview stays, each
    sentence cited to the event it restates, instead of giving way to the first and last events."""
    engine, _, llm = flood_engine
    llm.default = lambda req: f"{req.passages[0].text} Then {req.passages[-1].text[0].lower()}{req.passages[-1].text[1:]}"
    a = engine.answer(QUESTION, as_of=AS_OF)
    assert "Today is" not in llm.requests[-1].messages[-1]["content"]  # the events carry their dates; the model wrote the line back
    first, last = a.timeline[0], a.timeline[-1]
    assert not a.text.startswith("On 2026-"), a.text  # not the fallback
    assert a.text.startswith(first.text) and f"[{first.citations[0].n}]" in a.text and f"[{last.citations[0].n}]" in a.text, a.text
    assert not a.unsupported, a.unsupported


def test_an_overview_sentence_the_events_do_not_back_is_left_out(flood_engine):
    engine, _, llm = flood_engine
    llm.default = "In March, floods in Riverside killed 12 people [1]. In December, the Riverside dam collapsed [1]."
    a = engine.answer(QUESTION, as_of=AS_OF)
    assert a.text.startswith("In March, floods in Riverside killed 12 people"), a.text  # its event is dated March 2
    assert "dam" not in a.text and not a.unsupported, (a.text, a.unsupported)
    assert a.revision.kept and "dam collapsed" in a.revision.draft  # the reader saw it stream: the answer says why it went
    assert "‘December’" in a.revision.flagged[0].reason


def test_an_overview_written_as_a_list_is_checked_line_by_line(flood_engine):
    """The 1.5B model sometimes answers with headings and bullets. Each line is a claim of its
    own, and a heading's month goes with the line under it: the wrong one is left out, the rest kept."""
    engine, _, llm = flood_engine
    llm.default = "December 2025:\n- Floods in Riverside killed 12 people [1]\n\nMarch 2026:\n- The Riverside death toll rose to 19 people [3]\n- Riverside held a memorial for the flood victims"
    a = engine.answer(QUESTION, as_of=AS_OF)
    overview = a.text.split(" What changed:")[0]
    assert not overview.startswith("On 2026-"), a.text  # not the fallback: the March lines stand
    assert overview.startswith("March 2026: The Riverside death toll rose to 19 people. [") and "memorial" in overview, a.text
    assert "December" not in overview and "12 people" not in overview and not a.unsupported, a.text
    assert "‘December’" in a.revision.flagged[0].reason
    assert a.revision.draft == llm.default  # the draft as it streamed, before its lines were cited and told again


def test_an_overview_the_events_back_in_nothing_gives_way_to_the_events(flood_engine):
    engine, _, llm = flood_engine
    llm.default = "In December, the Riverside dam collapsed [1]."
    a = engine.answer(QUESTION, as_of=AS_OF)
    assert a.text.startswith("On 2026-03-0") and "dam" not in a.text and a.revision.kept, a.text


def test_the_seed_articles_territory_claims_are_shown_side_by_side_with_their_speakers(sample_store, embedder):
    def sixty(req):
        return "Russia took nearly 60 square miles of territory in January [%d]." % next(
            p.n for p in req.passages if "nearly 60" in p.text)

    a = Engine(sample_store, embedder, FakeLLM(default=sixty)).answer("How much territory did Russia take in January?")
    assert a.text.startswith("Russia took nearly 60 square miles")
    assert "Sources differ:" in a.text and "close to 200 square miles" in a.text, a.text
    speakers = {c.speaker for c in a.claims}
    assert any("think tanks" in s for s in speakers) and any("Gerasimov" in s for s in speakers)
    for claim in a.claims:
        cite = next(c for c in a.citations if c.n == claim.citation)
        assert claim.figure.split()[-1] in cite.quote


def test_factoid_questions_stay_factoid():
    for q in ["Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?",
              "How much territory did Russia take in January?", "What did Zelensky say about the talks?"]:
        assert not asks_for_a_story(q)
    for q in ["What happened with the tariffs this month?", "How did the shutdown develop?", "Catch me up on the floods",
              "What changed since Monday in the talks?", "Give me a timeline of the strikes"]:
        assert asks_for_a_story(q)


def test_no_sample_question_is_routed_to_the_timeline():
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = [root / "data" / "eval" / "sample_qa.jsonl", root.parent / "shared" / "eval" / "seed_qa.jsonl"]
    questions = [json.loads(line)["question"] for f in files if f.exists() for line in f.read_text().splitlines() if line.strip()]
    assert len(questions) >= 10
    assert [q for q in questions if asks_for_a_story(q)] == []
