"""`newsrag eval`: metric formulas on hand-made data with known answers, QA scoring,
RGB loading, and both commands end to end on tiny files."""

import json
from dataclasses import replace

import pytest

from core.errors import ConfigError
from evaluation.metrics import first_relevant_rank, hits_at, mrr_at, percentile, ranking_summary, ratios
from evaluation.qa import QARow, contains_answer, from_source, load_qa, score_answer, summarize_qa
from evaluation.rgb import load_rgb
from core.types import Answer, Citation, Unsupported

# Six queries, results as document ids, relevant sets: the first relevant result sits at
# rank 1, 3, 10, 11 (past the cut-off), nowhere, and 2 (a second relevant one at 4 must not count).
RETRIEVED = [
    ["a", "x", "y"],
    ["x", "y", "b", "z"],
    ["x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "c"],
    ["x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "d"],
    ["x", "y", "z"],
    ["x", "e1", "y", "e2"],
]
RELEVANT = [{"a"}, {"b"}, {"c"}, {"d"}, {"nowhere"}, {"e1", "e2"}]


def ranks():
    return [first_relevant_rank(r, rel) for r, rel in zip(RETRIEVED, RELEVANT)]


def test_first_relevant_rank_is_one_based_and_first():
    assert ranks() == [1, 3, 10, 11, None, 2]


def test_hits_at_k_on_known_answers():
    r = ranks()
    assert hits_at(r, 1) == pytest.approx(1 / 6)
    assert hits_at(r, 3) == pytest.approx(3 / 6)  # ranks 1, 3, 2
    assert hits_at(r, 10) == pytest.approx(4 / 6)  # rank 10 counts, 11 does not
    assert hits_at([], 3) == 0.0


def test_mrr_at_10_on_known_answers():
    # reciprocal rank of the FIRST relevant result, 0 past rank 10 or when missing, averaged over all queries
    assert mrr_at(ranks(), 10) == pytest.approx((1 + 1 / 3 + 1 / 10 + 0 + 0 + 1 / 2) / 6)
    assert mrr_at([2, None], 10) == pytest.approx(0.25)


def test_percentile_interpolates_like_numpy():
    xs = [10.0, 20.0, 30.0, 40.0, 1000.0]
    assert percentile(xs, 50) == 30.0
    assert percentile(xs, 95) == pytest.approx(40 + 0.8 * 960)  # numpy.percentile(xs, 95) = 808.0
    assert percentile([], 95) == 0.0


def test_summary_keys_and_ratios():
    s = ranking_summary(ranks(), [0.010, 0.020, 0.030])
    assert {"hits@1", "hits@3", "hits@10", "mrr@10", "p50_ms", "p95_ms", "n"} <= set(s)
    assert s["n"] == 6 and s["p50_ms"] == 20.0
    assert ratios({"hits@1": 0.5, "n": 6, "p95_ms": 10.0}, {"hits@1": 0.25, "n": 6, "p95_ms": 0.0}) == {"hits@1": 2.0, "p95_ms": None}


def test_rgb_file_dedupes_snippets_and_maps_positives(tmp_path):
    rows = [
        {"query": "q1", "positive": ["A", "B"], "negative": ["N", "A"]},
        {"query": "q2", "positive": ["N"], "negative": ["B", "C"]},  # a negative of one row is a positive of another
        {"query": "q3", "positive": [], "negative": ["D"]},  # no positive: not scored, its snippets still in the corpus
    ]
    path = tmp_path / "rgb.json"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    data = load_rgb(path)
    assert data.snippets == ["A", "B", "N", "C", "D"]
    assert [(q.query, set(q.positives)) for q in data.queries] == [("q1", {0, 1}), ("q2", {2})]
    assert data.skipped == 1


def test_rgb_errors_name_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="--rgb"):
        load_rgb(tmp_path / "missing.json")
    (tmp_path / "x.json").write_text('{"question": "no rgb keys"}\n')
    with pytest.raises(ConfigError, match="RGB file"):
        load_rgb(tmp_path / "x.json")


# --- QA scoring


def cite(path):
    return Citation(1, 1, "id", "t", "s", "d", "q", 0, 1, path)


ROWS = [
    QARow("r1", "Who?", ("Peskov",), "004.txt", False),
    QARow("r2", "What?", ("tariffs",), "000.txt", False),
    QARow("r3", "Where?", ("Istanbul",), "004.txt", False),
    QARow("r4", "Will?", ("no American troops",), "004.txt", False),
    QARow("r5", "Price?", (), None, True),
    QARow("r6", "Weather?", (), None, True),
]
ANSWERS = [
    Answer("Who?", "Dmitry PESKOV [1].", True, citations=(cite("/x/004.txt"),), timings={"first_token_s": 2.0, "total_s": 3.0}),
    Answer("What?", "Tariffs [1].", True, citations=(cite("/x/004.txt"),), timings={"first_token_s": 4.0, "total_s": 5.0}),  # right, wrong source
    Answer("Where?", "Abu Dhabi [1].", True, citations=(cite("/x/004.txt"),), timings={"first_token_s": 6.0, "total_s": 7.0}),  # wrong
    Answer("Will?", "The articles don't say.", False, timings={"first_token_s": 1.0, "total_s": 2.0}),  # declined
    Answer("Price?", "The articles don't say.", False, timings={"total_s": 0.1}),  # right refusal
    Answer("Weather?", "Sunny [1].", True, citations=(cite("/x/000.txt"),), timings={"first_token_s": 1.0, "total_s": 1.0},
           unsupported=(Unsupported("Sunny [1].", "the cited passage does not support it", (1,)),)),
]


def test_each_row_is_scored_for_answer_citation_and_refusal():
    results = [score_answer(r, a) for r, a in zip(ROWS, ANSWERS)]
    assert [r["correct"] for r in results] == [True, True, False, False, True, False]
    assert [r["cites_source"] for r in results] == [True, False, True, False, None, None]
    assert [r["why"] for r in results] == [
        "", "correct, but does not cite its source", "no accepted answer in the text", "declined", "", "answered an unanswerable question",
    ]


def test_qa_summary_figures():
    s = summarize_qa([score_answer(r, a) for r, a in zip(ROWS, ANSWERS)])
    assert s["n"] == 6 and s["correct"] == 3
    assert s["accuracy"] == 0.5
    assert s["answerable_accuracy"] == 0.5  # 2 of 4
    assert s["citation_accuracy"] == 0.5  # of the 2 correct answerable rows, 1 cites its source
    assert s["refusal_accuracy"] == 0.5
    assert s["ttft_p50_s"] == 2.0  # over the 5 rows that reached the LLM
    assert [w["id"] for w in s["wrong"]] == ["r2", "r3", "r4", "r6"]
    assert s["flagged_correct"] == 0 and [(f["id"], f["correct"], f["reason"]) for f in s["flagged"]] == [
        ("r6", False, "the cited passage does not support it")]
    flag_r1 = replace(ANSWERS[0], unsupported=(Unsupported("Dmitry PESKOV", "cites no passage"),))
    assert summarize_qa([score_answer(ROWS[0], flag_r1)])["flagged_correct"] == 1


def test_source_matching_by_file_name_and_jsonl_record():
    assert from_source("/home/u/articles/004.txt", "004.txt")
    assert from_source("/home/u/dump.jsonl#12", "dump.jsonl")
    assert not from_source("/home/u/articles/1004.txt", "004.txt")
    assert from_source("/home/u/articles/2026/004.txt", "2026/004.txt") and not from_source("/home/u/x2026/004.txt", "2026/004.txt")
    assert not from_source("", "004.txt") and not from_source("/a/004.txt", None)


def test_qa_file_errors_name_the_fix(tmp_path):
    (tmp_path / "qa.jsonl").write_text('{"question": "Who?"}\n')
    with pytest.raises(ConfigError, match="answer_any"):
        load_qa(tmp_path / "qa.jsonl")


# --- end to end on tiny data


def write_rgb(path):
    rows = [
        {"query": "Who won the Springfield chess open in 2019?", "positive": ["Alice Moreau won the 2019 Springfield chess open with 8 points."],
         "negative": ["The Springfield chess open is held every spring at the town library."]},
        {"query": "What is the capital of the fictional country Veltrania?", "positive": ["Veltrania's capital city is Ostrova, on the river Mell."],
         "negative": ["Veltrania is a small country famous for its cheese."]},
        {"query": "How many moons does the planet Zorbax have?", "positive": ["Astronomers count eleven moons orbiting Zorbax."],
         "negative": ["Zorbax is the fourth planet of its star."]},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_retrieval_eval_end_to_end_beside_the_baseline(tmp_path, embedder):
    from llama_index.core import Settings as LlamaSettings

    from evaluation.retrieval import evaluate_retrieval
    from tests.conftest import make_settings

    report = evaluate_retrieval(write_rgb(tmp_path / "rgb.json"), make_settings(tmp_path / "home"), embedder)
    keys = {"hits@1", "hits@3", "hits@10", "mrr@10", "p50_ms", "p95_ms", "n"}
    assert keys <= set(report["ours"]) and keys <= set(report["baseline"])
    assert report["ours"]["n"] == report["baseline"]["n"] == 3
    assert report["ours"]["hits@3"] == report["baseline"]["hits@3"] == 1.0
    assert report["corpus"]["snippets"] == 6 and report["corpus"]["chunks"] == 6
    # each side built twice, ours - baseline - baseline - ours, and timed as the mean of the two
    corpus = report["corpus"]
    assert len(corpus["index_runs_s"]) == len(corpus["baseline_index_runs_s"]) == 2
    assert abs(corpus["index_s"] - sum(corpus["index_runs_s"]) / 2) < 0.011
    # the baseline passed everything explicitly: llama-index never built its global (OpenAI) defaults
    assert LlamaSettings._embed_model is None and LlamaSettings._llm is None


def test_cli_eval_retrieval_json(tmp_path, monkeypatch, capsys):
    from ui.cli import main

    monkeypatch.setenv("NEWSRAG_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "retrieval", "--rgb", str(write_rgb(tmp_path / "rgb.json")), "--json", "--no-baseline"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ours"]["n"] == 3 and "baseline" not in report
    assert len(report["corpus"]["index_runs_s"]) == 1 and "baseline_index_s" not in report["corpus"]


def test_qa_eval_on_a_corpus_in_a_temporary_store(tmp_path, embedder, corpus):
    from evaluation.runner import run_qa
    from core.models.fake import FakeLLM
    from tests.conftest import make_settings

    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        '{"id": "k", "question": "Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?", "answer_any": ["Peskov"], "source": "004_a8c840d12111fb8c.txt"}\n'
        '{"id": "u", "question": "What is the current price of Brent crude oil?", "answer_any": [], "unanswerable": true}\n'
    )
    # The fake answers "Dmitry Peskov" citing whichever passage mentions him.
    llm = FakeLLM(default=lambda req: "Dmitry Peskov " + "".join(f"[{p.n}]" for p in req.passages if "Peskov" in p.text)[:3] + ".")
    home = tmp_path / "configured"
    report = run_qa(qa, make_settings(home), corpus=corpus, llm=llm, embedder=embedder)
    assert report["corpus"]["articles"] == 2
    assert (report["n"], report["accuracy"], report["citation_accuracy"], report["refusal_accuracy"]) == (2, 1.0, 1.0, 1.0)
    assert report["wrong"] == [] and report["retrieval"]["hits@4"] == 1.0
    assert not (home / "chroma").exists()  # the configured store was not touched


def test_an_answer_matches_whatever_its_typography():
    # RealTimeQA writes "McDonald’s" and "“Anora”"; a model writes McDonald's and Anora.
    assert contains_answer("He was arrested at a McDonald's in Altoona.", ["McDonald’s"])
    assert contains_answer("Best picture went to Anora [1].", ["“Anora”"])
    assert contains_answer("Rob Reiner directed “When Harry Met Sally...”", ["When Harry Met Sally…"])
    assert contains_answer("THE LOUVRE", ["the louvre"])
    assert not contains_answer("He was arrested at a Wendy's.", ["McDonald’s"])
    assert not contains_answer("anything at all", ["“”"])  # an answer that is only quotes matches nothing
