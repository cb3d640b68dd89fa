"""A story answer on the chat page, in headless Chromium (Debian's, driven by Playwright, as
tests/test_browser.py): the timeline shows before the model writes a word, one row per event in
date order with its outlets, and an event's link brings up its passage under Sources. The answer
mode switch, "since my last visit" (the browser remembers the visit) and the Corpus tab's story
filter are used through the page too. The page's parts (the HTML, the visit memory, the story
filter's query) are also tested without a browser.

The corpus is tests/test_stories.py's: one flood story over three weeks from two outlets, and one
unrelated council story. Screenshots: /tmp/timeline.png and test-output/browser/08-timeline.png.
"""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import re
import shutil
from datetime import date
from urllib.parse import urlparse

import pytest

from conftest import ingest_opts
from ingest import ingest
from rag.engine import Engine
from rag.figures import dated_label
from store.watchlist import Watchlist
from tests.servers import free_port
from tests.test_browser import CHROMIUM, HOW, OUT, GatedFakeLLM, ask, browser, last_answer  # noqa: F401  (the fixture)
from tests.test_stories import ARTICLES, AS_OF, QUESTION
from tests.test_timeline_api import FACT, overview, write_flood_corpus
from core.types import Answer, Citation, TimelineEvent

FIRST_VISIT = date(2026, 3, 8)  # the day of the reader's first visit (the engine's as-of date then)
SINCE_VISIT = "What happened with the Riverside floods since my last visit?"
SHOT = "/tmp/timeline.png"


