"""A store written by an older newsrag is migrated when opened (or, while an ingest runs, the
message names both versions and the way out); one written by a newer newsrag says to upgrade."""

from __future__ import annotations

import pytest

from core.articles import RECORD_VERSION
from core.errors import StoreError
from store.chroma import FILTER_KEYS
from conftest import first_layout, rewrite_layout, second_layout
from store import Store


def reopen(store, embedder) -> Store:
    return Store.open(store.home, embedder.identity, embedder.dimension)


def test_a_store_of_an_older_newsrag_is_migrated_when_opened(writable_store, embedder):
    rewrite_layout(writable_store, first_layout)
    writable_store.manifest.set_meta("record_version", "1")
    store = reopen(writable_store, embedder)
    assert store.chunks.sample_meta()["v"] == RECORD_VERSION and store.record_version() == RECORD_VERSION
    assert all("day" in m for _, m in store.chunks.scan())


def test_a_store_of_the_second_layout_is_packed_when_opened_and_answers_the_same(writable_store, embedder):
    """Layout 2 kept every field as a Chroma key and the text as a document; opening it packs
    each record with its text, and every chunk reads back as before."""
    vec = embedder.get_query_embedding("Who was named harbour director?")
    before = {h.chunk_id: (h.text, h.meta) for h in writable_store.chunks.all()}
    ranked = [h.chunk_id for h in writable_store.dense(vec, 5)]
    rewrite_layout(writable_store, second_layout)
    writable_store.manifest.set_meta("record_version", "2")
    raw = writable_store.chunks._col.get(include=["documents", "metadatas"])
    assert all(d for d in raw["documents"]) and all("title" in m for m in raw["metadatas"])
    store = reopen(writable_store, embedder)
    assert store.record_version() == RECORD_VERSION
    raw = store.chunks._col.get(include=["documents", "metadatas"])
    assert not any(raw["documents"]) and all(set(m) == set(FILTER_KEYS) | {"rec"} for m in raw["metadatas"])
    assert {h.chunk_id: (h.text, h.meta) for h in store.chunks.all()} == before
    assert [h.chunk_id for h in store.dense(vec, 5)] == ranked


def test_chunks_are_written_packed_without_a_document(sample_store):
    """Chroma indexes every key and document at each write: only the filter keys stay apart."""
    raw = sample_store.chunks._col.get(include=["documents", "metadatas"])
    assert raw["ids"] and raw["documents"] == [None] * len(raw["ids"])
    assert all(set(m) == set(FILTER_KEYS) | {"rec"} for m in raw["metadatas"])
    assert all(h.text and h.meta["title"] for h in sample_store.chunks.all())


def test_an_older_store_busy_with_an_ingest_names_its_version_and_the_way_out(writable_store, embedder):
    from store import WriterLock

    rewrite_layout(writable_store, first_layout)
    writable_store.manifest.set_meta("record_version", "1")
    with WriterLock(writable_store.lock_path, 0):  # an ingest is running
        with pytest.raises(StoreError) as e:
            reopen(writable_store, embedder)
    msg = str(e.value)
    assert f"written by an older newsrag (chunk records v1; this newsrag reads v{RECORD_VERSION}" in msg
    assert "newsrag doctor --fix" in msg and str(writable_store.home) in msg


def test_a_store_of_a_newer_newsrag_says_to_upgrade(writable_store, embedder):
    rewrite_layout(writable_store, lambda m: m | {"v": RECORD_VERSION + 1})
    with pytest.raises(StoreError, match=rf"newer newsrag \(chunk records v{RECORD_VERSION + 1}; this newsrag reads v{RECORD_VERSION}\): upgrade newsrag"):
        reopen(writable_store, embedder)


def test_an_empty_or_current_store_opens_and_records_its_layout(store, sample_store, embedder):
    assert reopen(store, embedder).record_version() == RECORD_VERSION
    assert reopen(sample_store, embedder).chunks.metadata["records"] == RECORD_VERSION


def test_a_migration_cut_short_is_finished_by_the_next_open(writable_store, embedder):
    """Half the chunks packed when the migration stopped (no mark written): opening again packs
    the rest, rewrites the packed half without harm, and every chunk reads back as before."""
    from core.articles import ChunkRecord

    before = {h.chunk_id: (h.text, h.meta) for h in writable_store.chunks.all()}
    rewrite_layout(writable_store, second_layout)
    writable_store.manifest.set_meta("record_version", "2")
    ids = sorted(before)
    writable_store.chunks.relayout(ids[: len(ids) // 2], lambda m: ChunkRecord.from_meta(m).to_meta())
    store = reopen(writable_store, embedder)
    raw = store.chunks._col.get(include=["documents", "metadatas"])
    assert store.record_version() == RECORD_VERSION and not any(raw["documents"])
    assert all(set(m) == set(FILTER_KEYS) | {"rec"} for m in raw["metadatas"])
    assert {h.chunk_id: (h.text, h.meta) for h in store.chunks.all()} == before
