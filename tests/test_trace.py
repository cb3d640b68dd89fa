"""Answer.trace: how an answer was made, in the final Answer, the CLI and the JSON."""

import json

from rag.prompt import prompt_tokens
from core.types import Answer

QUESTION = "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?"


def cite_peskov(req):
    return "Dmitry Peskov " + "".join(f"[{p.n}]" for p in req.passages if "Peskov said Wednesday" in p.text) + "."


def test_the_final_streamed_answer_carries_the_trace(engine, fake_llm):
    fake_llm.default = cite_peskov
    s = engine.stream(QUESTION)
    items = [*s, s.answer]
    a = items[-1]
    assert isinstance(a, Answer) and all(isinstance(i, str) for i in items[:-1])
    t = a.trace
    assert t["standalone_query"] == QUESTION and t["gate"]["passed"] and t["model"] == "fake"
    assert t["prompt_tokens"] == prompt_tokens(fake_llm.requests[-1].messages) > 100
    assert set(t["timings"]) >= {"retrieval_s", "first_token_s", "total_s"}
    assert t["timings"]["retrieval_s"] <= t["timings"]["first_token_s"] <= t["timings"]["total_s"]
    assert len(t["passages"]) == len(a.passages)
    for row, p in zip(t["passages"], a.passages):
        assert (row["n"], row["fused_rank"], row["dense_rank"], row["keyword_rank"]) == (p.n, p.n, p.dense_rank, p.keyword_rank)
        assert row["dense_score"] == round(p.dense_score, 4) and row["fused_score"] == round(p.score, 5)
    (c,) = a.citations
    assert t["cited_passages"] == [c.passage] and t["passages"][c.passage - 1]["cited_as"] == [1]
    assert t["unsupported"] == 0
    json.dumps(a.to_dict())  # plain JSON types throughout


def test_a_declined_question_says_why_in_its_trace(engine, fake_llm):
    a = engine.answer("Who won the Champions League final last season?")
    assert not a.answerable and fake_llm.requests == []
    assert a.trace["gate"]["declined_by"] == "relevance" and not a.trace["gate"]["passed"]
    assert "Champions" in a.trace["gate"]["reason"] and "prompt_tokens" not in a.trace


def test_a_model_decline_is_traced(engine, fake_llm):
    fake_llm.queue("NOT IN THE ARTICLES")
    a = engine.answer("Will it rain in Kyiv this weekend?")
    assert not a.answerable and a.trace["gate"]["passed"] and a.trace["gate"]["declined_by"] == "model"


def _cli_env(monkeypatch, tmp_path, sample_store):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSRAG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEWSRAG_LLM", "fake")


def test_cli_ask_trace_and_json(monkeypatch, tmp_path, writable_store, capsys):
    from ui.cli import main

    _cli_env(monkeypatch, tmp_path, writable_store)
    assert main(["ask", QUESTION, "--trace"]) == 0
    out = capsys.readouterr().out
    assert "Trace:" in out and f"standalone query  {QUESTION}" in out and "prompt tokens" in out
    assert "dense rank/cosine" in out and "retrieval" in out
    assert main(["ask", QUESTION, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["trace"]["standalone_query"] == QUESTION and len(data["trace"]["passages"]) == len(data["passages"])
