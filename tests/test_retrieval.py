"""Hybrid retrieval on a real store: keyword index in sync with Chroma through
re-ingest and removal, news headers indexed but never quoted, near-duplicate
collapse, and the number preference."""

import numpy as np

from core.text import number_tokens, tokenize
from ingest import ingest, remove
from core.settings import defaults
from rag.factory import retriever
from rag.stages import overlap as _jaccard, shingles as _shingles
from store import Store
from conftest import ingest_opts

ARTICLE = """Harbour bridge reopens after storm repairs

By Jane Doe, The Coastal Herald
March 3, 2025

The harbour bridge reopened on Monday after three weeks of repairs to its northern span, the city engineer said.

Engineers replaced forty steel cables damaged when the storm pushed a cargo ship against the pillars.

Traffic will be limited to two lanes until the summer, when the resurfacing work ends.
"""


def keyword_ids_match_chroma(store):
    return sorted(store.keyword.ids()) == sorted(h.chunk_id for h in store.chunks.all())


def test_keyword_index_follows_reingest_and_removal(store, embedder, corpus, tmp_path):
    ingest([corpus], store, embedder, ingest_opts())
    assert keyword_ids_match_chroma(store)
    path = corpus / "000_e99bd238092f2c2c.txt"
    assert store.lexical("Telegram Interior Ministry", 3)
    # re-ingest a changed file: the old words leave the keyword index, the new ones enter it
    path.write_text(path.read_text().replace("Telegram", "Zorblatt"))
    ingest([corpus], store, embedder, ingest_opts())
    assert keyword_ids_match_chroma(store)
    hit_ids = [cid for cid, _ in store.lexical("Zorblatt", 5)]
    assert hit_ids and all(cid in {h.chunk_id for h in store.chunks.all()} for cid in hit_ids)
    assert not store.lexical("Telegram", 5)
    # another process (a fresh Store on the same folder) sees the same index
    other = Store.open(store.home, embedder.identity, embedder.dimension)
    assert sorted(other.keyword.ids()) == sorted(store.keyword.ids())
    assert [c for c, _ in other.lexical("Zorblatt", 5)] == hit_ids
    # removal: no keyword entry of the removed article survives, and retrieval never returns it
    (aid,) = remove([str(path)], store)
    assert keyword_ids_match_chroma(store)
    assert not any(cid.startswith(aid) for cid in store.keyword.ids())
    assert not store.lexical("Zorblatt", 5)
    passages = retriever(defaults(), store, embedder).retrieve("Which ministry reported on Zorblatt?", 4)
    assert passages and all(p.article_id != aid for p in passages)


def test_header_is_embedded_and_keyword_indexed_but_not_quoted(store, embedder, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "bridge.txt").write_text(ARTICLE)
    ingest([tmp_path / "a"], store, embedder, ingest_opts())
    hits = store.chunks.all()
    assert hits and all("Coastal Herald" not in h.text and "Harbour bridge reopens" not in h.text for h in hits)
    # "Herald" is only in the header: the keyword index finds every chunk through it
    assert {c for c, _ in store.lexical("Herald", 10)} == {h.chunk_id for h in hits}
    # what was embedded is header + passage, not the passage alone
    got = store.chunks._col.get(ids=[hits[0].chunk_id], include=["embeddings"])["embeddings"][0]
    header = "Harbour bridge reopens after storm repairs (The Coastal Herald, 2025-03-03)"
    with_header = np.array(embedder.get_text_embedding(f"{header}\n{hits[0].text}"))
    alone = np.array(embedder.get_text_embedding(hits[0].text))
    assert float(np.dot(got, with_header)) > 0.999 > float(np.dot(got, alone))
    # and passages handed to the LLM quote the article only
    (p,) = retriever(defaults(), store, embedder).retrieve("How many steel cables were replaced?", 1)
    assert p.title == "Harbour bridge reopens after storm repairs" and p.source == "The Coastal Herald"
    assert "Coastal Herald" not in p.text and "forty steel cables" in p.text


