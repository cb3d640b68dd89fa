"""Sentence-level context selection (rag/context.py): less to read, spans still exact."""

from __future__ import annotations

from core.models.fake import FakeLLM
from core.text import sentence_spans
from core.types import Passage
from rag.context import ContextConfig, select_context
from core.settings import defaults
from rag.engine import Engine

ARTICLE = (
    "The storm reached the coast on Monday. Officials closed three bridges before noon. "
    "The harbour master, Elena Ruiz, said 42 boats were moved inland. Schools stayed open. "
    "Power returned to most homes by evening. The mayor thanked volunteers at a press conference."
)


def _sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for part in text.split(". "):
        end = start + len(part) + (0 if part.endswith(".") else 1)
        spans.append((start, end))
        start = end + 1
    return spans


def passage(n: int, spans: list[tuple[int, int]], article: str = ARTICLE, title: str = "Storm") -> Passage:
    text = " ".join(article[s:e] for s, e in spans)
    return Passage(n, f"c{n}", f"a{n}", title, "Outlet", "2025-03-02", text, spans[0][0], spans[-1][1], 1.0 / n,
                   sentences=tuple(spans))


def test_keeps_the_answering_sentence_and_exact_spans():
    spans = _sentences(ARTICLE)
    p = passage(1, spans)
    other = passage(2, spans[:2], title="Bridges")
    kept, info = select_context("How many boats did the harbour master move?", [p, other], ContextConfig(40, 1, 4))
    assert kept[0].n == 1 and "42 boats" in kept[0].text
    assert len(kept[0].text) < len(p.text)
    for q in kept:  # every kept sentence is the article's own text at its span
        for text, s, e in q.sentence_texts():
            assert ARTICLE[s:e] == text
        assert q.start == q.sentences[0][0] and q.end == q.sentences[-1][1]
    assert info["tokens_after"] < info["tokens_before"]
    assert [k["retrieved_as"] for k in info["kept"]] == [q.n for q in [p, other]][: len(kept)]


def test_neighbours_fill_the_budget_and_unrelated_passages_are_dropped():
    spans = _sentences(ARTICLE)
    unrelated = passage(1, spans[3:5], title="Schools")
    answer = passage(2, spans)
    kept, _ = select_context("Who is the harbour master?", [unrelated, answer], ContextConfig(60, 1, 4))
    assert [p.n for p in kept] == [1] and kept[0].chunk_id == "c2"  # renumbered 1..m
    texts = [t for t, _, _ in kept[0].sentence_texts()]
    i = texts.index(ARTICLE[spans[2][0]:spans[2][1]])
    assert i > 0 or len(texts) == 1  # the sentence before it came along


def test_a_sentence_two_chunks_share_is_read_once():
    # Neighbouring chunks of one article overlap by a sentence; copies of a story repeat them.
    spans = _sentences(ARTICLE)
    first, second = passage(1, spans[:3]), passage(2, spans[2:])
    kept, _ = select_context("Who is the harbour master, and how many boats were moved?", [first, second], ContextConfig(200, 1, 4))
    read = [t for p in kept for t, _, _ in p.sentence_texts()]
    assert read.count(ARTICLE[spans[2][0]:spans[2][1]]) == 1
    assert len(read) == len(set(read))


def test_the_sentence_after_a_question_heading_is_read():
    # Explainers answer their own sub-headings, in words the question does not use.
    text = ("Congress passed the bill on Tuesday. The Justice Department released some Epstein files in February. "
            "How long does the Justice Department have to release the Epstein files? Thirty days, under the new law. "
            "Critics say the records may be incomplete. Lawmakers met the families of victims in March.")
    spans = sentence_spans(text)
    p = passage(1, spans, article=text, title="Files")
    kept, _ = select_context("How long does the Justice Department have to release all of the Epstein files?", [p], ContextConfig(30, 0, 4))
    assert "Thirty days" in kept[0].text


def test_passages_without_sentence_spans_stay_whole():
    p = Passage(1, "c1", "a1", "T", "S", "2025-01-01", "Elena Ruiz moved 42 boats.", 0, 26, 1.0)
    kept, _ = select_context("How many boats?", [p], ContextConfig(10, 1, 4))
    assert kept == [p]


def test_engine_reads_the_reduced_context_and_cites_into_it(sample_store, embedder):
    llm = FakeLLM(default="[1]")
    engine = Engine(sample_store, embedder, llm, settings=defaults(context_budget=60, context_neighbours=0))
    a = engine.answer("Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?")
    whole = Engine(sample_store, embedder, FakeLLM(default="[1]"), settings=defaults(context_budget=0)).answer(a.question)
    assert len(llm.last_prompt) < sum(len(p.text) for p in whole.passages)
    assert a.trace["context"]["tokens_after"] < a.trace["context"]["tokens_before"]
    assert "context_s" in a.timings
    if a.citations:
        c, p = a.citations[0], a.passages[0]
        assert p.start <= c.start < c.end <= p.end
