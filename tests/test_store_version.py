"""A store written by an older newsrag is migrated when opened (or, while an ingest runs, the
message names both versions and the way out); one written by a newer newsrag says to upgrade."""

from __future__ import annotations

import pytest

from core.articles import RECORD_VERSION
from core.errors import StoreError
from store import Store


def rewrite(store: Store, change) -> None:
    """Rewrite every chunk's metadata as another newsrag would have written it."""
    col = store.chunks._col
    res = col.get(include=["embeddings", "documents", "metadatas"])
    col.delete(ids=res["ids"])
    col.add(ids=res["ids"], embeddings=res["embeddings"], documents=res["documents"], metadatas=[change(dict(m)) for m in res["metadatas"]])


def first_layout(meta: dict) -> dict:
    meta.pop("v"), meta.pop("day")  # version 1: no version mark, no numeric day
    return meta


def reopen(sample_store, embedder) -> Store:
    return Store.open(sample_store.home, embedder.identity, embedder.dimension)


def test_a_store_of_an_older_newsrag_is_migrated_when_opened(sample_store, embedder):
    rewrite(sample_store, first_layout)
    sample_store.manifest.set_meta("record_version", "1")
    store = reopen(sample_store, embedder)
    assert store.chunks.sample_meta()["v"] == RECORD_VERSION and store.record_version() == RECORD_VERSION
    assert all("day" in m for _, m in store.chunks.scan())


def test_an_older_store_busy_with_an_ingest_names_its_version_and_the_way_out(sample_store, embedder):
    from store import WriterLock

    rewrite(sample_store, first_layout)
    sample_store.manifest.set_meta("record_version", "1")
    with WriterLock(sample_store.lock_path, 0):  # an ingest is running
        with pytest.raises(StoreError) as e:
            reopen(sample_store, embedder)
    msg = str(e.value)
    assert f"written by an older newsrag (chunk records v1; this newsrag reads v{RECORD_VERSION}" in msg
    assert "newsrag doctor --fix" in msg and str(sample_store.home) in msg


def test_a_store_of_a_newer_newsrag_says_to_upgrade(sample_store, embedder):
    rewrite(sample_store, lambda m: m | {"v": RECORD_VERSION + 1})
    with pytest.raises(StoreError, match=rf"newer newsrag \(chunk records v{RECORD_VERSION + 1}; this newsrag reads v{RECORD_VERSION}\): upgrade newsrag"):
        reopen(sample_store, embedder)


def test_an_empty_or_current_store_opens_and_records_its_layout(store, sample_store, embedder):
    assert reopen(sample_store, embedder).chunks.metadata["records"] == RECORD_VERSION
