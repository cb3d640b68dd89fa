"""`newsrag eval qa` on a RealTimeQA-shaped slice: each question as of its date,
gold URLs for citations, context recall and stale/future shares, with the time
features on and off in one run. A tiny fictional slice stands in for the real one."""

from __future__ import annotations

import json

from core.models.extractive import ExtractiveLLM
from evaluation.realtime import is_slice, realtime_markdown, run_realtime

ARTICLES = [
    {"id": "a1", "url": "https://courier.example/2025/03/harbour", "source": "courier.example", "date": "2025-03-02",
     "title": "Riverton names a harbour director",
     "text": "The Riverton city council named Maria Lopez as harbour director on Monday. Lopez will run the port and its ferry service."},
    {"id": "a2", "url": "https://gazette.example/2026/01/harbour", "source": "gazette.example", "date": "2026-01-05",
     "title": "Riverton appoints a harbour director",
     "text": "The Riverton city council named Tom Becker as harbour director on Monday. Becker will run the port and its ferry service."},
    {"id": "a3", "url": "https://gazette.example/2026/02/bridge", "source": "gazette.example", "date": "2026-02-10",
     "title": "Bridge reopens", "text": "The Riverton bridge reopened after repairs to its northern span, the city engineer said on Tuesday."},
]
QUESTIONS = [
    {"id": "20260107_0", "question": "Who was named Riverton's harbour director this week?", "answer_any": ["Becker"],
     "date": "2026-01-07", "gold_urls": ["https://gazette.example/2026/01/harbour"]},
    {"id": "20250305_0", "question": "Who was named Riverton's harbour director this week?", "answer_any": ["Lopez"],
     "date": "2025-03-05", "gold_urls": ["https://courier.example/2025/03/harbour"]},
]


def test_a_realtime_slice_is_scored_as_of_each_question(tmp_path, settings, embedder):
    folder = tmp_path / "slice"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(a) for a in ARTICLES) + "\n")
    (folder / "qa.jsonl").write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n")
    assert is_slice(folder)
    report = run_realtime(folder, settings, llm=ExtractiveLLM(), embedder=embedder)
    on, off = report["time_on"], report["time_off"]
    assert report["corpus"]["articles"] == 3 and on["n"] == off["n"] == 2
    # as of each question's date: never a passage from after it, and the right article cited
    assert on["future_share"] == 0 and on["accuracy"] == 1.0 and on["cites_gold_share"] == 1.0
    row = on["rows"][1]
    assert row["as_of"] == "2025-03-05" and row["cited_urls"] == ["https://courier.example/2025/03/harbour"]
    assert {"text", "url", "date", "title"} <= set(row["passages_given"][0]) and row["context_recall"]
    assert all(p["date"] <= "2025-03-05" for p in row["passages_given"])
    # without the time features the question of March 2025 reads articles from 2026
    assert off["future_share"] > 0
    assert "time-aware" in realtime_markdown(report) and "timeless" in realtime_markdown(report)


def test_a_sample_spreads_over_the_slice_and_retrieval_only_reads_what_the_model_would(tmp_path, settings, embedder):
    from evaluation.realtime import load_slice

    folder = tmp_path / "slice"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(a) for a in ARTICLES) + "\n")
    weeks = [dict(q, id=f"{q['id']}-{i}") for i in range(3) for q in QUESTIONS]  # 6 questions
    (folder / "qa.jsonl").write_text("\n".join(json.dumps(q) for q in weeks) + "\n")
    assert [r.id for r in load_slice(folder, sample=3)] == [weeks[0]["id"], weeks[2]["id"], weeks[4]["id"]]
    report = run_realtime(folder, settings, with_llm=False, sample=2, embedder=embedder)
    on = report["time_on"]
    assert on["n"] == 2 and on["context_recall"] == 1.0 and on["retrieved_recall"] == 1.0


def test_the_reference_counts_questions_whose_own_results_hold_the_answer_by_their_date(tmp_path):
    from evaluation.realtime import load_slice, own_results_reference

    folder = tmp_path / "slice"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(a) for a in ARTICLES) + "\nnot json\n")
    qs = [
        *QUESTIONS,  # both answered by their own article, published two days before
        # the answer sits only in a 10-month-old article: counted, but not as recent
        {"id": "20260107_1", "question": "Who was the harbour director named in March?", "answer_any": ["Lopez"],
         "date": "2026-01-07", "gold_urls": ["https://courier.example/2025/03/harbour"]},
        # the own result does not hold the answer
        {"id": "20260212_0", "question": "Who repaired the bridge?", "answer_any": ["Acme Steel"],
         "date": "2026-02-12", "gold_urls": ["https://gazette.example/2026/02/bridge"]},
        # the own result holding the answer was published after the question: not counted
        {"id": "20251231_0", "question": "Who will run Riverton's port?", "answer_any": ["Becker"],
         "date": "2025-12-31", "gold_urls": ["https://gazette.example/2026/01/harbour"]},
    ]
    (folder / "qa.jsonl").write_text("\n".join(json.dumps(q) for q in qs) + "\n")
    ref = own_results_reference(folder, load_slice(folder))
    assert ref == {"answer_in_own_results": 0.6, "within_60_days": 0.4}
    report = {"dataset": "slice", "corpus": {}, "questions": 5, "reference": ref,
              "time_on": {"n": 5, "context_recall": 0.4}}
    assert "hold an accepted answer for 0.600 of them (0.400 in an article at most 60 days old)" in realtime_markdown(report)
