"""answer() end to end: real embedder, real Chroma, a recording FakeLLM."""

from rag.engine import DECLINED, Engine
from core.errors import BackendError
from core.types import Answer


def test_right_passage_reaches_the_prompt_and_citations_map_back(engine, fake_llm):
    # The fake cites the passage that holds the answer, by the number the prompt gave it.
    fake_llm.default = lambda req: "Dmitry Peskov was quoted " + "".join(
        f"[{p.n}]" for p in req.passages if "Peskov said Wednesday" in p.text
    ) + ". Trump threatened tariffs [99]."
    a = engine.answer("Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?")
    assert "Kremlin spokesman Dmitry Peskov said Wednesday" in fake_llm.last_prompt
    assert a.answerable and a.text == "Dmitry Peskov was quoted [1]. Trump threatened tariffs."
    assert a.dropped_citations == (99,)
    (c,) = a.citations
    assert c.n == 1 and "Peskov said Wednesday" in a.passages[c.passage - 1].text
    assert c.title.startswith("Ukraine sees ‘progress’") and c.source == "The Washington Post" and c.date == "2026-01-28"
    assert a.passages[c.passage - 1].text.count(c.quote) == 1


def test_quote_is_the_sentence_that_supports_the_claim(engine, fake_llm):
    fake_llm.default = lambda req: next(
        f"Dmitry Peskov [{p.n}]." for p in req.passages if "Peskov said Wednesday" in p.text
    )
    a = engine.answer("Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?")
    assert "Kremlin spokesman Dmitry Peskov said Wednesday" in a.citations[0].quote
    art = open(a.citations[0].path).read()
    assert art[a.citations[0].start : a.citations[0].end] == a.citations[0].quote


def test_made_up_citation_numbers_are_dropped(engine, fake_llm):
    fake_llm.queue("Peskov [9].")
    a = engine.answer("Who is the Kremlin spokesman?")
    assert a.citations == () and a.dropped_citations == (9,) and a.text == "Peskov."


def test_model_decline_becomes_a_fixed_message_with_passages(engine, fake_llm):
    fake_llm.queue("NOT IN THE ARTICLES")
    a = engine.answer("What did the Kremlin say about the talks?")
    assert not a.answerable and a.text == DECLINED and a.passages


def test_irrelevant_question_is_declined_without_calling_the_model(engine, fake_llm):
    a = engine.answer("What is the current price of Brent crude oil?")
    assert not a.answerable and fake_llm.requests == []


def test_stream_yields_pieces_then_the_answer(engine, fake_llm):
    fake_llm.queue("Peskov was quoted [1].")
    s = engine.stream("Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?")
    items = [*s, s.answer]
    assert isinstance(items[-1], Answer)
    assert "".join(i for i in items[:-1]) == "Peskov was quoted [1]."
    assert len(items) > 2 and items[-1].timings["first_token_s"] <= items[-1].timings["total_s"]


class DeadLLM:
    name = "dead"

    def stream(self, request):
        raise BackendError("cannot reach http://127.0.0.1:9/v1 (NEWSRAG_LLM_BASE_URL): is the server running?")
        yield ""


def test_dead_backend_gives_the_fix_and_keeps_the_passages(sample_store, embedder):
    a = Engine(sample_store, embedder, DeadLLM()).answer("Who is the Kremlin spokesman?")
    assert a.error.startswith("cannot reach http://127.0.0.1:9/v1") and a.passages and not a.answerable


def test_public_api_accepts_an_engine_and_an_llm(engine):
    from rag import answer
    from core.models.fake import FakeLLM

    other = FakeLLM(["Peskov [1]."])
    a = answer("Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?", engine=engine, llm=other)
    assert a.model == "fake" and len(other.requests) == 1 and a.citations


def test_a_stream_holds_the_passages_before_the_model_is_called(engine, fake_llm):
    """Sources can be shown at once: retrieval has run, generation has not started."""
    fake_llm.queue("Peskov was quoted [1].")
    s = engine.stream("Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?")
    assert s.passages and not s.done and fake_llm.requests == []
    assert "Peskov" in "".join(s)
    # what the model read: the question's sentences of those same passages
    assert s.answer.passages and {p.chunk_id for p in s.answer.passages} <= {p.chunk_id for p in s.passages}
