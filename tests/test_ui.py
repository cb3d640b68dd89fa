"""The chat page, launched for real and used through gradio_client; its parts tested directly."""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import re
import threading
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from rag.engine import Engine
from core.errors import BackendError, ConfigError
from core.types import Answer, Citation, Passage, Unsupported
from tests.servers import free_port

QUESTION = "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?"
SHORTAGES = "Which shortages are forcing Ukrainian units to give ground?"
ARTICLE = """Zebra crossings return to Springfield

Springfield will repaint forty zebra crossings along Main Street before the school year starts, the city's transport office said on Monday.
The works cost 120,000 dollars and are paid from the road safety fund, said Mira Kowalski, who leads the office.
Residents had asked for the crossings after two accidents near the central library last winter.
"""


@contextmanager
def running(engine, settings, llms=None, **launch_kw):
    from ui.app import create_app, launch

    demo = create_app(engine, settings, llms)
    port = free_port()
    launch(demo, settings, server_port=port, prevent_thread_lock=True, quiet=True, **launch_kw)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def cite_passage_with(word: str, answer: str):
    """A FakeLLM reply: `answer` citing every passage that contains `word`."""
    return lambda req: answer + " " + "".join(f"[{p.n}]" for p in req.passages if word in p.text) + "."


def replies(req) -> str:
    q = req.question.lower()
    if "zebra" in q:
        return cite_passage_with("forty zebra crossings", "Forty zebra crossings will be repainted")(req)
    if "shortage" in q:
        return cite_passage_with("shortage of infantry", "Shortages of infantry, artillery and air defense")(req)
    return cite_passage_with("Peskov", "Dmitry Peskov")(req)


def turns(sources_html: str) -> list[str]:
    """The questions of a session, as its sources panel lists them (newest first)."""
    return re.findall(r"<summary>(.*?)</summary>", sources_html)


@pytest.fixture
def page(sample_store, embedder, fake_llm, settings):
    fake_llm.default = replies
    with running(Engine(sample_store, embedder, fake_llm), settings) as url:
        yield url


@pytest.fixture
def editable_page(writable_store, embedder, fake_llm, settings):
    """As `page`, over a store of the test's own: its uploads and removals change it."""
    fake_llm.default = replies
    with running(Engine(writable_store, embedder, fake_llm), settings) as url:
        yield url


