"""Chunks in Chroma: embedded on disk by default, or a Chroma server by URL.

Each embedder gets its own collection (its identity is in the name and the
metadata), so vectors from two models never mix. Chroma never embeds: we pass
vectors (its default embedding function would download a model).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence
from urllib.parse import urlparse

import numpy as np

from core.articles import RECORD_VERSION, ChunkRecord
from core.errors import StoreError
from core.filters import Filter
from store.failures import store_failure

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


# Layout v3 of a chunk in Chroma (core.articles.RECORD_VERSION). Chroma indexes every metadata
# key and every document (full text), and that indexing was most of its write cost: 1.2-1.5 s of
# CPU for RGB's 969 snippets beside the embedder, against 0.6-0.75 s with the keys `where` filters
# on kept apart and the rest of the record and the text packed in one string (bench/README.md).
# No document is stored. Records of the older layouts (flat keys, the text as the document) read
# the same through `unpack`.
FILTER_KEYS = ("article_id", "content_hash", "day", "source_key", "host", "v")
PACKED = "rec"


def pack(meta: dict[str, Any], text: str) -> dict[str, Any]:
    """A flat chunk record (`ChunkRecord.to_meta`) and its text, as stored in Chroma."""
    rest = {k: v for k, v in meta.items() if k not in FILTER_KEYS}
    rest["text"] = text
    return {k: meta[k] for k in FILTER_KEYS if k in meta} | {PACKED: json.dumps(rest, ensure_ascii=False)}


def unpack(meta: dict[str, Any] | None, document: str | None) -> tuple[str, dict[str, Any]]:
    """(text, flat record) of a stored chunk, whatever its layout."""
    meta = dict(meta or {})
    packed = meta.pop(PACKED, None)
    if packed is None:
        return document or "", meta
    rest = json.loads(packed)
    return str(rest.pop("text", "")), meta | rest


def where_clause(flt: Filter | None) -> dict[str, Any] | None:
    """A Filter as Chroma's `where` over the chunk record (`core.articles.ChunkRecord`)."""
    if flt is None or flt.empty:
        return None
    conds: list[dict[str, Any]] = []
    if flt.since is not None:
        conds.append({"day": {"$gte": flt.since_day}})
    if flt.until is not None:
        conds.append({"day": {"$lte": flt.until_day}})
    if flt.sources:
        conds.append({"$or": [{"source_key": {"$in": list(flt.sources)}}, {"host": {"$in": list(flt.sources)}}]})
    if flt.article_ids:
        conds.append({"article_id": {"$in": list(flt.article_ids)}})
    return conds[0] if len(conds) == 1 else {"$and": conds}


def admits(flt: Filter, meta: dict[str, Any]) -> bool:
    """`Filter.matches` on a chunk's stored record."""
    r = ChunkRecord.from_meta(meta)
    return flt.matches(r.day, r.source, r.host, r.article_id)


OVERFETCH = 3  # a filtered search first looks this many times deeper, unfiltered


def make_client(home: Path, url: str | None = None) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    cs = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        u = urlparse(url)
        try:
            return chromadb.HttpClient(host=u.hostname or "127.0.0.1", port=u.port or 8000, ssl=u.scheme == "https", settings=cs)
        except Exception as e:
            if unreachable(e):
                raise server_gone(url) from e
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


