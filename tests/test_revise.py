"""A flagged answer gets one second try: the model sees what the verifier found, and the answer
with fewer flagged sentences is the one the reader gets (the draft and its flags stay on record)."""

import json

import pytest

from core.settings import defaults
from rag.engine import Engine
from core.errors import BackendError
from ui.text import render_answer
from core.types import Answer
from ui.html import answer_html

TROOPS = "Will American troops be sent to enforce a peace deal?"
NO_TROOPS = "there will be no American troops"
DRAFT = "Yes, the Russian officials expressed a degree of optimism over the talks [1]."


def passage_with(text):
    """A reply citing the passage that holds `text` (its number as the model saw it)."""
    return lambda req: next(p.n for p in req.passages if text in p.text)


def no_troops(req):
    return f"No, {NO_TROOPS} [{passage_with(NO_TROOPS)(req)}]."


def test_a_flagged_answer_is_replaced_by_a_better_second_try(engine, fake_llm):
    fake_llm.queue(DRAFT)
    fake_llm.default = no_troops
    s = engine.stream(TROOPS)
    items = [*s, s.answer]
    a = items[-1]
    assert isinstance(a, Answer) and all(isinstance(i, str) for i in items[:-1])
    assert "".join(items[:-1]).startswith("Yes,")  # the reader saw the draft stream
    assert a.text.startswith("No, there will be no American troops") and a.unsupported == ()
    assert a.revision.kept and a.revision.draft.startswith("Yes,")
    (flag,) = a.revision.flagged
    assert flag.reason.startswith("it answers yes, but passage") and "no American troops" in flag.reason
    # The second request is the first chat continued: the draft as written, then the verifier's finding.
    first, second = fake_llm.requests
    assert second.purpose == "revise" and second.messages[: len(first.messages)] == first.messages
    assert second.messages[-2] == {"role": "assistant", "content": DRAFT}
    assert second.messages[-1]["role"] == "user" and flag.reason in second.messages[-1]["content"]
    assert NO_TROOPS in a.passages[a.citations[0].passage - 1].text
    assert a.trace["revision"]["kept"] and a.trace["revision"]["draft"] == a.revision.draft
    assert "revise_s" in a.timings and a.timings["revise_s"] <= a.timings["total_s"]
    json.dumps(a.to_dict())


def test_the_reader_is_told_the_answer_changed(engine, fake_llm):
    fake_llm.queue(DRAFT)
    fake_llm.default = no_troops
    a = engine.answer(TROOPS)
    cli = render_answer(a)
    assert cli.startswith("No, there will be no American troops") and "revised after checking" in cli and "“Yes, the Russian" in cli
    assert "nr-revised" in answer_html(a, 1) and "Revised after checking" in answer_html(a, 1)
    assert "revision          kept" in render_answer(a, trace=True)


@pytest.mark.parametrize(
    "second",
    [
        "Yes, the Russian officials were optimistic about Geneva [1].",  # still flagged (twice over)
        "NOT IN THE ARTICLES",  # a decline does not replace a draft
        "[1]",  # nor does a bare citation
        "The cited passage does not say that [1].",  # nor talk about the passages (RealTimeQA dev-small: a hurricane's name lost)
    ],
)
def test_a_second_try_no_better_leaves_the_draft_and_its_flags(engine, fake_llm, second):
    fake_llm.queue(DRAFT, second)
    a = engine.answer(TROOPS)
    assert a.text.startswith("Yes, the Russian officials") and len(a.unsupported) == 1
    assert a.revision is not None and not a.revision.kept and len(fake_llm.requests) == 2
    assert "second answer was no better" in render_answer(a)


def test_a_supported_answer_is_not_asked_again(engine, fake_llm):
    fake_llm.default = no_troops
    a = engine.answer(TROOPS)
    assert a.unsupported == () and a.revision is None and len(fake_llm.requests) == 1
    assert a.trace["revision"] is None


def test_revise_off_keeps_one_call(sample_store, embedder, fake_llm):
    fake_llm.queue(DRAFT)
    fake_llm.default = no_troops
    a = Engine(sample_store, embedder, fake_llm, settings=defaults(revise=False)).answer(TROOPS)
    assert a.text.startswith("Yes,") and len(a.unsupported) == 1 and a.revision is None and len(fake_llm.requests) == 1


class FailsOnSecondTry:
    name = "flaky"

    def __init__(self):
        self.calls = 0

    def stream(self, request):
        self.calls += 1
        if request.purpose == "revise":
            raise BackendError("cannot reach http://127.0.0.1:9/v1 (NEWSRAG_LLM_BASE_URL): is the server running?")
        yield DRAFT


def test_a_backend_failure_on_the_second_try_keeps_the_flagged_draft(engine):
    llm = FailsOnSecondTry()
    a = engine.answer(TROOPS, llm=llm)
    assert llm.calls == 2 and a.error is None and a.text.startswith("Yes,") and len(a.unsupported) == 1
    assert not a.revision.kept and a.revision.revised == ""


def test_the_extractive_backend_offers_no_second_try():
    """It would pick the same sentences again: its reply to a second try is empty, so its answer stands."""
    from core.models.base import GenerationRequest
    from core.models.extractive import ExtractiveLLM

    assert list(ExtractiveLLM().stream(GenerationRequest([], TROOPS, (), purpose="revise"))) == []


def test_the_qa_report_lists_second_tries(engine, fake_llm):
    from evaluation.qa import QARow, score_answer, summarize_qa
    from evaluation.report import qa_markdown

    fake_llm.queue(DRAFT)
    fake_llm.default = no_troops
    row = QARow("d06", TROOPS, ("no American troops",), "004_a8c840d12111fb8c.txt", False)
    s = summarize_qa([score_answer(row, engine.answer(TROOPS))])
    (r,) = s["revisions"]
    assert r["id"] == "d06" and r["kept"] and r["correct"] and r["draft"].startswith("Yes,") and s["flagged"] == []
    report = qa_markdown({**s, "dataset": "seed", "corpus": {}, "config": {"top_k": 4}, "retrieval": {"top_k": 4, "n": 0, "hits@1": 0, "hits@3": 0, "hits@4": 0, "hits@10": 0,
                                             "mrr@10": 0, "context_chars_mean": 0, "rows": []}})
    assert "Second tries (first answer flagged): 1, kept 1" in report and "d06 (kept, final correct)" in report
