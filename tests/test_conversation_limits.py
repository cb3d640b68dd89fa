"""The API's limits hold for the whole conversation, not only its last message: an earlier turn
over NEWSRAG_MAX_QUESTION_CHARS is refused before any work, earlier turns beyond
NEWSRAG_CHAT_HISTORY_TOKENS are dropped (and the trace says so), the rewritten question stays
within the limit, and the per-key queue share cannot be multiplied with OpenAI's `user` field."""

from __future__ import annotations

import threading
import time

import openai
import pytest

from conftest import make_settings
from core.models.fake import FakeLLM
from rag.chat import Chat
from rag.engine import Engine
from tests.servers import api_server
from ui import openai_format as fmt

QUESTION = "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?"


def client(url: str, key: str = "k1", timeout: float = 60) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=timeout)


def test_an_earlier_turn_of_a_megabyte_is_refused_before_any_model_work(sample_store, embedder, fake_llm, tmp_path):
    settings = make_settings(tmp_path / "home", api_keys="k1")
    huge = "Tell me everything about the talks. " * 30_000  # about 1 MB
    with api_server(Engine(sample_store, embedder, fake_llm), settings) as url:
        c = client(url, timeout=30)  # a hang guard: the refusal comes before the model
        with pytest.raises(openai.BadRequestError) as e:
            c.chat.completions.create(model="newsrag", messages=[
                {"role": "user", "content": huge},
                {"role": "assistant", "content": "The articles don't say."},
                {"role": "user", "content": "And what did he say about it?"},
            ])
        body = e.value.body
        assert e.value.status_code == 400 and body["code"] == "question_too_long"
        assert "message 1 (an earlier question)" in body["message"] and "NEWSRAG_MAX_QUESTION_CHARS" in body["message"]
        with pytest.raises(openai.BadRequestError) as e:  # an earlier answer (as the client claims it) is held to it too
            c.chat.completions.create(model="newsrag", messages=[
                {"role": "user", "content": QUESTION},
                {"role": "assistant", "content": huge},
                {"role": "user", "content": "And what did he say about it?"},
            ])
        assert "message 2 (an earlier answer)" in e.value.body["message"]
    assert fake_llm.requests == [], "the model was never asked (no condense, no answer)"


def test_an_earlier_answer_is_measured_without_its_sources_list(sample_store, embedder, fake_llm, tmp_path):
    """What reaches the model of an earlier reply is its answer: a long Sources list does not count."""
    fake_llm.default = "Dmitry Peskov [1]."
    settings = make_settings(tmp_path / "home", max_question_chars=300)
    sources = fmt.SOURCES_HEADING + "\n".join(f"[{i}] A long title of an article — Reuters, 2026-02-01 <https://example.com/{i}>" for i in range(1, 9))
    with api_server(Engine(sample_store, embedder, fake_llm), settings) as url:
        r = client(url).chat.completions.create(model="newsrag", messages=[
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": "Dmitry Peskov [1] spoke about the meetings." + sources},
            {"role": "user", "content": "What did he say about the talks?"},
        ])
    assert r.choices[0].message.content.startswith("Dmitry Peskov")


def conversation(n_earlier: int) -> list[dict[str, str]]:
    messages = []
    for i in range(n_earlier):
        messages += [{"role": "user", "content": f"Earlier question number {i} about the Abu Dhabi meetings?"},
                     {"role": "assistant", "content": f"Earlier answer number {i} [1]."}]
    return messages + [{"role": "user", "content": "And what did he say about it?"}]


def test_earlier_turns_beyond_the_token_budget_are_dropped_oldest_first_and_the_trace_says_so(sample_store, embedder, fake_llm, tmp_path):
    fake_llm.default = lambda req: "What did Dmitry Peskov say about the Abu Dhabi meetings?" if req.purpose == "condense" else "Peskov [1]."
    engine = Engine(sample_store, embedder, fake_llm, settings=make_settings(tmp_path / "home", chat_history_tokens=60))
    chat, question = fmt.chat_from_messages(engine, conversation(9))
    a = chat.ask(question)
    kept = a.trace["history"]["turns_kept"]
    assert a.trace["history"] == {"turns_given": 9, "turns_kept": kept, "dropped": 9 - kept} and 1 <= kept < 9
    prompt = [r for r in fake_llm.requests if r.purpose == "condense"][0].messages[-1]["content"]
    assert "Earlier question number 8" in prompt, "the newest earlier turn is read"
    assert "Earlier question number 0 " not in prompt, "the oldest is dropped"
    assert sum(f"Earlier question number {i} " in prompt for i in range(9)) == kept


def test_a_session_counts_the_turns_it_dropped(sample_store, embedder, fake_llm, tmp_path):
    fake_llm.default = "Peskov [1]."
    chat = Chat(Engine(sample_store, embedder, fake_llm, settings=make_settings(tmp_path / "home", chat_history_tokens=30)))
    for i in range(4):
        a = chat.ask(f"Which newspaper reported on the Abu Dhabi meetings, part {i}?")
    assert a.trace["history"]["turns_given"] == 3 and a.trace["history"]["dropped"] == 3 - a.trace["history"]["turns_kept"]
    assert a.trace["history"]["dropped"] >= 1


def test_the_rewritten_question_stays_within_the_limit(sample_store, embedder, tmp_path):
    """A rewrite (the model's, or the heuristic's: the message plus the previous question) never
    grows past NEWSRAG_MAX_QUESTION_CHARS."""
    long_rewrite = "What did Dmitry Peskov say " + "about the talks " * 40 + "?"
    llm = FakeLLM(default=lambda req: long_rewrite if req.purpose == "condense" else "Peskov [1].")
    settings = make_settings(tmp_path / "home", max_question_chars=120)
    chat = Chat(Engine(sample_store, embedder, llm, settings=settings))
    chat.ask("Who is the Kremlin spokesman quoted about the meetings that were held in Abu Dhabi last week by the delegations?")
    a = chat.ask("And what did he say about it?")
    assert a.trace["condense"] == "heuristic", "the over-long rewrite is not used"
    assert len(a.trace["standalone_query"]) <= 120 and a.trace["standalone_query"].startswith("And what did he say about it?")


def test_forty_user_fields_do_not_buy_forty_places_in_the_queue(sample_store, embedder, fake_llm, tmp_path):
    gate = threading.Event()

    def slow(req):
        gate.wait(60)
        return "Dmitry Peskov [1]."

    fake_llm.default = slow
    settings = make_settings(tmp_path / "home", api_keys="k1", concurrency=1, max_session_queue=2, max_queue=64)
    results: list[object] = []
    lock = threading.Lock()
    with api_server(Engine(sample_store, embedder, fake_llm), settings) as url:
        c = client(url)

        def ask(i: int) -> None:
            try:
                c.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": QUESTION}], user=f"person-{i}")
                outcome: object = 200
            except openai.RateLimitError as e:
                outcome = e
            except Exception as e:  # noqa: BLE001 - counted, and shown if the assertion fails
                outcome = e
            with lock:
                results.append(outcome)

        threads = [threading.Thread(target=ask, args=(i,), daemon=True) for i in range(40)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60  # a hang guard: the refused come back while the admitted wait on the gate
        while len(results) < 40 - settings.max_session_queue and time.monotonic() < deadline:
            time.sleep(0.05)
        gate.set()
        for t in threads:
            t.join(60)
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert results.count(200) == settings.max_session_queue and len(refused) == 40 - settings.max_session_queue, results
    assert all("NEWSRAG_MAX_SESSION_QUEUE" in r.body["message"] for r in refused)
