"""The incremental keyword index: exactly bm25s's scores through adds, replacements and
deletions; filters pushed down; O(new) writes; other readers follow; damage is seen."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pytest

from core.filters import Filter, day_number
from store.keyword import Entry, KeywordIndex, chunk_key, fingerprint, tokenize

WORDS = "harbour bridge storm cable council budget vote ministry river school hospital strike court ruling fuel price".split()


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30)))


def _entry(i: int, text: str, day: int = -1, source: str = "", host: str = "", version: str = "v1") -> Entry:
    return Entry(f"a{i // 3}:{i % 3}", version, text, f"a{i // 3}", day, source, host)


def _bm25s_scores(entries: list[Entry], query: str) -> dict[str, float]:
    import bm25s

    ref = bm25s.BM25()
    ref.index([tokenize(e.text) or ["_"] for e in entries], show_progress=False)
    docs, scores = ref.retrieve([tokenize(query)], k=len(entries), show_progress=False, n_threads=1)
    return {entries[int(d)].chunk_id: float(s) for d, s in zip(docs[0], scores[0]) if s > 0}


def test_scores_equal_a_bm25s_rebuild_through_adds_replacements_and_deletions(tmp_path):
    rng = random.Random(7)
    live = {e.chunk_id: e for e in (_entry(i, _text(rng)) for i in range(300))}
    index = KeywordIndex(tmp_path / "kw")
    index.rebuild(list(live.values()))
    for step in range(12):  # many small writes: new segments, merges, a purge of dead rows
        add = [_entry(300 + step * 20 + i, _text(rng)) for i in range(20)]
        replaced = [_entry(rng.randrange(300), _text(rng), version="v2") for _ in range(5)]
        gone = rng.sample(sorted(live), 8)
        index.update(add=add + replaced, remove_ids=gone)
        for cid in gone:
            live.pop(cid, None)
        live.update({e.chunk_id: e for e in add + replaced})  # an id both removed and added is added
    assert sorted(index.ids()) == sorted(live)
    assert index.stored_fingerprint() == fingerprint(chunk_key(e.chunk_id, e.content_hash) for e in live.values())
    for query in ("harbour bridge", "storm storm cable", "court ruling on fuel price", "nothing here"):
        want = _bm25s_scores(list(live.values()), query)
        got = dict(index.search(query, len(live)))
        assert set(got) == set(want), query
        assert all(abs(got[c] - want[c]) < 1e-4 * max(1.0, want[c]) for c in want), query


def test_a_write_adds_a_segment_and_leaves_the_big_one_alone(tmp_path):
    rng = random.Random(1)
    index = KeywordIndex(tmp_path / "kw")
    index.rebuild([_entry(i, _text(rng)) for i in range(2000)])
    (big,) = list((tmp_path / "kw").glob("seg-*.npz"))
    index.update(add=[_entry(5000 + i, _text(rng)) for i in range(5)])
    assert big.exists() and len(list((tmp_path / "kw").glob("seg-*.npz"))) == 2
    # another process (a second instance) sees the new chunks; a removal by article too
    other = KeywordIndex(tmp_path / "kw")
    assert "a1666:2" in other.ids() and other.count() == 2005
    index.update(remove_articles=["a1666"])
    assert other.count() == 2004 and not [c for c in other.ids() if c.startswith("a1666:")]


def test_filters_are_pushed_down_so_k_hits_come_back(tmp_path):
    # 40 old chunks say "bridge" many times (they win unfiltered); 10 recent ones say it once
    old = [_entry(i, "bridge " * 8 + "repair", day_number("2024-01-10"), "herald", "herald.example") for i in range(40)]
    new = [_entry(100 + i, "bridge vote council", day_number("2026-03-0" + str(1 + i % 9)), "gazette", "www.gazette.example")
           for i in range(10)]
    undated = [_entry(200 + i, "bridge", -1) for i in range(3)]
    index = KeywordIndex(tmp_path / "kw")
    index.rebuild(old + new[:5])
    index.update(add=new[5:] + undated)  # filter fields live in every segment
    top = index.search("bridge", 5)
    assert all(cid in {e.chunk_id for e in old} for cid, _ in top)
    recent = Filter(since=date(2026, 1, 1))
    got = index.search("bridge", 5, recent)
    assert len(got) == 5 and {cid for cid, _ in got} <= {e.chunk_id for e in new}
    for where in (recent, Filter(until=date(2025, 1, 1)), Filter(sources=("Gazette",)), Filter(sources=("https://www.herald.example/x",)),
                  Filter(article_ids=("a34", "a0")), Filter(since=date(2026, 3, 2), until=date(2026, 3, 4))):
        hits = index.search("bridge", 100, where)
        want = {e.chunk_id for e in old + new + undated if where.matches(e.day, e.source_key, e.host, e.article_id)}
        assert hits and {cid for cid, _ in hits} == want, where


def test_a_damaged_segment_makes_the_index_unreadable_not_wrong(tmp_path):
    index = KeywordIndex(tmp_path / "kw")
    index.rebuild([_entry(i, "storm over the harbour") for i in range(10)])
    next((tmp_path / "kw").glob("seg-*.npz")).write_bytes(b"garbage")
    reader = KeywordIndex(tmp_path / "kw")
    assert reader.search("storm", 5) == [] and reader.error and reader.stored_fingerprint() == ""
    with pytest.raises(RuntimeError, match="rebuild"):
        reader.update(add=[_entry(99, "storm")])


def test_fingerprint_is_order_free_and_sees_versions():
    keys = [chunk_key(f"a:{i}", "h1") for i in range(50)]
    assert fingerprint(keys) == fingerprint(reversed(keys))
    assert fingerprint(keys) != fingerprint(keys[:-1] + [chunk_key("a:49", "h2")])
    assert np.uint64(int(fingerprint([]), 16)) == 0


def test_an_index_of_an_older_format_is_rebuilt_before_answering(writable_store, embedder, settings):
    """A store whose keyword index predates this newsrag (or was deleted) gets keyword hits again on the first open."""
    from rag.engine import Engine
    from store import Store

    writable_store.keyword.remove_files()
    (writable_store.keyword.folder).mkdir(parents=True, exist_ok=True)
    (writable_store.keyword.folder / "bm25.pkl").write_bytes(b"an older pickled index")
    fresh = Store.open(writable_store.home, embedder.identity, embedder.dimension)
    assert not fresh.lexical("Peskov", 3)
    engine = Engine.from_settings(settings.model_copy(update={"home": writable_store.home, "llm": "extractive"}), embedder=embedder)
    assert engine.store.lexical("Peskov", 3)
