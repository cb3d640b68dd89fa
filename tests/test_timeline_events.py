"""How a timeline chooses its events over a long window: every week of the story is read (a busy
week does not crowd out a quiet one), each event is the sentence that states what happened, and
the question's time words choose the window without pulling in articles about the dates.

The corpus: a harbour strike over six weeks. Week 1 is busy (24 articles on the walkout);
week 3 has one long live page whose news of the week (a rejected offer) is told far past its
lead, week 4 another whose vote is an update under its own heading; week 5 an article whose
lead leans on what came before ("But ...", or "The refusal, ..."), its next sentence telling the news alone; week 6 has two articles,
from two outlets, telling the deal that ended it in their own words, each after its dateline. Beside it, a calendar article about the
holidays "in March and April 2026", and a bowling final in week 2 (its "strikes" are not the story's).
The live page also tells of a games developer: "develop" asks for the story, it is not its topic.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import ingest_opts
from core.models.fake import FakeLLM
from core.settings import defaults
from ingest import ingest
from rag.context import terms
from rag.engine import Engine
from core.types import Passage
from rag.events import candidates, leans, same_word, score
from rag.when import topic

AS_OF = date(2026, 4, 20)
WALKOUT = [
    "Dock workers at Port Carvel walked off the job on {d}, halting container traffic at the harbour.",
    "The harbour strike at Port Carvel entered its second day as dock workers picketed the container gates.",
    "Shipping lines diverted vessels away from Port Carvel as the dock workers' strike shut the harbour.",
    "Dock workers' union leaders at Port Carvel said the strike over pay would go on until wages rose.",
    "Port Carvel harbour stayed closed as striking dock workers marched through the city centre.",
    "Retailers warned of empty shelves as the Port Carvel harbour strike held up container deliveries.",
    "The Port Carvel port authority called the dock workers' strike unlawful and asked for talks.",
    "Trucks queued outside Port Carvel as the harbour strike by dock workers stretched on.",
]
DEAL = ("PORT CARVEL, Apr 9 – Port Carvel dock workers accepted a 9 percent raise on {d}, ending the strike after six weeks, and the first container ships were "
        "unloaded the same night.")
DEAL_RETOLD = "PORT CARVEL — Dock workers at Port Carvel ended their strike on {d} by accepting a 9 percent raise; container ships were unloaded that night."

# a live page: its lead, a long stretch of street life, then the week's news, past the first chunks
LIVE = ("Talks to end the Port Carvel harbour strike resumed on Monday, with dock workers and the port authority meeting in the city hall. "
        + " ".join(f"Along street {n} of the old town, {what} as the week went on. Visitors to street {n} said it was a calm spring week "
                   f"there, and shopkeepers on street {n} stayed open until the evening." for n, what in enumerate([
            "cafés opened early for the breakfast crowd", "a choir rehearsed in the chapel", "the bakery sold out of rye bread",
            "children flew kites on the green", "the market stalls sold late apples", "a brass band played on the bandstand",
            "the library held a reading hour", "cyclists gathered for a Sunday ride", "the florist set out tulips",
            "a painter sketched the lighthouse", "the cinema showed an old comedy", "the tram ran a holiday timetable",
            "neighbours swapped seedlings", "a juggler drew a crowd by the fountain", "the post office stayed open late",
            "fishermen mended nets on the quay wall", "a chess club met in the tea room", "the museum opened a map gallery",
            "schoolchildren planted oaks in the park", "the bookshop moved its shelves outside", "a fiddler played at the corner",
            "the baker's cat slept in the window", "runners trained along the river path", "the town clock was repaired",
        ], 1))
        + " A games developer from the old town released a puzzle about stacking containers."
        + " Dock workers at Port Carvel rejected a 5 percent pay offer from the port authority on Wednesday, and the harbour strike went on.")

# another live page: an update under its own heading, far past the lead
LIVE_HEADED = ("Pickets returned to the gates of the Port Carvel harbour on Monday as the strike entered its fourth week. "
               + " ".join(f"In house {n} on the hill, {what}, and the neighbours there hardly noticed the quiet docks."
                          for n, what in enumerate(["a family repainted the porch", "a student practised the cello",
                                                    "a grandmother baked plum cakes", "twins built a tree house",
                                                    "a retired sailor tied knots", "a cook tested new soups"] * 4, 4))
               + "\n\nHarbour strike: members vote down the improved offer\n\n"
               "Members of the Port Carvel dock union voted 212 to 40 against the improved offer on Wednesday night, and the pickets stayed at the gates.")

FIRM = ("But the Port Carvel port authority refused on Tuesday to raise its pay offer, and the dock workers' harbour strike went on. "
        "The Port Carvel port authority will not raise its pay offer to the striking dock workers again, its chairman told the city council on Tuesday.")
# the same week, its lead leaning on what came before through a noun: "The refusal" (what refusal?)
FIRM_BY_NOUN = FIRM.replace("But the Port Carvel port authority refused on Tuesday to raise its pay offer, and",
                            "The refusal, given on Tuesday at the Port Carvel port authority, meant")


def _write(folder, name, title, day, body, outlet="Coast Courier"):
    (folder / name).write_text(f"{title}\n\nBy Staff, {outlet}\n{day:%B %d, %Y}\n\n{body}\n"
                               "The union thanked its members. Officials will meet again next month.\n")


@pytest.fixture
def strike_engine(request, tmp_path, store, embedder):
    folder = tmp_path / "news"
    folder.mkdir()
    start = date(2026, 3, 2)
    for i in range(24):  # the walkout, told again and again in its first week
        day = start + timedelta(days=i % 5)
        body = WALKOUT[i % 8].format(d=f"{day:%A}") + " " + WALKOUT[(i + 3) % 8].format(d=f"{day:%A}")
        _write(folder, f"walkout-{i}.txt", f"Port Carvel harbour strike, report {i + 1}", day, body)
    _write(folder, "live.txt", "Port Carvel strike: live updates", date(2026, 3, 16), LIVE)
    _write(folder, "live-4.txt", "Port Carvel strike, week four: live updates", date(2026, 3, 25), LIVE_HEADED)
    _write(folder, "firm.txt", "Port authority holds firm", date(2026, 4, 1), getattr(request, "param", FIRM))
    _write(folder, "deal.txt", "Pay deal reached at the docks", date(2026, 4, 9), DEAL.format(d="Thursday"), "Coast Gazette")
    _write(folder, "deal-post.txt", "Harbour strike over after six weeks", date(2026, 4, 9), DEAL_RETOLD.format(d="Thursday"), "Harbour Post")
    _write(folder, "holidays.txt", "Holidays in March and April 2026: dates to know", date(2026, 3, 20),
           "Here are the holidays and observances in March and April 2026, from St. Patrick's Day to Easter Sunday.")
    _write(folder, "bowling.txt", "Valmora bowling final", date(2026, 3, 11),
           "Bowlers at the Valmora club threw twelve strikes in a row on Wednesday to win the county final.")
    assert ingest([folder], store, embedder, ingest_opts()).ok
    # few passages: the story's eight busy-week articles alone would fill them
    settings = defaults(timeline_passages=6, timeline_per_slice=2, rerank_depth=100)  # fusion keeps them all: the cut is the last
    return Engine(store, embedder, FakeLLM(default=lambda req: "Dock workers struck and then settled [1]."), settings=settings)


def test_a_quiet_week_is_not_crowded_out_by_a_busy_one(strike_engine):
    a = strike_engine.answer("How did the Port Carvel harbour strike develop?", as_of=AS_OF, mode="timeline")
    assert a.timeline[0].date < "2026-03-08"
    deal = [e for e in a.timeline if "9 percent raise" in e.text]
    assert deal and deal[0].date == "2026-04-09", [(e.date, e.text) for e in a.timeline]


def test_each_event_is_the_sentence_that_states_what_happened(strike_engine):
    a = strike_engine.answer("How did the Port Carvel harbour strike develop?", as_of=AS_OF, mode="timeline")
    assert not any("thanked its members" in e.text or "meet again" in e.text for e in a.timeline)
    for e in a.timeline:
        c = e.citations[0]
        assert c.quote == e.text and c.end - c.start == len(e.text)


@pytest.mark.parametrize("words", ["between March and April 2026", "since March 16", "since Mar. 16, 2026", "since March 16th",
                                   "since 2026-03-16", "since Monday"])
def test_a_date_s_day_and_year_are_time_words_too(words):
    # left behind, "16" would be a word of the topic: every sentence saying "March 16" or "16%" would gain
    assert topic(f"What happened with the Port Carvel harbour strike {words}?") == "What happened with the Port Carvel harbour strike?"


def test_the_question_s_time_words_set_the_window_not_the_topic(strike_engine):
    asked = "What happened with the Port Carvel harbour strike between March and April 2026?"
    assert topic(asked) == "What happened with the Port Carvel harbour strike?"
    a = strike_engine.answer(asked, as_of=AS_OF, mode="timeline")
    assert a.timeline and not any("holidays" in e.text.lower() for e in a.timeline), [e.text for e in a.timeline]


def test_a_week_s_news_told_far_into_a_long_article_is_an_event(strike_engine):
    a = strike_engine.answer("How did the Port Carvel harbour strike develop?", as_of=AS_OF, mode="timeline")
    week3 = [e for e in a.timeline if "2026-03-16" <= e.date < "2026-03-23"]
    offer = [e for e in week3 if "rejected a 5 percent pay offer" in e.text]
    assert offer, [(e.date, e.text) for e in a.timeline]
    live = next(art for art in strike_engine.store.manifest.articles() if art.title == "Port Carvel strike: live updates")
    c = offer[0].citations[0]
    assert c.article_id == live.id and c.start > 1000  # its exact place, far past the lead
    assert len(week3) >= 2, [(e.date, e.text) for e in week3]  # the page's lead and its later news: two events of one article
    assert not any("street" in e.text for e in a.timeline)


def test_a_live_page_s_update_is_told_by_the_sentences_under_its_heading(strike_engine):
    a = strike_engine.answer("How did the Port Carvel harbour strike develop?", as_of=AS_OF, mode="timeline")
    vote = [e for e in a.timeline if "voted 212 to 40" in e.text]
    assert vote and vote[0].date == "2026-03-25", [(e.date, e.text) for e in a.timeline]
    assert not any("members vote down" in e.text for e in a.timeline)  # the heading is not a sentence of the story
    assert not any("on the hill" in e.text for e in a.timeline)


def test_an_article_of_the_story_far_from_the_question_is_not_an_event(strike_engine):
    """Stories join by meaning and drift: a roundup can tie another topic's articles to the one asked
    about. Placed into the strike's story here, the bowling final must still not be an event of it."""
    store = strike_engine.store
    arts = {a.title: a.id for a in store.manifest.articles()}
    strike = store.stories.of([arts["Pay deal reached at the docks"]])[arts["Pay deal reached at the docks"]]
    with store.stories._sql.write() as db:
        db.execute("UPDATE members SET story_id = ? WHERE article_id = ?", (strike, arts["Valmora bowling final"]))
    wide = Engine(store, strike_engine.embedder, FakeLLM(default=lambda req: "Dock workers struck [1]."), settings=defaults())
    stream = wide.stream("How did the Port Carvel harbour strike develop?", as_of=AS_OF, mode="timeline")
    assert any("bowling" in p.title for p in stream.passages), "retrieval reads the bowling final"
    a = stream.answer
    assert a.timeline and not any("bowl" in e.text.lower() for e in a.timeline), [(e.date, e.text) for e in a.timeline]


