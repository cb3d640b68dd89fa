"""The real embedded LLM answers questions of data/eval/sample_qa.jsonl with the right citation (slow)."""

import pytest

from evaluation.qa import contains_answer
from rag.engine import Engine


@pytest.mark.slow
@pytest.mark.parametrize("qid", ["s01", "s04", "s08"])  # from both articles; each first answer right and unflagged
def test_embedded_llm_answers_with_the_right_citation(qid, sample_qa, sample_store, embedder, embedded_llm):
    row = next(r for r in sample_qa if r.id == qid)
    a = Engine(sample_store, embedder, embedded_llm).answer(row.question)
    assert a.answerable, a.text
    assert contains_answer(a.text, row.answer_any), (a.text, a.unsupported, a.revision)
    assert a.citations and all(c.path.endswith(row.source) for c in a.citations), a.citations
    assert a.unsupported == (), a.unsupported
