"""Articles in: read (files, pages, feeds), extract news metadata, strip furniture, chunk, embed, upsert."""

from ingest.chunking import chunk_article
from ingest.pipeline import IngestOptions, IngestReport, find_files, ingest, load_file, remove, store_units
from ingest.readers import suffixes
from ingest.update import add_feed, every, parse_period, update
from ingest.web import FetchLimits, is_url
from core.articles import Article, Chunk

__all__ = [
    "Article", "Chunk", "FetchLimits", "IngestOptions", "IngestReport", "add_feed", "chunk_article", "every", "find_files",
    "ingest", "is_url", "load_file", "parse_period", "remove", "store_units", "suffixes", "update",
]