def embedder_problem(meta: dict[str, Any], identity: str, dimension: int = 0, stored: int | None = None) -> str:
    """Why a collection (its metadata, and the length of a `stored` vector when known) does not fit
    the embedder `identity` making `dimension`-long vectors (0: unknown); "" when it fits."""
    if meta.get("embedder") != identity:
        return f"was built with embedder {meta.get('embedder')!r}, not {identity!r}"
    if dimension and (meta.get("dimension") not in (None, dimension) or stored not in (None, dimension)):
        return f"holds {stored or meta.get('dimension')}-dimensional vectors, the embedder makes {dimension}"
    return ""


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` (or its cause/context) is a connection that failed: refused, reset, timed out."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, (ConnectionError, TimeoutError)) or type(e).__module__.startswith(("httpx", "httpcore")):
            return True
        stack += [e.__cause__, e.__context__]
    return False


def server_gone(url: str) -> StoreError:
    return StoreError(
        f"the Chroma server at {url} (NEWSRAG_CHROMA_URL) does not answer: start it again (chroma run --path ... --port ...) "
        "or fix NEWSRAG_CHROMA_URL; answering resumes by itself once it is back"
    )


class _Guarded:
    """A Chroma collection whose failures come out as one StoreError each: on a server, a call
    that cannot reach it names NEWSRAG_CHROMA_URL (the HTTP client reconnects on the next call,
    so nothing has to be reopened); on disk, a full disk is DiskFullError and Chroma's other
    failures say what to run (store/failures.py)."""

    def __init__(self, col: Any, url: str | None, home: Path | None = None) -> None:
        self._col = col
        self._url = url
        self._home = home

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._col, name)
        if not callable(attr):
            return attr

        def call(*a: Any, **kw: Any) -> Any:
            try:
                return attr(*a, **kw)
            except Exception as e:
                if self._url and unreachable(e):
                    log.warning("Chroma server at %s unreachable: %s", self._url, e)
                    raise server_gone(self._url) from e
                # on disk: a full disk, damaged files (a server's own failures are its to report)
                mapped = store_failure(e, self._home, "use") if self._home is not None and not self._url else None
                if mapped is None or mapped is e:
                    raise
                raise mapped from e

        return call


class ChunkStore:
    def __init__(
        self, client: Any, name: str, embedder_identity: str, dimension: int, url: str | None = None, home: Path | None = None
    ) -> None:
        """`home`: NEWSRAG_HOME, where a full disk or a failing Chroma is reported (store/failures.py)."""
        self.name = name
        self.identity = embedder_identity
        self.url = url
        guard = url or home is not None
        create = _Guarded(client, url, home).get_or_create_collection if guard else client.get_or_create_collection
        col = create(
            name=name,
            embedding_function=None,
            metadata={"embedder": embedder_identity, "dimension": dimension, "hnsw:space": "cosine", "records": RECORD_VERSION},
        )
        self._col = _Guarded(col, url, home) if guard else col
        if wrong := embedder_problem(self._col.metadata or {}, embedder_identity, dimension):
            raise StoreError(
                f"collection {name!r} {wrong}: "
                "run `newsrag doctor --fix` or re-ingest with the embedder it was built with (NEWSRAG_EMBED)"
            )

    def count(self) -> int:
        return self._col.count()

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._col.metadata or {})

    def sample_meta(self) -> dict[str, Any] | None:
        """The record of one stored chunk (None when the collection is empty)."""
        res = self._col.get(limit=1, include=["metadatas"])
        if not res.get("ids"):
            return None
        return unpack((res.get("metadatas") or [{}])[0], None)[1]

    def ids(self, where: dict[str, Any] | None = None, batch: int = 30000) -> list[str]:
        """Every chunk id, or those matching a Chroma `where` (no records: cheap even paged by offset)."""
        out: list[str] = []
        offset = 0
        while True:
            res = self._col.get(where=where, include=[], limit=batch, offset=offset)
            out += res["ids"]
            if len(res["ids"]) < batch:
                return out
            offset += batch

    def pages(self, include: list[str], batch: int = 10000) -> Iterator[dict[str, Any]]:
        """Every chunk, `batch` at a time: the ids first, then the records by id. (Records paged
        by offset cost more the deeper the page, so a whole scan grew quadratically: 0.19 s for
        5,000 records at offset 0, 0.54 s at 95,000, bench/scale.py.)"""
        ids = self.ids()
        for i in range(0, len(ids), batch):
            yield self._col.get(ids=ids[i : i + batch], include=include)

    def scan(self, batch: int = 10000, whole: bool = True) -> list[tuple[str, dict[str, Any]]]:
        """(chunk id, record) of every chunk, without the texts; `whole=False` gives only the
        filter keys (`FILTER_KEYS`), without unpacking the rest."""
        out: list[tuple[str, dict[str, Any]]] = []
        for res in self.pages(["metadatas"], batch):
            if whole:
                out.extend((cid, unpack(meta, None)[1]) for cid, meta in zip(res["ids"], res["metadatas"]))
            else:
                out.extend((cid, {k: v for k, v in (meta or {}).items() if k != PACKED}) for cid, meta in zip(res["ids"], res["metadatas"]))
        return out

    def relayout(self, ids: list[str], current: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Rewrite these chunks in the current layout; `current` turns a stored record into a
        current flat one. Keys of the old layout are deleted (None), the document emptied; the
        vectors are passed back unchanged (Chroma wants them with a document)."""
        if not ids:
            return
        res = self._col.get(ids=ids, include=["documents", "metadatas", "embeddings"])
        metas = []
        for doc, meta in zip(res["documents"], res["metadatas"]):
            text, flat = unpack(meta, doc)
            metas.append(dict.fromkeys(flat, None) | pack(current(flat), text))
        self._col.update(ids=res["ids"], embeddings=res["embeddings"], metadatas=metas, documents=[""] * len(res["ids"]))

    def delete_ids(self, ids: list[str], batch: int = 1000) -> None:
        for i in range(0, len(ids), batch):
            self._col.delete(ids=ids[i : i + batch])

    def upsert(self, ids: list[str], vectors: Sequence[Sequence[float]], texts: list[str], metas: list[dict[str, Any]]) -> None:
        if ids:
            # one array, which Chroma takes as is: lists of Python floats cost 0.04-0.08 s more per 1k vectors
            self._col.upsert(ids=ids, embeddings=np.asarray(vectors, dtype=np.float32), metadatas=[pack(m, t) for m, t in zip(metas, texts)])

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

    def query(self, vector: Sequence[float], k: int, where: Filter | None = None) -> list[Hit]:
        """The `k` nearest chunks among those `where` admits.

        A filter that admits most chunks (e.g. "published until today") is applied here to a
        deeper unfiltered search: Chroma's filtered search cost 5-10x more on 9k chunks
        (bench/README.md). A narrow one (a week) goes down to Chroma's `where`.
        """
        # No count() first: it costs 58 ms at 1M chunks, and Chroma returns fewer when asked for more.
        if k <= 0:
            return []
        if where is None or where.empty:
            return self._query(vector, k, None)
        deeper = self._query(vector, OVERFETCH * k, None)
        kept = [h for h in deeper if admits(where, h.meta)]
        if len(kept) >= k or len(deeper) < OVERFETCH * k:  # enough, or every chunk seen
            return kept[:k]
        return self._query(vector, k, where_clause(where))

    def nearest(self, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """(id, cosine) of the `k` nearest chunks, nearest first; no records, so a deep search stays cheap."""
        if k <= 0:  # k may exceed the store: Chroma then returns every chunk (no count() first: 58 ms at 1M)
            return []
        res = self._col.query(query_embeddings=[list(map(float, vector))], n_results=k, include=["distances"])
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])]

    def _query(self, vector: Sequence[float], k: int, where: dict[str, Any] | None) -> list[Hit]:
        res = self._col.query(
            query_embeddings=[list(map(float, vector))], n_results=k, where=where, include=["documents", "metadatas", "distances"],
        )
        return [
            Hit(cid, *unpack(meta, doc), 1.0 - float(dist))
            for cid, doc, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])
        ]

    def get(self, ids: list[str], vector: Sequence[float] | None = None) -> list[Hit]:
        """The chunks `ids` that exist; with `vector`, each Hit's score is its cosine to it."""
        if not ids:
            return []
        include = ["documents", "metadatas"] + (["embeddings"] if vector is not None else [])
        res = self._col.get(ids=ids, include=include)
        cos = _cosines(vector, res["embeddings"]) if vector is not None else [0.0] * len(res["ids"])
        found = {cid: Hit(cid, *unpack(meta, doc), c) for cid, doc, meta, c in zip(res["ids"], res["documents"], res["metadatas"], cos)}
        return [found[i] for i in ids if i in found]

    def all(self, batch: int = 10000) -> list[Hit]:
        """Every chunk (for checks)."""
        return [h for h, _ in self.each(batch)]

    def each(self, batch: int = 10000, vectors: bool = False) -> Iterator[tuple[Hit, Any]]:
        """Every chunk and (with `vectors`) its vector, one page in memory at a time (for
        rebuilding the keyword index)."""
        include = ["documents", "metadatas"] + (["embeddings"] if vectors else [])
        for res in self.pages(include, batch):
            vecs = res["embeddings"] if vectors else [None] * len(res["ids"])
            for cid, doc, meta, vec in zip(res["ids"], res["documents"], res["metadatas"], vecs):
                yield Hit(cid, *unpack(meta, doc), 0.0), vec


    def article_chunks(self, article_ids: list[str], batch: int = 100) -> dict[str, list[tuple[int, str, dict[str, Any], Any]]]:
        """Each article's chunks in order: (chunk index, text, record, vector); for placing articles in stories."""
        out: dict[str, list[tuple[int, str, dict[str, Any], Any]]] = {}
        for i in range(0, len(article_ids), batch):
            res = self._col.get(where={"article_id": {"$in": article_ids[i : i + batch]}}, include=["embeddings", "metadatas"])
            for meta, vec in zip(res["metadatas"], res["embeddings"]):
                text, rec = unpack(meta, None)
                out.setdefault(str(rec.get("article_id", "")), []).append((int(rec.get("chunk_index", 0)), text, rec, vec))
        return {aid: sorted(chunks, key=lambda c: c[0]) for aid, chunks in out.items()}


def _cosines(vector: Sequence[float], rows: Any) -> list[float]:
    m = np.asarray(rows, dtype=np.float32)
    v = np.asarray(vector, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1) * (np.linalg.norm(v) or 1.0)
    return [float(x) for x in (m @ v) / np.where(norms == 0, 1.0, norms)]
