"""A store written by an older or a newer newsrag: opening it names both versions and the way
out, or runs the migration when this newsrag has one (`store.migrate.migrate(store, from_version)`)."""

from __future__ import annotations

import importlib.machinery
import sys
import types

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


def test_a_store_of_an_older_newsrag_names_its_version_and_the_way_out(sample_store, embedder):
    rewrite(sample_store, first_layout)
    with pytest.raises(StoreError) as e:
        reopen(sample_store, embedder)
    msg = str(e.value)
    assert f"written by an older newsrag (chunk records v1; this newsrag reads v{RECORD_VERSION}" in msg
    assert "NEWSRAG_HOME" in msg and "newsrag ingest" in msg and str(sample_store.home) in msg


def test_a_store_of_a_newer_newsrag_says_to_upgrade(sample_store, embedder):
    rewrite(sample_store, lambda m: m | {"v": RECORD_VERSION + 1})
    with pytest.raises(StoreError, match=rf"newer newsrag \(chunk records v{RECORD_VERSION + 1}; this newsrag reads v{RECORD_VERSION}\): upgrade newsrag"):
        reopen(sample_store, embedder)


def test_an_older_store_is_migrated_when_a_migration_exists(sample_store, embedder, monkeypatch):
    rewrite(sample_store, first_layout)
    calls = []

    def migrate(store: Store, from_version: int) -> None:
        calls.append(from_version)
        rewrite(store, lambda m: m | {"v": RECORD_VERSION, "day": 0})

    hook = types.ModuleType("store.migrate")
    hook.__spec__ = importlib.machinery.ModuleSpec("store.migrate", None)
    hook.migrate = migrate
    monkeypatch.setitem(sys.modules, "store.migrate", hook)
    store = reopen(sample_store, embedder)
    assert calls == [1] and store.chunks.sample_meta()["v"] == RECORD_VERSION
    assert reopen(sample_store, embedder) and calls == [1], "migrated once"


def test_an_empty_or_current_store_opens_and_records_its_layout(store, sample_store, embedder):
    assert reopen(sample_store, embedder).chunks.metadata["records"] == RECORD_VERSION
