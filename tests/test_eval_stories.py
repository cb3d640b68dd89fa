"""`newsrag eval stories`: story answers scored per event (mentioned, dated, in the passages),
beside the factoid answer, with the corpus's two ceilings. A tiny fictional story stands in for
RealTimeQA's storylines: a bridge in Riverton closes, is contracted out, runs late, reopens."""

from __future__ import annotations

import json
from datetime import date

import pytest

from core.models.fake import FakeLLM
from core.types import Answer, Citation, Passage, TimelineEvent
from evaluation.stories import StoryEvent, ceilings, evaluate_stories, load_storylines, score_event, stories_markdown
from tests.conftest import ingest_opts

ARTICLES = [
    # before the story's `since`: never read, though it holds an event's answer
    {"id": "b0", "url": "https://courier.example/2026/02/bridge-rust", "source": "courier.example", "date": "2026-02-20",
     "title": "Inspector finds rust on the Riverton bridge",
     "text": "Inspector Holloway found rust on the Riverton bridge's northern span on Friday. The city said it would plan repairs."},
    # the only article saying "ferry", 18 days before that event: mentioned, never dated
    {"id": "b1", "url": "https://courier.example/2026/03/bridge-closes", "source": "courier.example", "date": "2026-03-02",
     "title": "Riverton bridge closes for repairs",
     "text": "The Riverton bridge closed on Monday for repairs to its northern span, and a ferry will carry commuters across "
             "the river. Drivers were told to use the ring road."},
    {"id": "b2", "url": "https://gazette.example/2026/03/bridge-contract", "source": "gazette.example", "date": "2026-03-05",
     "title": "Contract awarded for the Riverton bridge",
     "text": "The city awarded the Riverton bridge repair contract to Acme Steel on Thursday, at a cost of 12 million dollars. "
             "Work starts next week."},
    {"id": "b3", "url": "https://courier.example/2026/03/bridge-late", "source": "courier.example", "date": "2026-03-18",
     "title": "Riverton bridge repairs run late",
     "text": "Repairs to the Riverton bridge will last until June, the city engineer said on Wednesday, after cracks were "
             "found in a second span. Crews will work through the night."},
    # after the story's `as_of`: no ceiling counts it
    {"id": "b4", "url": "https://gazette.example/2026/04/bridge-reopens", "source": "gazette.example", "date": "2026-04-06",
     "title": "Riverton bridge reopens early",
     "text": "The Riverton bridge reopened on Monday after its repairs, and mayor Dana Whitfield cut the ribbon. Traffic "
             "returned within the hour."},
]


def _event(quiz_id: str, day: str, quiz: str, *answers: str) -> dict:
    return {"quiz_id": quiz_id, "date": day, "quiz": quiz, "answer_any": list(answers)}


STORY = {
    "id": "s-bridge", "question": "What happened with the Riverton bridge in March 2026?", "since": "2026-03-01", "as_of": "2026-03-31",
    "events": [
        _event("q1", "2026-03-03", "Which inspector found rust on the bridge?", "Holloway"),
        _event("q2", "2026-03-06", "Which company won the bridge repair contract?", "Acme Steel"),
        _event("q3", "2026-03-19", "Until which month will the repairs last?", "June"),
        _event("q4", "2026-03-20", "What carries commuters while the bridge is closed?", "ferry", "ferries"),
        _event("q5", "2026-03-27", "Which mayor reopened the bridge?", "Whitfield"),
    ],
}
# event -> (in a window article, in an article by as_of), from the dates above
CEILINGS = {"q1": (False, True), "q2": (True, True), "q3": (True, True), "q4": (False, True), "q5": (False, False)}


def _reply(request) -> str:
    """The model names the contractor, citing the passage that says so."""
    for i, p in enumerate(request.passages, 1):
        if "Acme Steel" in p.text:
            return f"The city gave the repair contract to Acme Steel [{i}]."
    return "The articles don't say."


@pytest.fixture
def story_home(tmp_path, store, embedder):
    from ingest import ingest

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES))
    report = ingest([corpus], store, embedder, ingest_opts())
    assert report.ok and report.articles_total == len(ARTICLES), report.failed
    lines = tmp_path / "storylines.jsonl"
    lines.write_text(json.dumps(STORY) + "\n")
    return store, corpus, lines