def test_the_words_that_ask_for_a_story_do_not_choose_its_events(strike_engine):
    a = strike_engine.answer("How did the strike develop?", as_of=AS_OF, mode="timeline")
    assert a.timeline and not any("developer" in e.text for e in a.timeline), [(e.date, e.text) for e in a.timeline]


def _past_the_lead(*said: str) -> Passage:
    """A passage of an article's third chunk holding `said`, one sentence each."""
    spans, at = [], 100
    for text in said:
        spans.append((at, at + len(text)))
        at += len(text) + 1
    return Passage(1, "a1:3", "a1", "Jobs report delayed", "Outlet", "2025-11-21", " ".join(said), 100, at - 1, 0.03,
                   dense_score=0.6, sentences=tuple(spans))


def test_what_changed_asks_for_the_story_it_does_not_choose_its_events():
    """"What changed in the shutdown?": "changed" asks for the story, as "develop" does. A labour
    report that "may have changed since the data was collected" tells nothing of the shutdown."""
    said = ["Federal workers missed a second paycheck as the shutdown went on.",
            "The labor market may have changed since the data was collected."]
    kept = score(candidates([_past_the_lead(*said)], {}, weekly=False), "What changed in the government shutdown?")
    assert [s.text for s in kept] == said[:1]


def test_a_word_that_only_begins_like_the_question_s_is_not_it():
    said = ["Federal workers missed a second paycheck as the government shutdown went on.",
            "Candidates for governor in two states raced to the finish line on the eve of the vote."]
    kept = score(candidates([_past_the_lead(*said)], {}, weekly=False), "How did the government shutdown develop?")
    assert [s.text for s in kept] == said[:1]