def test_syndicated_copies_do_not_fill_the_top_k(store, embedder, tmp_path):
    folder = tmp_path / "wire"
    folder.mkdir()
    body = ARTICLE.split("\n\n", 2)[2]
    for i, outlet in enumerate(["The Coastal Herald", "Northern Times", "Daily Ledger", "Wire Service"]):
        # the same story under other outlets, one with a small edit
        text = body if i != 2 else body.replace("on Monday", "on Monday morning")
        (folder / f"copy{i}.txt").write_text(f"Harbour bridge reopens\n\nBy Staff, {outlet}\nMarch {3 + i}, 2025\n\n{text}")
    (folder / "other.txt").write_text("City council approves budget\n\nThe council approved a budget for parks and bridges on Tuesday.\n")
    ingest([folder], store, embedder, ingest_opts())
    question = "When did the harbour bridge reopen after the storm repairs?"
    collapsed = retriever(defaults(top_k=4), store, embedder).retrieve(question)
    texts = [_shingles(p.text) for p in collapsed]
    assert all(_jaccard(a, b) < 0.8 for i, a in enumerate(texts) for b in texts[i + 1 :])
    assert len({p.article_id for p in collapsed}) == len(collapsed)
    assert any("City council" in p.text or "council approved" in p.text for p in collapsed)
    # without the collapse the copies would take every slot: the test above can fail
    flooded = retriever(defaults(top_k=4, dedupe_jaccard=1.01), store, embedder).retrieve(question)
    assert all("harbour bridge reopened" in p.text for p in flooded)


def test_numbers_asked_about_are_preferred(store, embedder, tmp_path):
    folder = tmp_path / "chess"
    folder.mkdir()
    (folder / "a.txt").write_text(
        "Springfield chess open\n\nWho won the Springfield chess open? The winner of the Springfield chess open in 2021 was Bob Jones, "
        "who won the Springfield chess open final.\n"
    )
    (folder / "b.txt").write_text("Library tournament results\n\nAlice Moreau finished first at the 2019 tournament held at the Springfield library.\n")
    ingest([folder], store, embedder, ingest_opts())
    question = "Who won the Springfield chess open in 2019?"
    plain = retriever(defaults(number_boost=0), store, embedder).retrieve(question, 2)
    assert "Bob Jones" in plain[0].text  # on words alone, the echo of the question wins
    (best, _) = retriever(defaults(), store, embedder).retrieve(question, 2)
    assert "Alice Moreau" in best.text and best.dense_rank is not None and best.keyword_rank is not None


def test_number_tokens():
    assert tokenize("The fourth season, the 90th Academy Awards, Q1 2021") == ["4", "season", "90", "academy", "awards", "q1", "2021"]
    assert number_tokens("Who won Wimbledon in 2019?") == {"2019"}
    assert number_tokens("Which one was the first?") == set()  # "one"/"first" are mostly not numbers


def test_passages_keep_every_score_that_ranked_them(sample_store, embedder):
    passages = retriever(defaults(), sample_store, embedder).retrieve("Who is the Kremlin spokesman quoted about the Abu Dhabi meetings?", 4)
    assert [p.n for p in passages] == [1, 2, 3, 4]
    assert all(p.score > 0 and (p.dense_rank or p.keyword_rank) for p in passages)
    assert passages == sorted(passages, key=lambda p: -p.score)
    assert any(p.dense_score is not None and p.keyword_score is not None for p in passages)


def test_collapse_keeps_the_first_of_each_set_of_copies_and_lists_their_outlets():
    """The collapse finds copies through the shingles they share; what it keeps must be what
    comparing every passage with every kept one gives: the first of each set of copies, with the
    other outlets that ran it, among whole copies, edited ones, cut ones and unrelated texts."""
    import random

    from rag.retrieve import Candidate
    from rag.stages import Collapse
    from store.chroma import Hit

    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(300)]
    stories = [[rng.choice(vocab) for _ in range(rng.randint(25, 70))] for _ in range(12)]
    texts = []
    for _ in range(160):
        s = list(rng.choice(stories))
        kind = rng.random()
        if kind < 0.3:
            s = s[rng.randint(0, 10) :]  # cut at another place
        elif kind < 0.6:
            for _ in range(rng.randint(1, 12)):
                s[rng.randrange(len(s))] = rng.choice(vocab)  # edited
        elif kind < 0.75:
            s = [rng.choice(vocab) for _ in range(rng.randint(5, 60))]  # unrelated
        texts.append(" ".join(s))
    outlets = ["Herald", "Times", "Ledger", "Wire"]

    def cands():
        return [Candidate(f"a{i}:0", Hit(f"a{i}:0", t, {"article_id": f"a{i}", "source": outlets[i % 4]}, 0.0)) for i, t in enumerate(texts)]

    got = Collapse(0.6)(None, cands())
    kept: list[tuple[Candidate, set[str]]] = []
    for c in cands():  # the definition: compare with every passage kept so far, in order
        words = _shingles(c.hit.text)
        first = next((k for k, s in kept if _jaccard(words, s) >= 0.6), None)
        if first is None:
            kept.append((c, words))
        elif c.record.source != first.record.source and c.record.source not in first.also_in:
            first.also_in.append(c.record.source)
    assert [(c.chunk_id, c.also_in) for c in got] == [(c.chunk_id, c.also_in) for c, _ in kept]
    assert 12 < len(got) < 100  # copies were collapsed, unrelated texts kept
