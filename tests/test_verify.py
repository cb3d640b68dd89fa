"""Citation verification on fixed passages: supported sentences pass, planted ones are flagged."""

import pytest

from core.text import numbers
from core.types import Answer, Citation, Passage
from rag.citations import sentences_with_citations
from rag.verify import CitationVerifier, facts, verify

P1 = (
    "Open-source think tanks have put the amount of territory Russia has taken in January at nearly 60 square miles. "
    "On Tuesday, Gen. Valery Gerasimov said its forces had captured 17 settlements and close to 200 square miles in January."
)
P2 = (
    "“Overall, the fact that a whole range of complex issues are being discussed can already be considered progress,” "
    "Kremlin spokesman Dmitry Peskov said Wednesday in reference to the Abu Dhabi meetings."
)
P3 = (
    "The Interior Ministry in Kyiv said on Telegram that a Russian missile struck a residential building in Poltava, "
    "killing four people and injuring 13. President Volodymyr Zelenskyy called the attack “a deliberate strike.” "
    "Russian casualties since the beginning of the war totaled 1.2 million soldiers, and Trump criticized his "
    "predecessor for giving Kyiv nearly €100 billion."
)
P4 = "Sybiha confirmed that there would be European forces, adding that “there will be no American troops.”"


def passage(n: int, text: str) -> Passage:
    return Passage(n, f"c{n}", f"a{n}", f"Article {n}", "Outlet", "2026-01-28", text, 0, len(text), 0.03)


PASSAGES = (passage(1, P1), passage(2, P2), passage(3, P3), passage(4, P4))


def answer(text: str, cited: dict[int, int] | None = None, question: str = "q") -> Answer:
    """`cited` maps the answer's [n] to passage numbers (default: [n] is passage n)."""
    cited = cited or {n: n for n in range(1, 5)}
    cites = tuple(Citation(n, p, f"a{p}", "", "", "", "", 0, 0) for n, p in cited.items())
    return Answer(question, text, True, citations=cites, passages=PASSAGES)


def reasons(text: str, **kw) -> list[str]:
    return [u.reason for u in verify(answer(text, **kw))]


@pytest.mark.parametrize(
    "text",
    [
        "Dmitry Peskov [2].",
        "Open-source think tanks put it at 60 square miles [1].",
        "Nearly 60 square miles [1].",
        "Peskov’s words: the talks “can already be considered progress” [2].",
        "Zelensky called the overnight attack a deliberate strike [3].",  # Zelenskyy / Zelensky
        "The Interior Ministry reported it on Telegram; 4 people were killed and thirteen injured [3].",
        "Russia lost 1,200,000 soldiers [3]. Kyiv got €100 billion [3].",
        "No, there will be no U.S. troops, only European forces [4].",
        "On Wednesday, Peskov spoke about the Abu Dhabi meetings [2].",
        "The passages do not say how many troops Europe would send.",
    ],
)
def test_supported_sentences_pass(text):
    assert reasons(text) == []


def test_a_title_does_not_end_the_sentence():
    """A title abbreviation: "Mr." was split off as a sentence citing no passage (a false flag and a second LLM call)."""
    a = answer("Mr. Peskov said the talks were progress [1].", cited={1: 2})
    assert sentences_with_citations(a.text) == [("Mr. Peskov said the talks were progress.", (1,))]
    assert verify(a) == ()


def test_a_planted_unsupported_sentence_is_flagged():
    a = answer("Dmitry Peskov [2]. He also said the talks would move to Geneva in March [2].")
    (u,) = verify(a)
    assert u.sentence == "He also said the talks would move to Geneva in March."
    assert u.reason == "‘Geneva’, ‘March’ are in no retrieved passage"
    assert u.citations == (2,)


def test_a_wrong_number_is_flagged():
    assert reasons("Think tanks put it at 80 square miles [1].") == ["‘80’ is in no retrieved passage"]
    assert reasons("The strike killed five people [3].") == ["‘five’ is in no retrieved passage"]


def test_a_fact_from_another_passage_means_the_citation_is_wrong():
    assert reasons("Peskov said Russia took 60 square miles [2].") == [
        "‘60’ not in the cited passage but in another retrieved one (passage 1 in the trace)"
    ]
    assert reasons("The Financial Times reported it [1].") == ["‘Financial Times’ is in no retrieved passage"]


