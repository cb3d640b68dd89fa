"""The answerability gate: which questions reach the model (rag/gate.py)."""

from core.types import Passage
from rag.gate import relevance_gate
from core.names import common_words


def _passage(text: str, dense: float = 0.6) -> Passage:
    return Passage(1, "c1", "a1", "Turkey pardon", "USA Today", "2025-11-25", text, 0, len(text), 0.03, dense_score=dense)


PARDON = _passage("Trump pardoned the turkeys Gobble and Waddle at the White House on Tuesday.")


def test_a_full_name_is_found_by_its_last_name():
    # News names the president "Trump" after the first mention; RealTimeQA asked with his full name and was declined.
    gate = relevance_gate("Which turkeys did President Donald Trump pardon this week?", [PARDON], 0.2)
    assert gate.passed, gate.reason


def test_a_name_whose_last_word_is_missing_is_still_declined():
    pope = _passage("Pope Francis spoke about the war in Ukraine on Sunday.")
    gate = relevance_gate("What did Pope Leo say about Ukraine?", [pope], 0.2)
    assert not gate.passed and gate.reason == "no retrieved passage mentions Leo"
    gate = relevance_gate("What did Melania Trump say about the turkeys?", [PARDON], 0.2)
    assert gate.passed  # the surname is there: the model and the verifier judge the rest


def test_an_ordinary_word_opening_the_question_is_not_a_name(embedder):
    flood = _passage("Floods swept through Camp Mystic in Texas in July, killing 27 campers.")
    question = "Catastrophic flooding swept through a summer camp for girls in which state in July?"
    assert not relevance_gate(question, [flood], 0.2).passed  # without a vocabulary "Catastrophic" reads as a name
    gate = relevance_gate(question, [flood], 0.2, common_words(embedder))
    assert gate.passed, gate.reason
    assert not relevance_gate("Medvedev said what about the floods?", [flood], 0.2, common_words(embedder)).passed


def test_an_acronym_is_found_singular_or_plural():
    recall = _passage("Stellantis is recalling about 375,000 Jeep SUVs over a fire risk.")
    assert relevance_gate("Which automaker recalled SUVs over fire risks?", [recall], 0.2).passed
    one = _passage("Stellantis is recalling a Jeep SUV model over a fire risk.")
    assert relevance_gate("Which automaker recalled SUVs over fire risks?", [one], 0.2).passed
    assert relevance_gate("Which SUV was recalled?", [recall], 0.2).passed
    assert not relevance_gate("Which automaker recalled EVs?", [recall], 0.2).passed
