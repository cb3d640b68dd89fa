"""A story answer through `newsrag serve`, used with the official `openai` client on 127.0.0.1: the
`newsrag` extras carry the answer's `mode` and its `timeline` (each event's day, sentence, outlets and
cited passage), and a request may choose the mode with `"newsrag": {"mode": ...}`.

The corpus is tests/test_stories.py's: one flood story over three weeks from two outlets, and one
unrelated council story.
"""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from conftest import ingest_opts, make_settings
from core.models.fake import FakeLLM
from ingest import ingest
from rag.engine import Engine
from tests.servers import api_server
from tests.test_stories import ARTICLES, AS_OF, QUESTION
from ui import openai_format as fmt

FACT = "How many people have the Riverside floods killed?"  # a factoid question about the same story


def write_flood_corpus(folder: Path) -> Path:
    """tests/test_stories.py's articles as files: headline, byline with the outlet, date, body."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (title, outlet, day, body) in ARTICLES.items():
        (folder / name).write_text(f"{title}\n\nBy Staff, {outlet}\n{day}\n\n{body}\n")
    return folder


def overview(req) -> str:
    """FakeLLM: an overview citing the first and the last passage it was given."""
    return f"Floods hit Riverside and the toll rose [1][{len(req.passages)}]."


@pytest.fixture
def flood_api(tmp_path, store, embedder):
    assert ingest([write_flood_corpus(tmp_path / "news")], store, embedder, ingest_opts()).ok
    settings = make_settings(tmp_path / "home", as_of=AS_OF)  # the API has no as-of field: the server's is the corpus's "today"
    engine = Engine(store, embedder, FakeLLM(default=overview), settings=settings)
    with api_server(engine, settings) as url:
        yield url, engine


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=60)


def check_timeline(extras: dict, engine: Engine) -> None:
    events = extras["timeline"]
    assert extras["mode"] == "timeline" and len(events) >= 3, extras
    days = [e["date"] for e in events]
    assert days == sorted(days) and days[-1] == "2026-03-16"
    articles = {a.id: a for a in engine.store.manifest.articles()}
    for e in events:
        assert set(e) >= {"date", "text", "outlets", "citations"} and e["outlets"], e
        (cited,) = e["citations"]
        assert {"url", "title", "date", "quote"} <= set(cited)
        article = articles[cited["article_id"]]
        assert cited["quote"] == e["text"] and cited["title"] == article.title and cited["date"][:10] == e["date"]
        assert article.source in e["outlets"] and e["text"] in Path(article.path).read_text()
    assert not any("library" in e["text"] for e in events)  # the unrelated story stays out


def test_a_story_question_gets_its_timeline_in_the_extras(flood_api):
    url, engine = flood_api
    r = client(url).chat.completions.create(model="newsrag", messages=[{"role": "user", "content": QUESTION}])
    extras = r.model_extra["newsrag"]
    check_timeline(extras, engine)
    assert r.choices[0].message.content.startswith("Floods hit Riverside")


def test_a_request_chooses_the_mode_streamed_or_not(flood_api):
    url, engine = flood_api
    ask = dict(model="newsrag", messages=[{"role": "user", "content": FACT}])
    plain = client(url).chat.completions.create(**ask)
    assert plain.model_extra["newsrag"]["mode"] == "factoid" and plain.model_extra["newsrag"]["timeline"] == []

    chunks = list(client(url).chat.completions.create(**ask, stream=True, extra_body={"newsrag": {"mode": "timeline"}}))
    check_timeline(chunks[-1].model_extra["newsrag"], engine)  # the last chunk carries the extras

    story = client(url).chat.completions.create(model="newsrag", messages=[{"role": "user", "content": QUESTION}],
                                                extra_body={"newsrag": {"mode": "factoid"}})
    assert story.model_extra["newsrag"]["mode"] == "factoid" and story.model_extra["newsrag"]["timeline"] == []
    auto = client(url).chat.completions.create(**ask, extra_body={"newsrag": {"mode": "auto"}})
    assert auto.model_extra["newsrag"]["mode"] == "factoid"


def test_an_unknown_mode_is_refused_with_the_choices(flood_api):
    url, _ = flood_api
    with pytest.raises(openai.BadRequestError) as e:
        client(url).chat.completions.create(model="newsrag", messages=[{"role": "user", "content": QUESTION}],
                                            extra_body={"newsrag": {"mode": "story"}})
    assert e.value.body["code"] == "invalid_mode"
    assert "'auto', 'factoid', 'timeline'" in e.value.body["message"] and "'story'" in e.value.body["message"]


def test_requested_mode_reads_the_newsrag_object():
    modes = ("factoid", "timeline")
    assert fmt.requested_mode(None, modes) is None and fmt.requested_mode({"temperature": 0}, modes) is None
    assert fmt.requested_mode({"newsrag": {"mode": "auto"}}, modes) is None
    assert fmt.requested_mode({"newsrag": {"mode": "timeline"}}, modes) == "timeline"
    for bad in ({"newsrag": {"mode": "Timeline"}}, {"newsrag": "timeline"}, {"newsrag": {"mode": ["timeline"]}}):
        with pytest.raises(ValueError):
            fmt.requested_mode(bad, modes)
