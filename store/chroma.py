"""Chunks in Chroma: embedded on disk by default, or a Chroma server by URL.

Each embedder gets its own collection (its identity is in the name and the
metadata), so vectors from two models never mix. Chroma never embeds: we pass
vectors (its default embedding function would download a model).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlparse

from core.errors import StoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    text: str
    meta: dict[str, Any]
    score: float  # cosine similarity


def collection_name(base: str, embedder_identity: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", embedder_identity.split(":")[1] if ":" in embedder_identity else embedder_identity)
    digest = hashlib.sha256(embedder_identity.encode()).hexdigest()[:8]
    return f"{base}-{slug.strip('-')[:40]}-{digest}".lower()


def make_client(home: Path, url: str | None = None) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    cs = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        u = urlparse(url)
        try:
            return chromadb.HttpClient(host=u.hostname or "127.0.0.1", port=u.port or 8000, ssl=u.scheme == "https", settings=cs)
        except Exception as e:
            raise StoreError(f"cannot reach the Chroma server at {url} (NEWSRAG_CHROMA_URL): {e}") from e
    home.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(home / "chroma"), settings=cs)


def collections(client: Any) -> list[tuple[str, dict[str, Any], int]]:
    """(name, metadata, chunk count) of every collection, for `newsrag doctor`."""
    out = []
    for col in client.list_collections():
        col = client.get_collection(col) if isinstance(col, str) else col  # older clients list names
        out.append((col.name, dict(col.metadata or {}), col.count()))
    return out


class ChunkStore:
    def __init__(self, client: Any, name: str, embedder_identity: str, dimension: int) -> None:
        self.name = name
        self.identity = embedder_identity
        self._col = client.get_or_create_collection(
            name=name,
            embedding_function=None,
            metadata={"embedder": embedder_identity, "dimension": dimension, "hnsw:space": "cosine"},
        )
        meta = self._col.metadata or {}
        if meta.get("embedder") != embedder_identity:
            raise StoreError(
                f"collection {name!r} was built with embedder {meta.get('embedder')!r}, not {embedder_identity!r}: "
                "run `newsrag doctor --fix` or re-ingest with the embedder it was built with (NEWSRAG_EMBED)"
            )

    def count(self) -> int:
        return self._col.count()

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._col.metadata or {})

    def vector_dimension(self) -> int | None:
        """Length of a stored vector (None when the collection is empty)."""
        res = self._col.get(limit=1, include=["embeddings"])
        vectors = res.get("embeddings")
        return None if vectors is None or len(vectors) == 0 else len(vectors[0])

    def scan(self, batch: int = 5000) -> list[tuple[str, dict[str, Any]]]:
        """(chunk id, metadata) of every chunk, without the texts."""
        out: list[tuple[str, dict[str, Any]]] = []
        offset = 0
        while True:
            res = self._col.get(include=["metadatas"], limit=batch, offset=offset)
            out.extend((cid, meta or {}) for cid, meta in zip(res["ids"], res["metadatas"]))
            if len(res["ids"]) < batch:
                return out
            offset += batch

    def delete_ids(self, ids: list[str], batch: int = 1000) -> None:
        for i in range(0, len(ids), batch):
            self._col.delete(ids=ids[i : i + batch])

    def upsert(self, ids: list[str], vectors: Sequence[Sequence[float]], texts: list[str], metas: list[dict[str, Any]]) -> None:
        if ids:
            self._col.upsert(ids=ids, embeddings=[list(map(float, v)) for v in vectors], documents=texts, metadatas=metas)

    def delete_article(self, article_id: str, keep_hash: str | None = None) -> None:
        where: dict[str, Any] = {"article_id": article_id}
        if keep_hash is not None:
            where = {"$and": [where, {"content_hash": {"$ne": keep_hash}}]}
        self._col.delete(where=where)

    def other_versions(self, hashes: dict[str, str], batch: int = 200) -> list[str]:
        """Ids of chunks of these articles (id -> content hash) that carry another content hash."""
        aids = list(hashes)
        out = []
        for i in range(0, len(aids), batch):
            res = self._col.get(where={"article_id": {"$in": aids[i : i + batch]}}, include=["metadatas"])
            out += [cid for cid, m in zip(res["ids"], res["metadatas"]) if (m or {}).get("content_hash") != hashes.get(str((m or {}).get("article_id")))]
        return out

    def article_chunks(self, article_id: str) -> dict[str, Any]:
        return self._col.get(where={"article_id": article_id}, include=["metadatas"])

    def query(self, vector: Sequence[float], k: int) -> list[Hit]:
        n = self.count()
        if n == 0:
            return []
        res = self._col.query(query_embeddings=[list(map(float, vector))], n_results=min(k, n), include=["documents", "metadatas", "distances"])
        return [
            Hit(cid, doc or "", meta or {}, 1.0 - float(dist))
            for cid, doc, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])
        ]

    def get(self, ids: list[str]) -> list[Hit]:
        if not ids:
            return []
        res = self._col.get(ids=ids, include=["documents", "metadatas"])
        found = {cid: Hit(cid, doc or "", meta or {}, 0.0) for cid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"])}
        return [found[i] for i in ids if i in found]

    def all(self, batch: int = 5000) -> list[Hit]:
        """Every chunk (for rebuilding the keyword index and checks)."""
        out: list[Hit] = []
        offset = 0
        while True:
            res = self._col.get(include=["documents", "metadatas"], limit=batch, offset=offset)
            out.extend(Hit(cid, doc or "", meta or {}, 0.0) for cid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"]))
            if len(res["ids"]) < batch:
                return out
            offset += batch