def test_an_uncited_factual_sentence_is_flagged():
    assert reasons("Dmitry Peskov [2]. Gerasimov claimed 200 square miles.") == ["cites no passage"]
    assert reasons("Banana.") == ["cites no passage"]
    assert reasons("Yes. Dmitry Peskov [2].") == []


def test_a_name_in_no_passage_is_flagged_even_when_cited_everywhere():
    assert reasons("Sergei Lavrov confirmed it [1][2][3][4].") == ["‘Sergei Lavrov’ is in no retrieved passage"]


def test_a_cited_passage_that_shares_nothing_with_the_sentence_is_flagged():
    (r,) = reasons("It said drones hit an energy plant and cut power [4].")
    assert r == "the cited passage does not support it"
    (r,) = reasons("A missile struck a residential building in Poltava [3][4].")
    assert r == "one cited passage does not support it (passage 4 in the trace)"


def test_embedding_similarity_rescues_a_paraphrase(embedder):
    text = "The foreign minister confirmed Europe would provide soldiers [4]."
    assert reasons(text) == ["the cited passage does not support it"]  # few shared words
    assert CitationVerifier(embedder)(answer(text)).unsupported == ()


def test_declined_answers_are_not_checked():
    a = Answer("q", "The articles don't say.", False, passages=PASSAGES)
    assert verify(a) == ()


def test_facts_and_numbers_are_read_leniently():
    assert numbers("killing four people, 1.2 million soldiers, €100 billion, the 93rd brigade") >= {4.0, 1.2e6, 1.2, 1e11, 100.0, 93.0}
    labels = [f.label for f in facts("Dmitry Peskov’s remark on Jan. 24 about the U.S. was “firm”.")]
    assert labels == ["Dmitry Peskov", "Jan", "U.S", "24"]


def test_an_ordinary_opening_word_is_not_a_name_but_a_rare_one_is(embedder):
    v = CitationVerifier(embedder)
    assert v(answer("Reportedly, Peskov spoke about the Abu Dhabi meetings [2].")).unsupported == ()
    (u,) = v(answer("Medvedev spoke about the Abu Dhabi meetings [2].")).unsupported
    assert u.reason == "‘Medvedev’ is in no retrieved passage"


def test_a_month_opening_a_sentence_is_a_date_to_check(embedder):
    (u,) = CitationVerifier(embedder)(answer("September: Russia took nearly 60 square miles [1].")).unsupported
    assert u.reason == "‘September’ is in no retrieved passage"


def test_the_date_shown_beside_a_passage_backs_a_sentence_that_states_it():
    """The model reads each passage under its headline and date: "In January" is the passage's
    own (it is dated 28 January), not a fact from elsewhere."""
    assert verify(answer("In January, Kremlin spokesman Dmitry Peskov called the talks progress [2].")) == ()
    (u,) = verify(answer("In March, Kremlin spokesman Dmitry Peskov called the talks progress [2]."))
    assert "‘March’" in u.reason


def test_a_date_the_question_asks_about_is_the_reader_s_not_a_fact_to_check():
    """"Since Jan. 20, Peskov..." answering "What has Peskov said since January 20?" restates the
    reader's date; the passage (of 28 January) need not hold the 20. A 20 of the answer's own must."""
    asked = "What has Kremlin spokesman Dmitry Peskov said about the talks since January 20?"
    assert verify(answer("Since Jan. 20, Kremlin spokesman Dmitry Peskov called the talks progress [2].", question=asked)) == ()
    (u,) = verify(answer("Since Jan. 20, Kremlin spokesman Dmitry Peskov called 20 of the talks progress [2].", question=asked))
    assert "‘20’" in u.reason
    (u,) = verify(answer("Since Jan. 20, Kremlin spokesman Dmitry Peskov called the talks progress [2]."))  # no date asked
    assert "‘20’" in u.reason


def test_a_misnumbered_citation_is_moved_to_the_passage_holding_the_facts(embedder):
    a = CitationVerifier(embedder)(answer("Peskov spoke [1]. Think tanks put it at nearly 60 square miles [2].", cited={1: 2, 2: 3}))
    (r,) = a.repaired_citations
    assert (r.n, r.from_passage, r.to_passage) == (2, 3, 1) and "‘60’" in r.reason
    assert a.citations[1].passage == 1 and "60 square miles" in a.citations[1].quote
    assert a.unsupported == ()


