"""The text toolkit (core.text): sentences with spans, keyword tokens, normal forms, numbers."""

import pytest

from core.text import after_dateline, fold, normalise, numbers, sentence_spans, sentences, tokenize


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Mr. Peskov said the talks were progress [1].", ["Mr. Peskov said the talks were progress [1]."]),
        ("Dr. Smith arrived. He spoke briefly.", ["Dr. Smith arrived.", "He spoke briefly."]),
        ("U.S. officials met on Monday. They agreed.", ["U.S. officials met on Monday.", "They agreed."]),
        ("The deal was signed on Jan. 24 in Abu Dhabi.", ["The deal was signed on Jan. 24 in Abu Dhabi."]),
        ("He was ranked No. 1 in the world. Then he retired.", ["He was ranked No. 1 in the world.", "Then he retired."]),
        ("Rev. Martin Luther King Jr. spoke in 1963. Crowds gathered.", ["Rev. Martin Luther King Jr. spoke in 1963.", "Crowds gathered."]),
        ("It cost $1.2 million. That was a record.", ["It cost $1.2 million.", "That was a record."]),
        ('A topic titled "Should I Release Blades?". Then more.', ['A topic titled "Should I Release Blades?".', "Then more."]),
    ],
)
def test_abbreviations_do_not_end_a_sentence(text, expected):
    assert sentences(text) == expected


def test_spans_are_absolute_and_stripped():
    text = "Intro.\n  First one here.  Second one.  "
    assert [text[s:e] for s, e in sentence_spans(text, 7, len(text))] == ["First one here.", "Second one."]


def test_keyword_tokens():
    assert tokenize("The fourth season, the 90th Academy Awards, Q1 2021") == ["4", "season", "90", "academy", "awards", "q1", "2021"]
    assert tokenize("Which one was the first?") == ["one", "first"]  # mostly not numbers


def test_normal_forms():
    assert fold("  Kyiv’s\u00a0“Army”  ") == "kyiv's \"army\""  # ids and hashes: frozen
    assert normalise("Peskov’s talks on Jan. 24 — progress") == "peskov talks on january 24 - progress"


def test_numbers_are_values_a_reader_takes():
    assert numbers("Who won Wimbledon in 2019?") == {2019}
    assert numbers("the fourth season") == numbers("season 4") == {4}
    assert numbers("1.2 million soldiers") == {1.2, 1.2e6}
    assert numbers("Which one was the first?") == set()


@pytest.mark.parametrize("sentence, words", [
    ("WASHINGTON – President Donald Trump signed three orders.", "President Donald Trump signed three orders."),
    ("VATICAN CITY, Feb 18 - Pope Francis will not lead the prayer.", "Pope Francis will not lead the prayer."),
    ("RIVERSIDE, Calif., Jan. 12, 2026 (AP) — A fire burned.", "A fire burned."),
    ("NEW YORK (Reuters) - Stocks fell.", "Stocks fell."),
    ("AI-assisted summary tools spread.", "AI-assisted summary tools spread."),  # a dash joined to a word is no dateline
    ("President Trump - the man himself - spoke.", "President Trump - the man himself - spoke."),
])
def test_a_dateline_is_not_the_sentence_s_own_words(sentence, words):
    assert sentence[after_dateline(sentence):] == words
