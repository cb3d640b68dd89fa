"""Chroma chunks, the BM25 keyword index and the ingest manifest, kept in agreement."""

from store.audit import Audit, audit
from store.chroma import Hit, collection_name
from store.lock import WriterLock, name_command
from store.manifest import ArticleQuery, ArticleRow, FeedRow, Manifest
from store.repair import repair
from store.store import Store

__all__ = ["ArticleQuery", "ArticleRow", "FeedRow", "Audit", "Hit", "Manifest", "Store", "WriterLock", "audit", "collection_name", "name_command", "repair"]