def test_a_citation_shared_by_two_sentences_is_not_moved_but_flagged(embedder):
    a = CitationVerifier(embedder)(answer("Peskov spoke [1]. Think tanks put it at nearly 60 square miles [1].", cited={1: 2}))
    assert a.repaired_citations == () and [u.sentence for u in a.unsupported] == ["Think tanks put it at nearly 60 square miles."]


def test_a_sentence_copied_from_another_passage_is_moved_there(embedder):
    # Seed d06 as the 1.5B model answered it: a sentence of passage 2, cited [1]. Passage 1 is
    # close enough in meaning (embedding similarity 0.48) that the verifier alone passed it.
    p1 = ("Washington denied that it was strong-arming Kyiv. Sybiha also said Zelensky was ready to meet "
          "Russian leader Vladimir Putin to resolve these issues. A question also hangs over which countries "
          "would send troops to enforce a peace deal, once it goes into effect.")
    p2 = ("Sybiha confirmed that there would be European forces. For their part, Russian officials expressed "
          "a degree of optimism over the talks.")
    def check(text):
        cite = (Citation(1, 1, "a1", "", "", "", "", 0, 0),)
        return CitationVerifier(embedder)(Answer("q", text, True, citations=cite, passages=(passage(1, p1), passage(2, p2))))

    a = check("Yes, the Russian officials expressed a degree of optimism over the talks [1].")
    (r,) = a.repaired_citations
    assert (r.from_passage, r.to_passage) == (1, 2) and r.reason == "its words are in passage 2, not 1"
    assert a.citations[0].passage == 2 and "optimism" in a.citations[0].quote
    # A sentence that shares most words with its passage stays where the model put it.
    kept = check("Sybiha said Zelensky was ready to meet Putin [1].")
    assert kept.repaired_citations == () and kept.unsupported == ()


@pytest.mark.parametrize(
    "question, text, flagged",
    [
        ("Will American troops be sent to enforce a peace deal?", "Yes, American troops will be sent [4].", True),
        ("Will American troops be sent to enforce a peace deal?", "Yes, Sybiha confirmed there would be European forces [4].", True),
        ("Will American troops be sent to enforce a peace deal?", "No, there will be no U.S. troops, only European forces [4].", False),
        ("Will European forces be sent?", "Yes, Sybiha confirmed that there would be European forces [4].", False),
        ("Did a Russian missile strike a residential building in Poltava?", "Yes, a Russian missile struck a residential building in Poltava [3].", False),
        ("Who said there will be no American troops?", "Sybiha [4].", False),  # not a yes/no question
    ],
)
def test_a_yes_that_a_passage_denies_is_flagged(question, text, flagged):
    a = Answer(question, text, True, citations=tuple(Citation(n, n, f"a{n}", "", "", "", "", 0, 0) for n in range(1, 5)), passages=PASSAGES)
    reasons = [u.reason for u in verify(a)]
    if flagged:
        assert reasons == ["it answers yes, but passage 4 says “no American troops”"]
    else:
        assert reasons == []


@pytest.mark.parametrize(
    "question, text, flagged",
    [
        # RealTimeQA dev-small: the 1.5B model gave the question back when it found no answer.
        ("Which ministry reported the missile strike on Telegram?", "The ministry reported the missile strike on Telegram [3].", True),
        ("Which ministry reported the missile strike on Telegram?", "The Interior Ministry reported the missile strike on Telegram [3].", False),
        ("How many people were killed in the strike?", "4 people were killed in the strike [3].", False),  # a number is an answer
        ("Will American troops be sent?", "No, American troops will not be sent [4].", False),  # yes/no: "No" answers it
    ],
)
def test_an_answer_that_only_repeats_the_question_is_flagged(question, text, flagged):
    a = Answer(question, text, True, citations=tuple(Citation(n, n, f"a{n}", "", "", "", "", 0, 0) for n in range(1, 5)), passages=PASSAGES)
    reasons = [u.reason for u in verify(a)]
    assert reasons == (["it repeats the question without answering it"] if flagged else [])
