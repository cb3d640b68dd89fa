"""Chroma chunks, the BM25 keyword index and the ingest manifest, kept in agreement."""

from store.chroma import Hit, collection_name
from store.lock import WriterLock
from store.manifest import ArticleRow, Manifest
from store.store import Store

__all__ = ["ArticleRow", "Hit", "Manifest", "Store", "WriterLock", "collection_name"]
