"""The chat page in a real browser: Debian's headless Chromium driven by Playwright.

Asks a question and watches the answer stream in, clicks its citation and
checks the highlighted passage, follows up from an example question, copies
the answer, uploads an article and asks about it. Every request the browser
makes is recorded; any that leaves 127.0.0.1 fails the test. Screenshots go to
test-output/browser/.
"""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from rag.engine import Engine
from core.models.fake import FakeLLM
from tests.servers import free_port

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "test-output" / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOW = (
    "headless Chromium not found: install Debian's package with "
    "`sudo apt-get update && sudo apt-get install -y chromium` (CI's .ci/run does this), then rerun"
)
# Without these, Chromium keeps trying to reach Google's hosts on its own.
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
QUESTION = "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?"
ARTICLE = """Zebra crossings return to Springfield

Springfield will repaint forty zebra crossings along Main Street before the school year starts, the city's transport office said on Monday.
The works cost 120,000 dollars and are paid from the road safety fund, said Mira Kowalski, who leads the office.
Residents had asked for the crossings after two accidents near the central library last winter.
"""

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=HOW)]


class SlowFakeLLM(FakeLLM):
    """The recording fake, paced like a real model so the stream can be watched."""

    def stream(self, request):
        for piece in super().stream(request):
            time.sleep(0.12)
            yield piece


