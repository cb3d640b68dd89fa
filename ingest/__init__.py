"""Articles in: read (files, pages, feeds), extract news metadata, strip furniture, chunk, embed, upsert."""

from ingest.chunking import chunk_article
from ingest.files import find_files
from ingest.pipeline import IngestReport, ingest, remove, store_units
from ingest.readers import IngestOptions, load_file
from ingest.registry import register, suffixes, unregister
from ingest.update import add_feed, every, parse_period, update
from ingest.web import FetchLimits, is_url
from core.articles import Article, Chunk

__all__ = [
    "Article", "Chunk", "FetchLimits", "IngestOptions", "IngestReport", "add_feed", "chunk_article", "every", "find_files",
    "ingest", "is_url", "load_file", "parse_period", "register", "remove", "store_units", "suffixes", "unregister", "update",
]
