"""`newsrag serve`: the OpenAI-compatible API, used through the official `openai` client."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import openai
import pytest

from conftest import make_settings
from rag.engine import Engine
from tests.servers import api_server

QUESTION = "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?"
FOLLOW_UP = "What did he say about the talks?"
REWRITE = "What did Dmitry Peskov say about the Abu Dhabi talks?"
PESKOV_FILE = "004_a8c840d12111fb8c.txt"


def replies(req) -> str:
    """FakeLLM: condense follow-ups about 'he' to Peskov; answer citing the passages that name Peskov."""
    if req.purpose == "condense":
        said = "\n".join(m["content"] for m in req.messages)
        return REWRITE if "Peskov" in said and "Abu Dhabi" in said else "Who is he?"
    cited = [p.n for p in req.passages if "Peskov" in p.text]
    return "Dmitry Peskov " + "".join(f"[{n}]" for n in reversed(cited)) + " spoke about the meetings." if cited else "The articles don't say."


@pytest.fixture
def api(sample_store, embedder, fake_llm, tmp_path):
    fake_llm.default = replies
    settings = make_settings(tmp_path / "home", api_keys="k-right,k-other", max_question_chars=300)
    with api_server(Engine(sample_store, embedder, fake_llm), settings) as url:
        yield url


def client(url: str, key: str = "k-right") -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=60)


def check_cited(content: str, citations: list[dict], extras: dict) -> None:
    assert content.startswith("Dmitry Peskov [1]"), content
    assert "\n\nSources:\n[1] " in content
    assert citations and citations[0]["n"] == 1
    first = citations[0]
    assert {"title", "source", "date", "url", "quote"} <= set(first)
    assert "Peskov" in first["quote"] and first["title"] and first["date"]
    assert first["title"] in content
    assert extras["answerable"] is True and extras["unsupported"] == [] and "freshness" in extras


def test_models_lists_newsrag(api):
    assert [m.id for m in client(api).models.list()] == ["newsrag"]


def test_a_question_answered_with_citations(api):
    r = client(api).chat.completions.create(model="newsrag", messages=[{"role": "user", "content": QUESTION}])
    extra = r.model_extra or {}
    check_cited(r.choices[0].message.content, extra["citations"], extra["newsrag"])
    assert [c["n"] for c in extra["citations"]] == list(range(1, len(extra["citations"]) + 1))


def test_a_streamed_question_arrives_in_chunks_and_ends_with_citations(api):
    chunks = list(client(api).chat.completions.create(model="newsrag", messages=[{"role": "user", "content": QUESTION}], stream=True))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    texts = [c.choices[0].delta.content or "" for c in chunks]
    assert sum(1 for t in texts if t) >= 3, texts  # word by word, not one block
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    check_cited("".join(texts), last.model_extra["citations"], last.model_extra["newsrag"])


def test_the_stream_ends_with_done(api):
    req = urllib.request.Request(
        api + "/chat/completions", method="POST",
        data=json.dumps({"model": "newsrag", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}).encode(),
        headers={"Authorization": "Bearer k-other", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = [line for line in resp.read().decode().split("\n\n") if line]
    assert events[-1] == "data: [DONE]" and all(e.startswith("data: ") for e in events)


@pytest.mark.parametrize("stream", [False, True])
def test_a_follow_up_is_resolved_from_the_history(api, fake_llm, stream):
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": "Dmitry Peskov [1] spoke about the meetings.\n\nSources:\n[1] Some title — Reuters, 2026-02-01"},
        {"role": "user", "content": FOLLOW_UP},
    ]
    r = client(api).chat.completions.create(model="newsrag", messages=messages, stream=stream)
    if stream:
        chunks = list(r)
        content, extra = "".join(c.choices[0].delta.content or "" for c in chunks), chunks[-1].model_extra
    else:
        content, extra = r.choices[0].message.content, r.model_extra
    condense = [q for q in fake_llm.requests if q.purpose == "condense"]
    assert condense and QUESTION in condense[-1].messages[-1]["content"], "the earlier turn is the chat's history"
    assert fake_llm.requests[-1].question == REWRITE, "retrieval and the answer use the rewritten question"
    assert content.startswith("Dmitry Peskov [1]") and extra["newsrag"]["answerable"]


def test_a_wrong_key_is_refused_in_openai_error_shape(api):
    with pytest.raises(openai.AuthenticationError) as e:
        client(api, key="k-wrong").chat.completions.create(model="newsrag", messages=[{"role": "user", "content": QUESTION}])
    assert e.value.status_code == 401
    err = e.value.body
    assert err["type"] == "invalid_request_error" and err["code"] == "invalid_api_key"
    assert "NEWSRAG_API_KEYS" in err["message"] and "Authorization: Bearer" in err["message"]
    with pytest.raises(urllib.error.HTTPError) as raw:  # no key at all, without the openai client
        urllib.request.urlopen(api + "/models", timeout=30)
    assert raw.value.code == 401 and set(json.loads(raw.value.read())["error"]) >= {"message", "type", "code"}


def test_an_over_long_question_is_refused_naming_the_limit(api, fake_llm):
    with pytest.raises(openai.BadRequestError) as e:
        client(api).chat.completions.create(model="newsrag", messages=[{"role": "user", "content": "why? " * 100}])
    assert e.value.status_code == 400 and e.value.body["code"] == "question_too_long"
    assert "NEWSRAG_MAX_QUESTION_CHARS" in e.value.body["message"] and "300" in e.value.body["message"]
    assert fake_llm.requests == [], "refused before any work"


def test_bad_requests_say_what_to_send(api):
    c = client(api)
    with pytest.raises(openai.NotFoundError) as e:
        c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    assert 'use model "newsrag"' in e.value.body["message"]
    with pytest.raises(openai.BadRequestError) as e:
        c.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "x"}])
    assert e.value.body["code"] == "no_question"
    with pytest.raises(openai.BadRequestError) as e:
        c.chat.completions.create(model="newsrag", messages=[])
    assert "messages" in e.value.body["message"]


def test_a_full_queue_refuses_new_questions_and_keeps_answering(sample_store, embedder, fake_llm, tmp_path):
    """One worker held busy; the per-client and total bounds refuse with 429, then all is served again."""
    gate = threading.Event()

    def slow(req):
        gate.wait(60)
        return replies(req)

    fake_llm.default = slow
    settings = make_settings(tmp_path / "home", concurrency=1, max_session_queue=1, max_queue=2, api_keys="k1,k2,k3")
    ask = {"model": "newsrag", "messages": [{"role": "user", "content": QUESTION}]}
    with api_server(Engine(sample_store, embedder, fake_llm), settings) as url:
        c = client(url, "k1")
        first = threading.Thread(target=lambda: c.chat.completions.create(**ask), daemon=True)
        first.start()
        _wait_for(lambda: fake_llm.requests)
        with pytest.raises(openai.RateLimitError) as e:  # the same key asks again, whatever `user` it sends
            c.chat.completions.create(**ask, user="someone-else")
        assert "NEWSRAG_MAX_SESSION_QUEUE" in e.value.body["message"]
        assert [m.id for m in c.models.list()] == ["newsrag"], "the event loop still answers while the worker is busy"
        carol = threading.Thread(target=lambda: client(url, "k2").chat.completions.create(**ask), daemon=True)
        carol.start()  # another key: admitted, 2 of 2 in all
        _wait_for(lambda: len(fake_llm.requests) >= 1 and carol.is_alive())
        time.sleep(1.0)  # carol's request reaches the queue (no timing is asserted)
        with pytest.raises(openai.RateLimitError) as e:  # a third key: the total bound is reached
            client(url, "k3").chat.completions.create(**ask)
        assert "NEWSRAG_MAX_QUEUE" in e.value.body["message"]
        gate.set()
        first.join(60)
        carol.join(60)
        assert c.chat.completions.create(**ask).choices[0].message.content.startswith("Dmitry Peskov")


def _wait_for(cond, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_newsrag_serve_runs_as_a_command(sample_store, tmp_path):
    """`newsrag serve --port N` in a subprocess (extractive answers: no model to load), bound to 127.0.0.1."""
    import os
    import subprocess
    import sys
    import time

    from tests.servers import free_port

    port = free_port()
    env = dict(os.environ, NEWSRAG_HOME=str(sample_store.home), NEWSRAG_LLM="extractive", NEWSRAG_API_KEYS="k-cli",
               PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")])))
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--port", str(port), "--no-sample"],
                            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 120
        while True:
            try:
                assert [m.id for m in client(url, "k-cli").models.list()] == ["newsrag"]
                break
            except openai.APIConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-2000:]
                time.sleep(0.5)
        r = client(url, "k-cli").chat.completions.create(model="newsrag", messages=[{"role": "user", "content": QUESTION}])
        assert "Peskov" in r.choices[0].message.content and r.model_extra["citations"]
        assert f"newsrag API at http://127.0.0.1:{port}/v1" in (tmp_path / "serve.log").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_a_client_that_gives_up_costs_the_model_nothing_more(sample_store, embedder, fake_llm, tmp_path):
    gate = threading.Event()

    def slow(req):
        gate.wait(60)
        return replies(req)

    fake_llm.default = slow
    settings = make_settings(tmp_path / "home", concurrency=1, api_keys="k1,k2,k3")
    ask = {"model": "newsrag", "messages": [{"role": "user", "content": QUESTION}]}
    with api_server(Engine(sample_store, embedder, fake_llm), settings) as url:
        impatient = [openai.OpenAI(base_url=url, api_key=k, max_retries=0, timeout=2) for k in ("k1", "k2")]
        for c in impatient:  # the first is answering, the second waits behind it; both give up
            with pytest.raises(openai.APITimeoutError):
                c.chat.completions.create(**ask)
        time.sleep(1.5)  # the server notices within a second
        gate.set()
        r = client(url, "k3").chat.completions.create(**ask)
        assert r.choices[0].message.content.startswith("Dmitry Peskov")
    assert len([q for q in fake_llm.requests if q.purpose == "answer"]) == 2, "the abandoned waiting question never reached the model"
