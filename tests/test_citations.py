from rag.citations import parse_citations, sentences_with_citations


def test_renumbers_by_first_use():
    p = parse_citations("Peskov spoke [3]. Trump threatened tariffs [1]. Again [3].", 4)
    assert p.text == "Peskov spoke [1]. Trump threatened tariffs [2]. Again [1]."
    assert p.order == (3, 1)
    assert p.dropped == ()


def test_out_of_range_numbers_are_dropped_and_reported():
    p = parse_citations("A claim [7]. Another [2]. Zero [0].", 3)
    assert p.text == "A claim. Another [1]. Zero."
    assert p.order == (2,)
    assert p.dropped == (7, 0)


def test_grouped_ranged_and_labelled_markers():
    p = parse_citations("X [2, 1]. Y [1-3]. Z [Passage 4]. W [1][2].", 4)
    assert p.order == (2, 1, 3, 4)
    assert p.text == "X [1][2]. Y [2][1][3]. Z [4]. W [2][1]."


def test_text_without_markers_has_no_citations():
    p = parse_citations("No brackets here, or [a] [] [x1].", 3)
    assert p.order == () and p.text == "No brackets here, or [a] [] [x1]."


def test_sentences_carry_their_markers():
    assert sentences_with_citations("Peskov spoke [1]. He said 60 miles [2][1]. Done.") == [
        ("Peskov spoke.", (1,)),
        ("He said 60 miles.", (2, 1)),
        ("Done.", ()),
    ]
    # a marker after the full stop belongs to the sentence before it
    assert sentences_with_citations("Peskov spoke. [1]") == [("Peskov spoke.", (1,))]


def test_each_line_of_a_list_is_a_claim_with_its_heading():
    text = "March 2025:\n- Ukraine agreed to a ceasefire plan [1]\n- Talks went on\n\nApril 2025:\n1. A minerals deal was signed [2] [3]"
    assert sentences_with_citations(text) == [
        ("March 2025: Ukraine agreed to a ceasefire plan", (1,)),
        ("Talks went on", ()),
        ("April 2025: A minerals deal was signed", (2, 3)),
    ]
