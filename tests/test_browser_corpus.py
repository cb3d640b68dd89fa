"""The Corpus tab of a store with 1,200 articles, in headless Chromium: the first page shows
50 rows (not 1,200), the search box and the outlet filter narrow it, the count follows,
paging works.

The store is built by writing manifest rows (the tab reads only the manifest), so the
test takes seconds, not the minutes embedding 1,200 articles would. The times it saw (from
opening the page to the first page of the tab, a search, a filter) are recorded in
test-output/browser/corpus-timing.json, for reading, not asserted: the waits below only stop a hang.
"""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import json
import time

import pytest

from core.models.fake import FakeLLM
from rag.engine import Engine
from store import ArticleRow
from tests.servers import free_port
from tests.test_browser import CHROMIUM, HOW, OUT, browser  # noqa: F401  (the fixture)

N = 1200
OUTLETS = ["The Washington Post", "Harbour Times", "Ghent Daily", "Baltic Wire", "Split Courier", "Lyon Matin"]

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=HOW)]


@pytest.fixture
def big_page(store, embedder, settings):
    from ui.app import create_app, launch

    for i in range(N):
        outlet = OUTLETS[i % len(OUTLETS)]
        topic = "bridges" if i % 4 < 2 else "ports"
        store.manifest.put(ArticleRow(
            f"id{i:05d}", "h", 3, f"Report {i:04d} on {topic} in {outlet.split()[-1]}", "", f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
            outlet, f"https://news.example.test/{i}", f"/corpus/{i}.txt",
        ))
    demo = create_app(Engine(store, embedder, FakeLLM()), settings)
    port = free_port()
    launch(demo, settings, server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def count_text(page) -> str:
    return page.inner_text("#nr-count")


def test_corpus_tab_searches_and_filters_a_large_store(big_page, browser):  # noqa: F811
    from playwright.sync_api import expect

    context, requests = browser
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    started = time.perf_counter()
    page.goto(big_page)
    page.wait_for_selector("#nr-question textarea")
    page_ready_s = time.perf_counter() - started  # Gradio's own start, whatever the store
    page.get_by_role("tab", name="Corpus").click()
    table = page.locator("#nr-articles")
    expect(page.locator("#nr-count")).to_contain_text("1,200 articles", timeout=30_000)
    expect(table).to_contain_text("Report", timeout=30_000)
    first_page_s = time.perf_counter() - started
    assert "showing 1–50 · page 1 of 24" in count_text(page)  # 50 rows rendered, not 1,200

    # The search box narrows to titles (and outlets, URLs) that contain the text.
    t = time.perf_counter()
    page.fill("#nr-search textarea, #nr-search input", "bridges")
    expect(page.locator("#nr-count")).to_contain_text("600 matching articles", timeout=15_000)
    search_s = time.perf_counter() - t
    expect(table).not_to_contain_text("on ports", timeout=10_000)

    # The outlet filter narrows it further; the count follows.
    t = time.perf_counter()
    page.locator("#nr-outlet input").click()
    page.get_by_role("option", name="Harbour Times (200)").click()
    expect(page.locator("#nr-count")).to_contain_text("100 matching articles", timeout=15_000)
    filter_s = time.perf_counter() - t
    page.keyboard.press("Escape")
    shown = table.inner_text()
    assert "Harbour Times" in shown and not any(o in shown for o in OUTLETS if o != "Harbour Times"), shown[:500]

    # Paging: the next page of the same matches.
    page.click("#nr-next")
    expect(page.locator("#nr-count")).to_contain_text("page 2 of 2", timeout=15_000)
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / "06-corpus-search.png"))

    timing = {"articles": N, "page_ready_s": round(page_ready_s, 2), "first_page_s": round(first_page_s, 2), "search_s": round(search_s, 2), "outlet_filter_s": round(filter_s, 2)}
    (OUT / "corpus-timing.json").write_text(json.dumps(timing, indent=2))
    print("corpus tab timing:", timing)
    assert errors == [], errors
