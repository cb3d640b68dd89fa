"""The store: Chroma chunks + BM25 keyword index + manifest, kept in agreement.

Write order per article (crash-safe by construction, see issue #7); a batch of
articles takes each step for all of them at once, in this order:
0. mark the articles pending in the manifest (committed before any chunk changes);
1. upsert the new chunks (ids `article:index`, deterministic, so a replay adds nothing);
2. delete those articles' chunks carrying another content hash (an older version);
3. add the new chunks to the keyword index and drop the deleted ones (one atomic commit);
4. record the articles in the manifest and clear their pending marks, in one transaction
   (only now do they count as ingested).
Removal is the same: mark, delete the chunks, drop them from the keyword index, drop the row and the mark.

A SIGKILL anywhere leaves at most the pending articles half-written, in Chroma and in
the keyword index alike. The next writer (`writer()`) first undoes them in both: their
chunks, keyword entries and rows go, and the ingest that follows writes them again from
their files. So the keyword index follows Chroma write by write, without a rebuild. It is
rebuilt from Chroma only when it is missing, unreadable, or disagrees: an ingest compares
chunk counts at its end (cheap), `newsrag doctor` and `catch_up` compare fingerprints
(chunk ids and content hashes, one scan of Chroma). So the same ingest run again after a
kill leaves what one clean ingest leaves.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from core.articles import RECORD_VERSION, Article, Chunk, ChunkRecord
from core.errors import StoreError
from core.filters import Filter, source_key
from store.chroma import ChunkStore, Hit, collection_name, make_client
from store.keyword import Entry, KeywordIndex, chunk_key, fingerprint
from store.lock import WriterLock
from store import space
from store.version import MARK, check as check_version, stored_version
from store.manifest import ArticleRow, Manifest


log = logging.getLogger(__name__)


UPSERT_BATCH = 1000  # chunks per Chroma call


def keyword_text(text: str, meta: dict[str, Any]) -> str:
    return f"{meta.get('title', '')} {meta.get('source', '')} {meta.get('date', '')}\n{text}"


def keyword_entry(chunk_id: str, text: str, meta: dict[str, Any], record: ChunkRecord | None = None) -> Entry:
    """What the keyword index keeps of a chunk: its words (with the header) and filter fields."""
    r = record or ChunkRecord.from_meta(meta)
    return Entry(chunk_id, r.content_hash, keyword_text(text, meta), r.article_id, r.day, source_key(r.source), r.host)


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
        store = cls(home, ChunkStore(client, name, embedder_identity, dimension, url=chroma_url), lock_timeout)
        check_version(store)  # written by an older or a newer newsrag: migrate, or say how
        return store

    @property
    def lock_path(self) -> Path:
        return self.home / f"{self.chunks.name}.lock"

    @contextmanager
    def writer(self, recover: bool = True) -> Iterator[WriterLock]:
        """Hold the store's one writer lock; first undo what a killed writer left half-done."""
        with WriterLock(self.lock_path, self.lock_timeout) as lock:
            if recover:
                self.recover()
                self.migrate()
                self.sync_keyword_if_needed()  # so that this writer's changes apply to it incrementally
            yield lock

    # --- the chunk record's layout (core.articles.RECORD_VERSION; see store/version.py)
    def record_version(self) -> int:
        return stored_version(self) or RECORD_VERSION

    def migrate(self, batch: int = 2000) -> int:
        """Rewrite every chunk record in the current layout (hold `writer()`); returns how many.

        Version 1 stored dates only as text, which Chroma cannot range over: each record gets
        its numeric `day`, `source_key` and `host` from the fields it already has. Version 2
        kept every field as its own key and the text as a document, both indexed by Chroma at
        every write: the record and the text are packed (`store.chroma.pack`). Idempotent: a
        migration cut short is finished by the next one.
        """
        if self.record_version() >= RECORD_VERSION:
            return 0
        ids = [cid for cid, _ in self.chunks.scan(whole=False)]
        log.warning("migrating %d chunk records to layout %d, once (about 30 s per 10,000 chunks on 2 cores)", len(ids), RECORD_VERSION)
        for i in range(0, len(ids), batch):
            self.chunks.relayout(ids[i : i + batch], lambda m: ChunkRecord.from_meta(m).to_meta())
        self.manifest.set_meta(MARK, str(RECORD_VERSION))
        log.warning("migrated %d chunk records to layout %d (numeric dates; record and text packed)", len(ids), RECORD_VERSION)
        return len(ids)

    def recover(self) -> list[str]:
        """Undo half-written articles (hold `writer()`); returns their ids. A re-ingest redoes them."""
        undone = self.manifest.pending()
        self.keyword.remove_stray_temp_files()
        for aid in undone:
            self.chunks.delete_article(aid)
        if undone:
            self._keyword_update(remove_articles=undone)
            for aid in undone:
                self.manifest.remove(aid)
            log.warning("undid %d article write(s) an interrupted ingest left half-done; ingest again to redo them", len(undone))
        return undone

    # --- writes (hold `writer()`)
    def is_current(self, article: Article) -> bool:
        row = self.manifest.get(article.article_id)
        return row is not None and row.content_hash == article.content_hash

    @contextmanager
    def _space(self) -> Iterator[None]:
        """A write that fails for want of disk space raises DiskFullError, which says where and what to do."""
        try:
            yield
        except StoreError:
            raise
        except Exception as e:
            full = space.explain(e, self.home)
            if full is None:
                raise
            raise full from e

    def write_article(self, article: Article, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        self.write_articles([(article, chunks, vectors)])

    def write_articles(self, items: Sequence[tuple[Article, Sequence[Chunk], Sequence[Sequence[float]]]]) -> None:
        """Write several articles (chunks and their vectors), each step once for all (see the module doc)."""
        if not items:
            return
        ids, vectors, texts, records, metas, rows = [], [], [], [], [], []
        for article, chunks, vecs in items:
            recs = ChunkRecord.of_article(article, list(chunks))  # id and hash: one pass over the text
            ids += [c.chunk_id for c in chunks]
            vectors += list(vecs)
            texts += [c.text for c in chunks]
            records += recs
            metas += [r.to_meta() for r in recs]
            aid = recs[0].article_id if recs else article.article_id
            h = recs[0].content_hash if recs else article.content_hash
            rows.append(ArticleRow(aid, h, len(chunks), article.title, article.byline, article.date, article.source, article.url, article.path))
        # Only articles stored before can have chunks of an older version. When the manifest
        # accounts for every chunk in Chroma, it knows them all; otherwise (a shared server
        # another NEWSRAG_HOME writes to, a lost manifest) every article is checked.
        # (Chroma's `$in` look-up cost 0.15 s of an RGB build's 11 s, and grows with the store.)
        article_ids = [r.id for r in rows]
        accounted = not self.chunks.url and self.manifest.chunk_total() == self.chunks.count()
        older = self.manifest.known(article_ids) if accounted else set(article_ids)
        with self._space():
            self.manifest.begin_many(article_ids)
            for i in range(0, len(ids), UPSERT_BATCH):
                j = i + UPSERT_BATCH
                self.chunks.upsert(ids[i:j], vectors[i:j], texts[i:j], metas[i:j])
            stale = self.chunks.other_versions({r.id: r.content_hash for r in rows if r.id in older})
            self.chunks.delete_ids(stale)
            self._keyword_update(add=[keyword_entry(*e) for e in zip(ids, texts, metas, records)], remove_ids=stale)
            self.manifest.put_many(rows)

    def remove_article(self, article_id: str) -> None:
        with self._space():
            self.manifest.begin(article_id)
            self.chunks.delete_article(article_id)
            self._keyword_update(remove_articles=[article_id])
            self.manifest.remove(article_id)

    def _keyword_update(self, **change: Any) -> None:
        """Apply a change to the keyword index, unless it is missing or unreadable: then the
        next `sync_keyword_if_needed` rebuilds it from Chroma."""
        if self.keyword.stored_fingerprint():  # "" when missing or unreadable
            self.keyword.update(**change)

    def sync_keyword(self) -> None:
        """Rebuild the keyword index from every chunk in Chroma."""
        with self._space():
            self.keyword.rebuild([keyword_entry(h.chunk_id, h.text, h.meta) for h in self.chunks.all()])

    def keyword_in_step(self) -> bool:
        """Cheap check after writes: the index is there, readable and holds as many chunks as Chroma.
        (The writes keep it in step; this catches a missing, damaged or replaced index.)"""
        return self.keyword.exists() and not self.keyword.error and self.keyword.count() == self.chunks.count()

    def sync_keyword_if_needed(self) -> bool:
        """After a batch of writes: rebuild the keyword index when it is not in step; True if rebuilt."""
        if self.keyword_in_step():
            return False
        self.sync_keyword()
        return True

    def ensure_keyword(self) -> bool:
        """For a process about to answer: a keyword index that is missing, unreadable, of an older
        format or out of step with Chroma's count is rebuilt now (when no ingest holds the lock:
        an ingest rebuilds it when it finishes). Cheap when in step. True if rebuilt."""
        if self.keyword_in_step():
            return False
        try:
            with WriterLock(self.lock_path, 0):
                rebuilt = self.sync_keyword_if_needed()
        except (StoreError, OSError) as e:
            log.info("not rebuilding the keyword index now: %s", e)
            return False
        if rebuilt:
            log.warning("rebuilt the keyword index of %s from Chroma (%d chunks)", self.home, self.chunks.count())
        return rebuilt

    def catch_up(self) -> list[str]:
        """For a process about to answer: take in what another writer left in Chroma (a Chroma
        server shared with another NEWSRAG_HOME, or a writer killed before its rebuild):
        complete articles this manifest lacks, and a keyword index that no longer matches.
        Skipped while an ingest holds the lock: it rebuilds both when it finishes.
        Never deletes anything; `newsrag doctor --fix` does the rest. A full scan of Chroma,
        so the app calls it at start only for a shared server (`NEWSRAG_CHROMA_URL`)."""
        from store.audit import adopt, audit

        try:
            with WriterLock(self.lock_path, 0):
                a = audit(self)
                done = adopt(self, a)
                if a.keyword:
                    self.sync_keyword()
                    done.append(f"rebuilt the keyword index, which {a.keyword}")
        except (StoreError, OSError) as e:
            log.info("not catching up with Chroma now: %s", e)
            return []
        return done

    def chroma_fingerprint(self) -> str:  # one scan of Chroma
        return fingerprint(chunk_key(cid, str(meta.get("content_hash", ""))) for cid, meta in self.chunks.scan(whole=False))

    def keyword_stale(self) -> bool:
        """True when the keyword index on disk does not describe exactly the chunks in Chroma."""
        return self.keyword.stored_fingerprint() != self.chroma_fingerprint()

    # --- reads
    def dense(self, vector: Sequence[float], k: int, where: Filter | None = None) -> list[Hit]:
        return self.chunks.query(vector, k, where)

    def lexical(self, query: str, k: int, where: Filter | None = None) -> list[tuple[str, float]]:
        """The k best chunks by BM25 among those matching `where` (a date range, outlets, articles)."""
        return self.keyword.search(query, k, where)

    def get(self, ids: list[str], vector: Sequence[float] | None = None) -> list[Hit]:
        return self.chunks.get(ids, vector)

    def is_empty(self) -> bool:
        return self.chunks.count() == 0