@pytest.fixture
def flood_page(tmp_path, store, embedder, settings):
    """The page over the flood corpus; the model says nothing until the test opens its gate."""
    from ui.app import create_app, launch

    assert ingest([write_flood_corpus(tmp_path / "news")], store, embedder, ingest_opts()).ok
    llm = GatedFakeLLM(default=overview)
    engine = Engine(store, embedder, llm, settings=settings)
    engine.as_of = FIRST_VISIT  # "today" for the page, until the test moves it on
    demo = create_app(engine, settings)
    port = free_port()
    launch(demo, settings, server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/", engine, llm.gate
    llm.gate.set()
    demo.close()


def final_answer(page, turn: int):
    """The chat's last answer once turn `turn` is done (its sources are no longer pending)."""
    page.locator(f"#nr-turn-{turn}:not(.nr-pending)").wait_for(timeout=30_000)
    return last_answer(page)


def in_view(page, locator) -> None:
    """Wait until the element lies inside the viewport (the scroll to it is smooth)."""
    page.wait_for_function(
        "(el) => { const r = el.getBoundingClientRect(); return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }",
        arg=locator.element_handle(), timeout=10_000,
    )


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason=HOW)
def test_a_story_answer_shows_its_timeline_in_a_real_browser(flood_page, browser):  # noqa: F811
    from playwright.sync_api import expect

    url, engine, gate = flood_page
    context, requests = browser
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    expected = engine.stream(QUESTION, as_of=AS_OF).timeline  # the events, as the engine chooses them (the model is not asked)
    assert len(expected) >= 3 and [e.date for e in expected] == sorted(e.date for e in expected)

    # Two visits: the browser keeps the first one's day and names it on the second.
    page.goto(url)
    page.wait_for_selector("#nr-question textarea")
    expect(page.locator("#nr-visit")).to_contain_text("First visit from this browser", timeout=10_000)
    engine.as_of = AS_OF  # twelve days later
    page.reload()
    page.wait_for_selector("#nr-question textarea")
    expect(page.locator("#nr-visit")).to_contain_text("Your last visit from this browser: Sun 8 Mar 2026", timeout=10_000)

    # Auto: the question's words ask for a story. Its events show before the model says a word.
    ask(page, QUESTION)
    rows = page.locator("#nr-chat .nr-timeline .nr-ev")
    rows.first.wait_for(timeout=30_000)
    expect(rows).to_have_count(len(expected))
    assert not gate.is_set() and "Floods hit Riverside" not in page.inner_text("#nr-chat")
    assert page.locator("#nr-sources .nr-pending .nr-ev-card").count() == len(expected)  # their passages, under Sources
    gate.set()
    answer = final_answer(page, 1)
    assert answer.locator(".nr-answer").inner_text().startswith("Floods hit Riverside")

    # "Watch this" saves the question as a watch and says where its events will go.
    page.locator("#nr-watch").click()
    expect(page.locator("#nr-visit")).to_contain_text("Watching", timeout=10_000)
    [watch] = Watchlist(engine.settings.home).all()
    assert watch.topic == QUESTION and f"/watches/{watch.id}.atom" in page.inner_text("#nr-visit")

    # One row per event, oldest first: its day down the side, its sentence, its outlets.
    outlets = {o for e in expected for o in e.outlets}
    assert f"{len(expected)} events · {len(outlets)} outlets" in answer.locator(".nr-tl-head").inner_text()
    for row, e in zip(rows.all(), expected):
        assert row.locator(".nr-ev-date").inner_text().split() == [*dated_label(e.date).split(), e.date[:4]]
        assert row.locator(".nr-ev-text").inner_text() == e.text
        assert row.locator(".nr-outlet").all_inner_texts() == list(e.outlets)
    assert not any("library" in t for t in rows.all_inner_texts())  # the unrelated story stays out

    # An event's link brings up its passage: the card under Sources, the event's sentence highlighted in it.
    third = expected[2]
    rows.nth(2).locator("a.nr-ev-link").click()
    card = page.locator("#nr-ev-1-3.nr-active")
    card.wait_for(timeout=10_000)
    expect(card).to_be_visible()
    in_view(page, card)
    assert card.locator("mark").inner_text() == third.text
    assert third.citations[0].title in card.inner_text() and third.citations[0].source in card.inner_text()
    answer.evaluate("el => el.scrollIntoView({block: 'start'})")  # the chat shows the answer from its top ...
    page.evaluate("window.scrollTo(0, 0)")  # ... and the page from its top, the card still highlighted
    page.screenshot(path=SHOT)
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHOT, OUT / "08-timeline.png")
    # ... and so does the overview's [n]: the card of the event it cites.
    answer.locator(".nr-answer a.nr-cite").first.click()
    page.locator("#nr-ev-1-1.nr-active").wait_for(timeout=10_000)

    # The switch: Fact answers the story question as one fact; Timeline tells a factoid question as a story.
    page.locator("#nr-mode").get_by_text("Fact", exact=True).click()
    ask(page, QUESTION)
    assert final_answer(page, 2).locator(".nr-timeline").count() == 0
    assert page.locator("#nr-src-2-1").count() == 1  # a factoid answer's source cards
    page.locator("#nr-mode").get_by_text("Timeline", exact=True).click()
    ask(page, FACT)
    assert final_answer(page, 3).locator(".nr-ev").count() >= 3

    # "since my last visit": a timeline from the last visit (Sun 8 Mar) on, whatever the switch says.
    page.locator("#nr-mode").get_by_text("Fact", exact=True).click()
    ask(page, SINCE_VISIT)
    later = final_answer(page, 4).locator(".nr-ev-date").all_inner_texts()
    assert later and [d.split()[:3] for d in later] == [dated_label(e.date).split() for e in expected if e.date >= "2026-03-08"], later
    assert "4. What happened with the Riverside floods since 2026-03-08?" in page.inner_text("#nr-turn-4 > summary")

    # The Corpus tab's story filter narrows the list to the story's articles.
    page.get_by_role("tab", name="Corpus").click()
    expect(page.locator("#nr-count")).to_contain_text("5 articles", timeout=15_000)
    flood = next(s for s in engine.store.stories.list() if s.articles == 4)
    page.locator("#nr-story input").click()
    page.get_by_role("option", name=re.compile("^" + re.escape(flood.label))).click()
    expect(page.locator("#nr-count")).to_contain_text("4 matching articles", timeout=15_000)
    table = page.locator("#nr-articles")
    expect(table).not_to_contain_text("City council approves", timeout=10_000)
    for name, (title, *_) in ARTICLES.items():
        if name != "council.txt":
            expect(table).to_contain_text(title)
    page.screenshot(path=str(OUT / "09-story-filter.png"))

    outside = [u for u in requests if urlparse(u).scheme not in ("data", "blob") and urlparse(u).hostname != "127.0.0.1"]
    assert outside == [], f"the page reached outside the host: {outside}"
    assert errors == [], errors