def test_each_event_is_scored_mentioned_dated_and_in_passages_beside_the_factoid_answer(story_home, embedder):
    from rag.engine import Engine

    store, corpus, lines = story_home
    fake = FakeLLM(default=_reply)
    engine = Engine(store, embedder, fake)
    report = evaluate_stories(load_storylines(lines), engine, corpus=corpus)
    # an untimed warm-up first, on a quiz question: never a prompt that is timed afterwards
    quizzes = {e["quiz"] for e in STORY["events"]}
    assert fake.requests[0].question in quizzes and [r.question for r in fake.requests[-2:]] == [STORY["question"]] * 2
    row = report["rows"][0]
    events = {e["quiz_id"]: e for e in row["events"]}
    # the timeline holds the three March articles, one a day, and nothing before `since` or after `as_of`
    assert [e["date"] for e in row["timeline"]] == ["2026-03-02", "2026-03-05", "2026-03-18"] and row["events_shown"] == 3
    told = {q: tuple(e["timeline"][k] for k in ("mentioned", "dated", "in_passages")) for q, e in events.items()}
    assert told == {
        "q1": (False, False, False),  # only before `since`
        "q2": (True, True, True),  # told on 5 March, the event is of 6 March
        "q3": (True, True, True),
        "q4": (True, False, True),  # told on 2 March: outside [10 March, 23 March]
        "q5": (False, False, False),  # only after `as_of`
    }
    assert report["timeline"] == {"n": 5, "mentioned": 3, "dated": 2, "in_passages": 3}
    # the factoid answer names the contractor only, citing the article of 5 March
    assert "Acme Steel" in row["factoid_answer"] and events["q2"]["factoid"] == {"mentioned": True, "dated": True, "in_passages": True}
    assert report["factoid"]["mentioned"] == report["factoid"]["dated"] == 1
    assert not any(events[q]["factoid"]["in_passages"] for q in ("q1", "q5"))  # the same filter and as-of date
    # the ceilings, from the corpus alone
    assert {q: (e["ceiling"]["in_window"] is not None, e["ceiling"]["by_as_of"] is not None) for q, e in events.items()} == CEILINGS
    assert report["ceilings"] | {"corpus": ""} == {"corpus": "", "in_window": 2, "by_as_of": 4, "events": 5}
    # timing: the events before the overview's first token; the factoid's first token beside it
    assert row["events_s"] > 0 and row["overview_ttft_s"] is not None and row["factoid_ttft_s"] is not None
    assert report["timing"]["questions"] == 1 and report["timing"]["ttft_compared"] == 1
    md = stories_markdown(report)
    assert "| timeline | 3 / 5 | 2 / 5 | 3 / 5 |" in md and "| factoid (baseline) | 1 / 5 |" in md
    assert "holds its answer for 2 of 5 events; an article published by as_of for 4." in md
    assert "| s-bridge | q4 | 2026-03-20 | ferry | yes / - / yes |" in md


def test_the_cli_answers_from_a_home_without_the_baseline(story_home, tmp_path, monkeypatch, capsys):
    from ui.cli import main

    store, corpus, lines = story_home
    monkeypatch.setenv("NEWSRAG_LLM", "fake")
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "stories", str(lines), "--home", str(store.home), "--corpus", str(corpus), "--json", "--no-baseline"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["timeline"] == {"n": 5, "mentioned": 3, "dated": 2, "in_passages": 3}
    assert "factoid" not in report and "factoid" not in report["rows"][0]["events"][0]
    assert report["ceilings"]["by_as_of"] == 4 and report["store"] == str(store.home)
    assert "factoid" not in stories_markdown(report)
    # a home with no store is an error that names the fix
    assert main(["eval", "stories", str(lines), "--home", str(tmp_path / "nowhere")]) == 2
    assert "ingest the stories' corpus there first" in capsys.readouterr().err


def _passage(n: int, day: str, text: str) -> Passage:
    return Passage(n, f"c{n}", f"a{n}", "A title", "courier.example", day, text, 0, len(text), 1.0)


def _cite(n: int, day: str, quote: str) -> Citation:
    return Citation(n, n, f"a{n}", "A title", "courier.example", day, quote, 0, len(quote))


def test_dated_is_a_timeline_entry_or_a_cited_sentence_inside_the_window():
    event = StoryEvent("q", date(2026, 3, 20), "Which boat?", ("ferry",))
    passages = (_passage(1, "2026-03-02", "A ferry will carry commuters."), _passage(2, "2026-03-18", "Repairs run late."))
    entry = TimelineEvent("2026-03-02", "A ferry will carry commuters.", (_cite(1, "2026-03-02", "A ferry will carry commuters."),), ("courier.example",))
    # the entry is outside the window, but a sentence of the text cites a passage dated inside it
    answer = Answer("q", "The bridge closed [1]. The ferry still runs [2].", True, citations=(
        _cite(1, "2026-03-02", "x"), _cite(2, "2026-03-18", "y")), passages=passages, timeline=(entry,))
    assert score_event(event, answer) == {"mentioned": True, "dated": True, "in_passages": True}
    # the sentence naming the ferry cites the passage of 2 March: not dated
    answer = Answer("q", "The ferry started [1]. Repairs run late [2].", True, citations=answer.citations, passages=passages)
    assert score_event(event, answer) == {"mentioned": True, "dated": False, "in_passages": True}
    # in a passage only: given to the model, not said
    answer = Answer("q", "Repairs run late [2].", True, citations=answer.citations, passages=passages)
    assert score_event(event, answer) == {"mentioned": False, "dated": False, "in_passages": True}
    # an entry on the last day of the window (event + 3 days), in its text only
    late = TimelineEvent("2026-03-23", "The ferry ran all week.", (), ())
    answer = Answer("q", "The articles don't say.", False, timeline=(late,))
    assert score_event(event, answer) == {"mentioned": True, "dated": True, "in_passages": True}


def test_the_ceilings_read_titles_and_dates_and_skip_what_cannot_count(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join([
        json.dumps({"id": "t", "date": "2026-03-12", "title": "Ferry service starts", "text": "Boats across the river."}),
        json.dumps({"id": "u", "date": "", "title": "", "text": "Whitfield, undated."}),  # not known to be published by as_of
        "not json",
        json.dumps({"id": "w", "date": "2026-02-01", "title": "", "text": "Mayor Whitfield spoke."}),
    ]) + "\n")
    lines = tmp_path / "s.jsonl"
    lines.write_text(json.dumps(dict(STORY, events=[STORY["events"][3], STORY["events"][4]])) + "\n")
    assert ceilings(corpus, load_storylines(lines)) == [{"in_window": "t", "by_as_of": "t"}, {"in_window": None, "by_as_of": "w"}]
