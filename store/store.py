"""The store: Chroma chunks + BM25 keyword index + manifest, kept in agreement.

Write order per article (crash-safe by construction, see issue #7):
1. upsert the new chunks (ids `article:index`, deterministic, so a replay adds nothing);
2. delete that article's chunks carrying another content hash (an older version);
3. record the article in the manifest (only now does it count as ingested).
The keyword index is rebuilt from Chroma after a batch of writes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from store.chroma import ChunkStore, Hit, collection_name, make_client
from store.keyword import KeywordIndex
from store.lock import WriterLock
from store.manifest import ArticleRow, Manifest

if TYPE_CHECKING:  # store knows articles only by shape; ingest depends on store, not back
    from ingest.types import Article, Chunk

log = logging.getLogger(__name__)


def keyword_text(text: str, meta: dict[str, Any]) -> str:
    return f"{meta.get('title', '')} {meta.get('source', '')} {meta.get('date', '')}\n{text}"


class Store:
    def __init__(self, home: Path, chunks: ChunkStore, lock_timeout: float = 0.0) -> None:
        self.home = home
        self.chunks = chunks
        self.keyword = KeywordIndex(home / "keyword" / chunks.name)
        self.manifest = Manifest(home / "manifests" / f"{chunks.name}.sqlite")
        self.lock_timeout = lock_timeout

    @classmethod
    def open(
        cls,
        home: Path,
        embedder_identity: str,
        dimension: int,
        base: str = "articles",
        chroma_url: str | None = None,
        lock_timeout: float = 0.0,
        client: Any = None,
    ) -> "Store":
        client = client or make_client(home, chroma_url)
        name = collection_name(base, embedder_identity)
        return cls(home, ChunkStore(client, name, embedder_identity, dimension), lock_timeout)

    def writer(self) -> WriterLock:
        return WriterLock(self.home / f"{self.chunks.name}.lock", self.lock_timeout)

    # --- writes (hold `writer()`)
    def is_current(self, article: "Article") -> bool:
        row = self.manifest.get(article.article_id)
        return row is not None and row.content_hash == article.content_hash

    def write_article(self, article: "Article", chunks: Sequence["Chunk"], vectors: Sequence[Sequence[float]]) -> None:
        aid, h = article.article_id, article.content_hash
        metas = [
            {
                "article_id": aid,
                "content_hash": h,
                "chunk_index": c.index,
                "n_chunks": len(chunks),
                "start": c.start,
                "end": c.end,
                "title": article.title,
                "byline": article.byline,
                "date": article.date,
                "source": article.source,
                "url": article.url,
                "path": article.path,
                # sentence spans in the article, so a citation can quote one sentence exactly
                "sentences": json.dumps([list(x) for x in c.sentences]),
            }
            for c in chunks
        ]
        self.chunks.upsert([c.chunk_id for c in chunks], vectors, [c.text for c in chunks], metas)
        self.chunks.delete_article(aid, keep_hash=h)
        self.manifest.put(
            ArticleRow(aid, h, len(chunks), article.title, article.byline, article.date, article.source, article.url, article.path)
        )

    def remove_article(self, article_id: str) -> None:
        self.chunks.delete_article(article_id)
        self.manifest.remove(article_id)

    def sync_keyword(self) -> None:
        hits = self.chunks.all()
        self.keyword.rebuild([(h.chunk_id, keyword_text(h.text, h.meta)) for h in hits])

    # --- reads
    def dense(self, vector: Sequence[float], k: int) -> list[Hit]:
        return self.chunks.query(vector, k)

    def lexical(self, query: str, k: int) -> list[tuple[str, float]]:
        return self.keyword.search(query, k)

    def get(self, ids: list[str]) -> list[Hit]:
        return self.chunks.get(ids)

    def is_empty(self) -> bool:
        return self.chunks.count() == 0
