"""Chat sessions: follow-ups are condensed into standalone questions before retrieval."""

import pytest

from core.settings import defaults
from rag.chat import Chat, clean_rewrite, heuristic_condense, needs_context
from core.models.fake import FakeLLM

FIRST = "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?"
FOLLOW_UP = "What did he say about the talks?"
STANDALONE = "What did the Kremlin spokesman Dmitry Peskov say about the talks?"
PESKOV = "Peskov said Wednesday"


def peskov_reply(req):
    if req.purpose == "condense":
        return STANDALONE
    return "Dmitry Peskov " + "".join(f"[{p.n}]" for p in req.passages if PESKOV in p.text) + "."


def has_peskov(answer):
    return any(PESKOV in p.text for p in answer.passages)


def test_a_follow_up_is_condensed_and_retrieves_the_right_article(engine, fake_llm):
    fake_llm.default = peskov_reply
    chat = Chat(engine)
    chat.ask(FIRST)
    a = chat.ask(FOLLOW_UP)
    condense = [r for r in fake_llm.requests if r.purpose == "condense"]
    assert len(condense) == 1 and FIRST in condense[0].messages[-1]["content"] and FOLLOW_UP in condense[0].messages[-1]["content"]
    assert fake_llm.requests[-1].question == STANDALONE  # the model answers the standalone question
    assert a.question == FOLLOW_UP and a.trace["standalone_query"] == STANDALONE and a.trace["condense"] == "llm"
    assert has_peskov(a) and a.citations and PESKOV in a.passages[a.citations[0].passage - 1].text
    assert [m for m, _ in chat.history] == [FIRST, FOLLOW_UP]


def test_a_standalone_message_is_not_rewritten(engine, fake_llm):
    fake_llm.default = peskov_reply
    chat = Chat(engine)
    chat.ask(FIRST)
    a = chat.ask("Which Ukrainian ministry reported the missile strike on a residential building on Telegram?")
    assert all(r.purpose != "condense" for r in fake_llm.requests)
    assert a.trace["condense"] == "standalone" and a.trace["standalone_query"] == a.question


@pytest.mark.parametrize("rewrite", ["", "NOT IN THE ARTICLES", "Dmitry Peskov [1]."])
def test_an_unusable_rewrite_falls_back_to_the_heuristic(engine, fake_llm, rewrite):
    fake_llm.default = lambda req: rewrite if req.purpose == "condense" else peskov_reply(req)
    chat = Chat(engine)
    chat.ask(FIRST)
    a = chat.ask(FOLLOW_UP)
    assert a.trace["condense"] == "heuristic" and a.trace["standalone_query"] == heuristic_condense(FOLLOW_UP, FIRST)
    assert has_peskov(a)


def test_the_extractive_backend_condenses_without_a_model(engine):
    extractive = FakeLLM(default=peskov_reply)
    extractive.name = "extractive"
    chat = Chat(engine, llm=extractive)
    chat.ask(FIRST)
    a = chat.ask(FOLLOW_UP)
    assert [r.purpose for r in extractive.requests] == ["answer", "answer"]
    assert a.trace["condense"] == "heuristic" and FIRST in a.trace["standalone_query"] and has_peskov(a)


def test_history_is_bounded_by_tokens(engine, fake_llm):
    fake_llm.default = peskov_reply
    chat = Chat(engine, max_history_tokens=40)  # about one turn
    for q in (FIRST, "Which newspaper reported that Trump was pressuring Ukraine to concede territory?", FOLLOW_UP):
        chat.ask(q)
    prompt = [r for r in fake_llm.requests if r.purpose == "condense"][-1].messages[-1]["content"]
    assert FIRST not in prompt and "newspaper" in prompt
    assert len(chat.history) <= 2 and chat.history[-1][0] == FOLLOW_UP
    chat.reset()
    assert chat.history == []


def test_one_shot_answers_stay_stateless(engine, fake_llm):
    fake_llm.default = peskov_reply
    engine.answer(FIRST)
    a = engine.answer(FOLLOW_UP)
    assert all(r.purpose != "condense" for r in fake_llm.requests) and a.trace["standalone_query"] == FOLLOW_UP


def test_streaming_a_follow_up_ends_with_the_answer(engine, fake_llm):
    fake_llm.default = peskov_reply
    chat = Chat(engine)
    chat.ask(FIRST)
    s = chat.stream(FOLLOW_UP)
    items = [*s, s.answer]
    assert all(isinstance(i, str) for i in items[:-1]) and items[-1].trace["condense"] == "llm"
    assert items[-1].timings["condense_s"] <= items[-1].timings["first_token_s"] <= items[-1].timings["total_s"]


@pytest.mark.parametrize(
    "message, follow_up",
    [
        ("And what did the Kremlin say about it?", True),
        ("What did the Kremlin say about it?", True),
        ("What did he say?", True),
        ("Where were they held?", True),
        ("Why?", True),
        ("Who reported that?", True),
        ("How many were injured there?", True),
        ("What did Trump threaten to hit Russia with if it did not make a deal to end the conflict?", False),
        ("Which newspaper reported that Trump was pressuring Ukraine to concede territory?", False),
        ("Will there be American troops?", False),
        ("Peskov?", False),
    ],
)
def test_needs_context(message, follow_up):
    assert needs_context(message) is follow_up


def test_clean_rewrite():
    assert clean_rewrite('Standalone question: "What did Peskov say?"\nExtra line', "What did he say?") == "What did Peskov say?"
    assert clean_rewrite("   ", "q") is None


@pytest.mark.slow
def test_a_follow_up_with_the_embedded_llm(sample_store, embedder, embedded_llm):
    from rag.engine import Engine

    chat = Chat(Engine(sample_store, embedder, embedded_llm, settings=defaults(llm_max_tokens=60)))
    first = chat.ask(FIRST)
    assert "Peskov" in first.text
    a = chat.ask(FOLLOW_UP)
    assert a.trace["condense"] == "llm", a.trace
    assert "Peskov" in a.trace["standalone_query"] or "Kremlin" in a.trace["standalone_query"], a.trace["standalone_query"]
    assert has_peskov(a)