def message_text(message: dict) -> str:
    """Gradio 6 gives a message's content as typed parts."""
    content = message["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


def ask(client, question, **kw):
    return client.predict(question, [], api_name="/ask", **kw)


def test_page_answers_a_question_with_its_sources(page):
    from gradio_client import Client

    client = Client(page, verbose=False)
    history, box, sources, trace, plain = ask(client, QUESTION)
    assert box == ""
    assert [m["role"] for m in history] == ["user", "assistant"]
    reply = message_text(history[-1])
    assert "Dmitry Peskov" in reply and 'href="#nr-src-1-1"' in reply
    assert 'id="nr-src-1-1"' in sources and "The Washington Post" in sources
    assert "Peskov said Wednesday" in re.search(r"<mark>(.*?)</mark>", sources).group(1)
    assert "retrieval" in trace and "cosine" in trace
    assert plain.startswith("Dmitry Peskov [1].") and "Sources:\n[1] " in plain


def test_two_sessions_at_once_keep_their_own_history(sample_store, embedder, fake_llm, settings):
    """Both answers are generated at the same time (the fake waits for the other), each session sees only its own turns."""
    from gradio_client import Client

    both_inside = threading.Barrier(2, timeout=30)

    def reply(req):
        if req.purpose == "answer" and len(fake_llm.requests) <= 2:
            both_inside.wait()  # breaks (and the answer shows an error) unless the two run concurrently
        return replies(req)

    fake_llm.default = reply
    with running(Engine(sample_store, embedder, fake_llm), settings) as url:
        a, b = Client(url, verbose=False), Client(url, verbose=False)
        first = [a.submit(QUESTION, [], api_name="/ask"), b.submit(SHORTAGES, [], api_name="/ask")]
        (ha, *_), (hb, *_) = [job.result(timeout=120) for job in first]
        _, _, sources_a, _, _ = ask(a, "What did Peskov say about the meetings?")
        _, _, sources_b, _, _ = ask(b, "Which shortages did the article name first?")
    assert "Dmitry Peskov" in message_text(ha[-1]) and "Shortages" not in message_text(ha[-1])
    assert "Shortages of infantry" in message_text(hb[-1]) and "Peskov" not in message_text(hb[-1])
    assert not any("nr-error" in message_text(h[-1]) for h in (ha, hb))
    assert turns(sources_a) == ["2. What did Peskov say about the meetings?", f"1. {QUESTION}"]
    assert turns(sources_b) == ["2. Which shortages did the article name first?", f"1. {SHORTAGES}"]


class Broken:
    """A backend that loads but fails in the middle of its answer."""

    name = "broken"

    def stream(self, request):
        yield "Dmitry"
        raise RuntimeError("connection reset by peer")


def no_key(settings):
    raise ConfigError("the openai backend needs an API key: set OPENAI_API_KEY in .env, or NEWSRAG_LLM=embedded")


@pytest.mark.parametrize(
    "backend, message",
    [("needs-key", "set OPENAI_API_KEY in .env"), ("broken", "RuntimeError: connection reset by peer"), ("missing", "could not be loaded: ModuleNotFoundError")],
)
def test_a_failing_backend_shows_its_message_and_the_passages(backend, message, sample_store, embedder, fake_llm, settings):
    from gradio_client import Client

    def missing(settings):
        import newsrag_backend_that_is_not_installed  # noqa: F401

    llms = {"fake": (lambda s: fake_llm, "test double"), "needs-key": (no_key, "hosted"), "broken": (lambda s: Broken(), "fails"), "missing": (missing, "not installed")}
    with running(Engine(sample_store, embedder, fake_llm), settings, llms) as url:
        history, _, sources, trace, plain = ask(Client(url, verbose=False), QUESTION, backend=backend)
    reply = message_text(history[-1])
    assert "nr-error" in reply and message in reply and "Traceback" not in reply
    assert "Retrieved passages" in sources and "Peskov" in sources
    assert plain.startswith("The model could not answer:") and message in plain


def test_upload_is_checked_ingested_listed_answerable_and_removable(editable_page, tmp_path, settings):
    from gradio_client import Client, handle_file

    good = tmp_path / "Zebra crossings (draft).txt"
    good.write_text(ARTICLE)
    bad = tmp_path / "payload.exe"
    bad.write_text("MZ not an article")
    client = Client(editable_page, verbose=False)
    report, summary, table, pick, examples, status = client.predict([handle_file(good), handle_file(bad)], api_name="/add_files")
    assert "Added 1," in report and "failed 1" in report
    assert "payload.exe" in report and "not an article file" in report
    assert "3 articles" in summary and "3 articles" in status
    assert any(row[0] == "Zebra crossings return to Springfield" for row in table["data"])
    saved = list((settings.home / "uploads").iterdir())
    assert [p.name for p in saved] == [p.name for p in saved if p.name.startswith("Zebra_crossings_draft-") and p.suffix == ".txt"] and len(saved) == 1

    history, _, sources, _, _ = ask(client, "How many zebra crossings will Springfield repaint?")
    assert "Forty zebra crossings" in message_text(history[-1]) and "nr-cite" in message_text(history[-1])
    assert "<mark>Springfield will repaint forty zebra crossings" in sources

    article_id = next(row[4] for row in table["data"] if row[0].startswith("Zebra"))
    report, summary, table, *_ = client.predict(article_id, api_name="/remove")
    assert "Removed 1 article" in report and "2 articles" in summary
    assert not any(row[0].startswith("Zebra") for row in table["data"])


def test_the_page_never_shows_a_key_and_sends_no_share_link(sample_store, embedder, fake_llm, tmp_path):
    from conftest import make_settings

    secret = "sk-test-0123456789-do-not-show"
    settings = make_settings(tmp_path / "home", llm_api_key=secret, llm="openai")
    with running(Engine(sample_store, embedder, fake_llm), settings) as url:
        page = urllib.request.urlopen(url, timeout=30).read().decode()
        config = urllib.request.urlopen(url + "config", timeout=30).read().decode()
    assert "newsrag" in page and "an API key is set (hidden)" in config
    assert secret not in page and secret not in config
    assert "share_url" not in config or '"share_url":null' in config.replace(" ", "")


def test_login_is_required_when_auth_is_set(sample_store, embedder, fake_llm, tmp_path):
    from gradio_client import Client

    from conftest import make_settings

    settings = make_settings(tmp_path / "home", auth="reader:s3cret")
    fake_llm.default = replies
    with running(Engine(sample_store, embedder, fake_llm), settings) as url:
        with pytest.raises(Exception):
            Client(url, verbose=False)
        history, *_ = ask(Client(url, auth=("reader", "s3cret"), verbose=False), QUESTION)
    assert "Dmitry Peskov" in message_text(history[-1])


def test_auth_setting_must_be_user_colon_password(tmp_path):
    from conftest import make_settings
    from ui.app import auth_pair

    assert auth_pair(make_settings(tmp_path)) is None
    assert auth_pair(make_settings(tmp_path, auth="a:b:c")) == ("a", "b:c")
    for bad in ("nocolon", ":pw", "user:"):
        with pytest.raises(ConfigError, match="user:password"):
            auth_pair(make_settings(tmp_path, auth=bad))


def test_uploads_are_allow_listed_size_limited_and_renamed(tmp_path):
    from ui.corpus import sanitize_name, save_uploads

    assert sanitize_name("../../etc/passwd") == "passwd"
    assert sanitize_name("C:\\Users\\me\\Über Nacht.HTML") == "ber_Nacht.html"
    assert sanitize_name(".hidden.md") == "hidden.md"
    assert sanitize_name("<script>alert(1)</script>.txt") == "script.txt"  # the part after the last slash
    assert sanitize_name("a<b>c &d?.txt") == "a_b_c_d.txt"
    assert len(sanitize_name("x" * 300 + ".jsonl")) == 80
    src = tmp_path / "in"
    src.mkdir()
    (src / "a b.txt").write_text("same text")
    (src / "big.md").write_text("x" * 2000)
    (src / "evil.sh").write_text("rm -rf /")
    (src / "noext").write_text("text")
    dest = tmp_path / "uploads"
    saved = save_uploads([src / "a b.txt", src / "big.md", src / "evil.sh", src / "noext", src / "a b.txt"], dest, max_bytes=1000)
    assert [n for n, _ in saved.files] == ["a b.txt", "a b.txt"]
    assert saved.files[0][1] == saved.files[1][1] and saved.files[0][1].parent == dest
    assert saved.files[0][1].name.startswith("a_b-") and saved.files[0][1].read_text() == "same text"
    reasons = {f["path"]: f["reason"] for f in saved.failed}
    assert "over the 0 MB limit" in reasons["big.md"] or "MB limit" in reasons["big.md"]
    assert "not an article file (.sh)" in reasons["evil.sh"] and "no extension" in reasons["noext"]
    assert sorted(p.name for p in dest.iterdir()) == [saved.files[0][1].name]


def test_example_questions_come_from_the_corpus(sample_store):
    from ui.corpus import example_questions

    articles = sample_store.manifest.articles()
    sample = example_questions(articles)
    assert QUESTION in sample and len(sample) == 4
    other = [a.__class__(**{**a.__dict__, "path": "/x/new.txt", "title": "Zebra crossings return"}) for a in articles[:1]]
    mixed = example_questions(other + articles)
    assert mixed[0] == "What does the article “Zebra crossings return” report?" and len(mixed) == 4
    assert example_questions([]) == []


def passage(n=1, text="Peskov said Wednesday that the talks went well. They will meet again.") -> Passage:
    return Passage(n, "c1", "a1", "Talks <b>", "The Post", "2025-02-05", text, 0, len(text), score=0.03, dense_score=0.61, dense_rank=1)


def test_render_escapes_article_text_and_styles_each_kind_of_answer():
    from ui.html import answer_html, plain_text, sources_html, trace_html

    p = passage(text="<script>alert(1)</script> Peskov said Wednesday that the talks went well.")
    quote = "Peskov said Wednesday that the talks went well."
    c = Citation(1, 1, "a1", "Talks <b>", "The Post", "2025-02-05", quote, 0, 10)
    a = Answer("Who? <img src=x>", "Peskov <i>said</i> [1].", True, citations=(c,), passages=(p,), timings={"retrieval_s": 0.1},
               unsupported=(Unsupported("Peskov said.", "no passage says so", (1,)),), trace={"condensed": "Who is <Peskov>?"})
    html = answer_html(a, 3)
    assert "<i>" not in html and "&lt;i&gt;" in html and 'href="#nr-src-3-1"' in html
    assert "nr-warn" in html and "no passage says so" in html
    src = sources_html([a])
    assert "<script>" not in src and "&lt;script&gt;" in src and "<img" not in src and f"<mark>{quote}</mark>" in src
    assert "Talks &lt;b&gt;" in src and 'id="nr-src-1-1"' in src
    trace = trace_html(a)
    assert "0.610" in trace and "retrieval 0.10 s" in trace and "&lt;Peskov&gt;" in trace
    declined = Answer("Oil?", "The articles don't say.", False, passages=(p,))
    assert "nr-declined" in answer_html(declined, 1) and "Closest passages" in sources_html([declined])
    failed = Answer("Oil?", "", False, passages=(p,), error="server down")
    assert "nr-error" in answer_html(failed, 1) and "Retrieved passages" in sources_html([failed])
    assert plain_text(a).endswith("[1] Talks <b> — The Post, 2025-02-05: “" + quote + "”")
    two = sources_html([declined, a])
    assert two.index("2. Who?") < two.index("1. Oil?") and two.count(" open>") == 1


def test_backends_are_loaded_once_per_process(engine, settings):
    from ui.backends import Backends

    built = []

    def factory(s):
        built.append(s.llm_model)
        return Broken()

    backends = Backends(engine, settings, {"fake": (lambda s: engine.llm, ""), "other": (factory, "")})
    for _ in range(3):
        assert backends.load(("other", "m1")).name == "broken"
    backends.load(("other", "m2"))
    assert built == ["m1", "m2"]
    assert backends.get().key == ("embedded", "") and backends.load(("embedded", "")) is engine.llm
    with pytest.raises(ConfigError, match="choose one of: fake, other"):
        backends.get("nope")
    with pytest.raises(BackendError, match="RuntimeError: connection reset"):
        list(backends.get("other", "m1").stream(None))


def test_the_when_and_where_panel_sets_the_as_of_date_and_filters(page):
    """The page's date controls reach retrieval: as of a day before the sample articles, nothing is read;
    an outlet filter keeps only that outlet; a bad date is a message, not a traceback."""
    from gradio_client import Client

    client = Client(page, verbose=False)
    history, _, sources, trace, _ = ask(client, QUESTION, as_of="2020-01-01")
    assert "No passages" in sources or "not in the articles" in message_text(history[-1])
    assert "as of" in trace and "2020-01-01" in trace
    client = Client(page, verbose=False)
    history, _, sources, trace, _ = ask(client, QUESTION, outlets="The Washington Post")
    assert "The Washington Post" in sources and "; sources the washington post</td>" in trace
    client = Client(page, verbose=False)
    history, *_ = ask(client, QUESTION, since="not a date")
    assert "not a date" in message_text(history[-1]) and "YYYY-MM-DD" in message_text(history[-1])
