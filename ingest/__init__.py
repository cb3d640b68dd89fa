"""Articles in: read, extract news metadata, strip furniture, chunk, embed, upsert."""

from ingest.chunking import chunk_article
from ingest.pipeline import IngestOptions, IngestReport, find_files, ingest, load_file, remove
from core.articles import Article, Chunk

__all__ = [
    "Article", "Chunk", "IngestOptions", "IngestReport", "chunk_article", "find_files", "ingest", "load_file", "remove",
]