def test_an_editor_s_note_label_is_not_part_of_the_event():
    label = "Editor’s note: "
    text = label + "Dock workers at Port Carvel voted on Thursday to end the harbour strike."
    p = Passage(1, "a1:0", "a1", "Strike over", "Outlet", "2026-04-09", text, 0, len(text), 0.03, dense_score=0.6,
                sentences=((0, len(text)),))
    (c,) = candidates([p], {"a1": p}, weekly=False)
    assert c.text == text[len(label):] and (c.start, c.end) == (len(label), len(text))  # still cited to its exact place


@pytest.mark.parametrize("asked, word, same", [
    ("government", "governments", True), ("government", "governor", False), ("election", "electric", False),
    ("tariffs", "tariff", True), ("ukraine", "ukrainian", True), ("president", "presidential", True),
    ("strike", "striking", True), ("2026", "2026", True), ("2026", "20260", False),
])
def test_forms_of_a_question_s_word(asked, word, same):
    assert same_word(asked, word) is same


def test_one_event_told_by_two_outlets_in_their_own_words_is_one_line_with_both(strike_engine):
    wide = Engine(strike_engine.store, strike_engine.embedder, FakeLLM(default=lambda req: "Dock workers struck [1]."), settings=defaults())
    stream = wide.stream("How did the Port Carvel harbour strike develop?", as_of=AS_OF, mode="timeline")
    assert {"Pay deal reached at the docks", "Harbour strike over after six weeks"} <= {p.title for p in stream.passages}
    a = stream.answer
    deal = [e for e in a.timeline if "9 percent raise" in e.text]
    assert len(deal) == 1, [(e.date, e.text) for e in a.timeline]
    assert set(deal[0].outlets) == {"Coast Gazette", "Harbour Post"}, deal[0].outlets