class GatedFakeLLM(SlowFakeLLM):
    """Says nothing until the test opens `gate`: what the page shows before that came without the model's words."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.gate = threading.Event()

    def stream(self, request):
        if not self.gate.wait(60):  # a hang guard: the test opens it within seconds
            raise TimeoutError("the test never opened the gate")
        yield from super().stream(request)


def reply(req) -> str:
    q = req.question.lower()
    for asked, needle, text in (
        ("zebra", "forty zebra crossings", "Springfield will repaint forty zebra crossings on Main Street"),
        ("shortage", "shortage of infantry", "Ukrainian units lack infantry, artillery and air defense"),
        ("", "Peskov", "Dmitry Peskov, the Kremlin spokesman, spoke about the Abu Dhabi meetings"),
    ):
        if asked in q:
            return text + " " + "".join(f"[{p.n}]" for p in req.passages if needle in p.text) + "."
    raise AssertionError("unreachable")


@pytest.fixture
def page_url(writable_store, embedder, settings):  # the test uploads an article
    from ui.app import create_app, launch

    demo = create_app(Engine(writable_store, embedder, SlowFakeLLM(default=reply)), settings)
    port = free_port()
    launch(demo, settings, server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture
def browser(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is missing: pip install -e '.[dev]'")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh user-data dir
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        requests: list[str] = []
        context.on("request", lambda r: requests.append(r.url))

        def local_only(route):
            if urlparse(route.request.url).hostname == "127.0.0.1":
                route.continue_()
            else:
                route.abort()

        context.route("**/*", local_only)
        try:
            yield context, requests
        finally:
            context.close()


def shot(page, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / name))


def ask(page, question: str) -> None:
    page.fill("#nr-question textarea", question)
    page.press("#nr-question textarea", "Enter")


def last_answer(page):
    return page.locator("#nr-chat .message-content").last


def test_chat_page_in_a_real_browser(page_url, browser, tmp_path):
    from playwright.sync_api import expect

    context, requests = browser
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=page_url.rstrip("/"))

    # A first visit: the welcome text, questions drawn from the corpus, an empty sources panel.
    page.goto(page_url)
    page.wait_for_selector("#nr-question textarea")
    page.get_by_text("Ask a question about the articles.").wait_for()
    examples = page.locator("#nr-examples")
    assert examples.get_by_text("Which shortages are forcing Ukrainian units").count() == 1
    assert "The sources of each answer appear here." in page.inner_text("#nr-sources")
    shot(page, "01-first-visit.png")

    # The answer streams in (text before its citation links exist), then gets its citation.
    ask(page, QUESTION)
    page.wait_for_function(
        "() => { const s = document.querySelector('#nr-chat .nr-streaming');"
        " return s && s.textContent.includes('Dmitry') && !s.textContent.includes('meetings'); }",
        timeout=30_000,
    )
    cite = page.locator("#nr-chat a.nr-cite").first
    cite.wait_for(timeout=30_000)
    assert "Dmitry Peskov" in last_answer(page).inner_text() and cite.inner_text() == "[1]"
    shot(page, "02-answer.png")

    # Clicking [1] brings up its source card: title, outlet, date, the cited sentence highlighted.
    cite.click()
    card = page.locator("#nr-src-1-1.nr-active")
    card.wait_for(timeout=10_000)
    assert "Ukraine sees ‘progress’ in latest talks" in card.inner_text()
    assert "The Washington Post" in card.inner_text() and "2026-01-28" in card.inner_text()
    assert "Kremlin spokesman Dmitry Peskov said Wednesday" in card.locator("mark").inner_text()
    page.wait_for_timeout(600)  # the smooth scroll
    box = card.bounding_box()
    assert box and 0 <= box["y"] < 900, box
    shot(page, "03-citation.png")

    # The trace shows the retrieval scores and timings of the answer.
    page.get_by_text("Trace: how the answer was made").click()
    trace = page.locator("#nr-trace")
    trace.get_by_text("cosine").wait_for()
    assert "retrieval" in trace.inner_text() and "Ukraine sees ‘progress’" in trace.inner_text()  # the passages ranked

    # Copy answer puts the plain answer and its sources on the clipboard.
    page.click("#nr-copy")
    page.wait_for_timeout(300)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Dmitry Peskov, the Kremlin spokesman") and "\nSources:\n[1] Ukraine sees" in copied

    # An example question is asked at once; its sources open, the first turn's stay reachable.
    examples.get_by_text("Which shortages are forcing Ukrainian units").click()
    page.locator("#nr-src-2-1").wait_for(timeout=30_000)
    assert "Ukrainian units lack infantry" in last_answer(page).inner_text()
    assert page.locator("#nr-turn-2").get_attribute("open") is not None
    assert page.locator("#nr-turn-1").get_attribute("open") is None
    page.locator("#nr-chat a.nr-cite").first.click()  # the first answer's [1]
    page.locator("#nr-src-1-1.nr-active").wait_for(timeout=10_000)
    assert page.locator("#nr-turn-1").get_attribute("open") is not None

    # Corpus tab: the articles are listed; an uploaded article is ingested and listed.
    page.get_by_role("tab", name="Corpus").click()
    table = page.locator("#nr-articles")
    expect(table).to_contain_text("Ukraine sees ‘progress’ in latest talks")
    upload = tmp_path / "Zebra crossings.txt"
    upload.write_text(ARTICLE)
    page.locator("#nr-upload input[type=file]").set_input_files(str(upload))
    page.locator("#nr-report").get_by_text("Added 1,").wait_for(timeout=60_000)
    expect(table).to_contain_text("Zebra crossings return to Springfield", timeout=10_000)
    assert "3 articles" in page.inner_text("#nr-status")
    shot(page, "04-corpus.png")

    # ...and answerable, with its passage highlighted.
    page.get_by_role("tab", name="Chat").click()
    ask(page, "How many zebra crossings will Springfield repaint?")
    page.locator("#nr-src-3-1").wait_for(timeout=30_000)
    page.locator("#nr-chat a.nr-cite").last.click()
    card = page.locator("#nr-src-3-1.nr-active")
    card.wait_for(timeout=10_000)
    assert "Zebra crossings return to Springfield" in card.inner_text()
    assert "Springfield will repaint forty zebra crossings" in card.locator("mark").inner_text()
    shot(page, "05-uploaded-article-answer.png")

    # Clear conversation empties the chat and the sources.
    page.click("#nr-clear")
    page.get_by_text("The sources of each answer appear here.").wait_for(timeout=10_000)
    assert page.locator("#nr-chat a.nr-cite").count() == 0

    outside = [u for u in requests if urlparse(u).scheme not in ("data", "blob") and urlparse(u).hostname != "127.0.0.1"]
    assert outside == [], f"the page reached outside the host: {outside}"
    assert len(requests) > 10  # the recorder saw the page's own traffic
    assert errors == [], errors


@pytest.fixture
def loading_page_url(sample_store, embedder, settings):
    """The page served while its model is still loading (until the test releases it), as `newsrag chat` does.
    The model, once loaded, holds its words back until the test opens its gate."""
    from ui.app import create_app, launch
    from ui.warmup import ModelLoader

    release = threading.Event()
    llm = GatedFakeLLM(default=reply)

    def slow_load():
        release.wait(60)
        return llm

    engine = Engine(sample_store, embedder, slow_load)
    loader = ModelLoader(engine).start()
    demo = create_app(engine, settings, loader=loader)
    port = free_port()
    launch(demo, settings, server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/", loader, release, llm.gate
    release.set()
    llm.gate.set()
    demo.close()


def test_model_loads_at_start_and_sources_show_before_the_answer(loading_page_url, browser):
    url, loader, release, gate = loading_page_url
    context, _ = browser
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("#nr-question textarea")
    # Served before the model is ready, and says so; the line goes once it has loaded, with no question asked.
    page.locator("#nr-model .nr-model-loading").wait_for(timeout=10_000)
    shot(page, "06-model-loading.png")
    assert loader.state() == "loading"
    release.set()  # the model has loaded
    page.locator("#nr-model .nr-model-loading").wait_for(state="detached", timeout=30_000)
    assert loader.state() == "ready"

    # The passages show while the model has not said a word (it waits for the gate), then its words come.
    # (The wait_for timeouts only stop a hang.)
    t0 = time.perf_counter()
    ask(page, QUESTION)
    page.locator("#nr-sources .nr-pending .nr-card").first.wait_for(timeout=30_000)
    sources_s = time.perf_counter() - t0
    assert not gate.is_set()
    assert "Dmitry" not in page.inner_text("#nr-chat"), "the model's words came before the test let them"
    assert "Kremlin spokesman Dmitry Peskov" in page.inner_text("#nr-sources .nr-pending")  # the passage it will cite
    shot(page, "07-sources-at-once.png")
    gate.set()
    page.wait_for_function(
        "() => { const s = document.querySelector('#nr-chat .nr-streaming'); return s && s.textContent.includes('Dmitry'); }",
        timeout=30_000,
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "timings.txt").write_text(f"passages visible {sources_s:.2f} s after asking (fake model, for the record)\n")
    assert errors == [], errors