# --- the page's parts, without a browser

HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def hostile_event() -> TimelineEvent:
    cite = Citation(1, 1, "a1", f"Title {HOSTILE}", f"Outlet {HOSTILE}", "2026-03-02", f"Floods {HOSTILE} rose.", 0, 40,
                    url="javascript:alert(3)")
    return TimelineEvent("2026-03-02", cite.quote, (cite,), (cite.source, f"Other {HOSTILE}"), "s1")


def test_article_text_in_the_timeline_and_its_cards_is_escaped():
    from ui.html import answer_html, pending_sources_html, sources_html, streaming_html

    e = hostile_event()
    a = Answer("q", "Floods rose [1].", True, citations=e.citations, mode="timeline", timeline=(e,))
    for out in (answer_html(a, 1), sources_html([a]), streaming_html("so far", (e,), 1), pending_sources_html("q", (), [], (e,))):
        assert "<img" not in out and "<script" not in out and "javascript:" not in out, out
        assert "&lt;img src=x" in out
    assert 'href="#nr-ev-1-1"' in answer_html(a, 1) and 'id="nr-ev-1-1"' in sources_html([a])  # [1] opens the event's card


def test_the_visit_memory_keeps_the_last_day_before_today():
    from ui import visits

    kept, last = visits.record(None, date(2026, 3, 8))
    assert kept == {"this": "2026-03-08"} and last is None  # a first visit
    assert visits.record(kept, date(2026, 3, 8)) == (kept, None)  # opened again the same day: still none
    kept, last = visits.record(kept, date(2026, 3, 20))
    assert kept == {"this": "2026-03-20", "last": "2026-03-08"} and last == date(2026, 3, 8)
    assert visits.record(kept, date(2026, 3, 20))[1] == date(2026, 3, 8)  # a reload keeps the last visit
    assert visits.record({"this": "<script>", "last": 7}, date(2026, 3, 20)) == ({"this": "2026-03-20"}, None)  # data, not trusted
    assert visits.record("garbage", date(2026, 3, 20))[1] is None
    assert visits.with_last_visit(SINCE_VISIT, date(2026, 3, 8)) == "What happened with the Riverside floods since 2026-03-08?"
    assert visits.with_last_visit(SINCE_VISIT, None) == "What happened with the Riverside floods?"
    assert visits.asks_since_last_visit("what's new SINCE MY LAST VISIT") and not visits.asks_since_last_visit(QUESTION)


def test_the_story_filter_narrows_the_corpus_list(tmp_path, store, embedder, settings):
    from ui.handlers import Page

    assert ingest([write_flood_corpus(tmp_path / "news")], store, embedder, ingest_opts()).ok
    page = Page(Engine(store, embedder, GatedFakeLLM(), settings=settings), settings)
    flood = next(s for s in store.stories.list() if s.articles == 4)
    choices = page.story_choices(flood.id)
    assert choices.value == flood.id and any(v == flood.id and "4 articles" in label for label, v in choices.choices)
    assert page.story_choices("gone").value == ""  # a story that went: back to all

    def titles(*controls, story=None, page_no=1):
        rows, count, *_ = page.search(*controls, page_no, story=story)
        return [r[0] for r in rows], count

    shown, count = titles("", [], "", "", "Oldest first", story=flood.id)
    assert shown == [ARTICLES[n][0] for n in ("w1-gazette.txt", "w1-herald.txt", "w2-herald.txt", "w3-gazette.txt")]
    assert count.startswith("**4 matching articles**")
    assert titles("", ["Valley Herald"], "", "", "Oldest first", story=flood.id)[0] == [ARTICLES["w1-herald.txt"][0], ARTICLES["w2-herald.txt"][0]]
    assert titles("", [], "2026-03-09", "", "Newest first", story=flood.id)[0] == [ARTICLES["w3-gazette.txt"][0], ARTICLES["w2-herald.txt"][0]]
    assert titles("debris", [], "", "", "Newest first", story=flood.id)[0] == [ARTICLES["w2-herald.txt"][0]]
    assert len(titles("", [], "", "", "Newest first")[0]) == 5  # no story: every article
    assert titles("", [], "", "", "Newest first", story="no-such-story") == ([], "**No article matches.**")