def test_an_event_opens_with_its_news_not_its_dateline(strike_engine):
    """"PORT CARVEL, Apr 9 – Port Carvel dock workers accepted...": the line tells what happened, and
    its citation points where those words stand in the article."""
    a = strike_engine.answer("How did the Port Carvel harbour strike develop?", as_of=AS_OF, mode="timeline")
    deal = next(e for e in a.timeline if "9 percent raise" in e.text)
    assert deal.text.startswith(("Port Carvel dock workers accepted", "Dock workers at Port Carvel ended")), deal.text
    c = deal.citations[0]
    assert Path(c.path).read_text()[c.start:c.end] == deal.text


@pytest.mark.parametrize("strike_engine", [FIRM, FIRM_BY_NOUN], indirect=True, ids=["connective", "noun"])
def test_an_event_is_told_by_a_sentence_that_stands_alone(strike_engine):
    """A lead that leans on what came before ("But the port authority refused...", "The refusal,
    given on Tuesday...") reads as a fragment on a line of its own; the week's next sentence
    telling the same news alone is the event."""
    a = strike_engine.answer("How did the Port Carvel harbour strike develop?", as_of=AS_OF, mode="timeline")
    week5 = [e.text for e in a.timeline if "2026-03-30" <= e.date < "2026-04-06"]
    assert week5 and week5[0].startswith("The Port Carvel port authority will not raise"), [(e.date, e.text) for e in a.timeline]


def test_a_sentence_whose_subject_is_the_story_itself_stands_alone():
    """"The strike is..." in a story about the strike names it; "The refusal is..." points back to a sentence before."""
    story = terms(topic("How did the Port Carvel harbour strike develop?"))
    assert not leans("The strike is in its sixth week, the longest Port Carvel has seen.", story)
    assert not leans("The Senate is expected to vote on the port bill on Monday.", story)
    assert leans("The refusal is a blow to the dock workers of Port Carvel.", story)
    assert leans("The comments, made on the same radio show, echo the union's leaders.", story)
