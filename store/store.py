"""The store: Chroma chunks + BM25 keyword index + manifest, kept in agreement.

Write order per article, crash-safe by construction (tests/test_crash.py kills writers at
random moments); a batch of articles takes each step for all of them at once, in this order:
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
import math
import threading
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator, Sequence

from core.articles import RECORD_VERSION, Article, Chunk, ChunkRecord
from core.errors import DiskFullError, StoreError
from core.filters import UNKNOWN_DAY, Filter, day_number, source_key
from core.names import names
from store import space, version
from store.audit import adopt, audit
from store.failures import guarded
from store.chroma import ChunkStore, Hit, collection_name, make_client
from store.keyword import Entry, KeywordIndex, chunk_key, fingerprint
from store.lock import WriterLock
from store.manifest import ArticleRow, Manifest
from store.stories import Placement, Stories, lead_vector


log = logging.getLogger(__name__)


UPSERT_BATCH = 1000  # chunks per Chroma call
# A filtered dense search (Store.dense): an unfiltered one DEEP_OVERFETCH times deeper than the
# filter's share needs, then the filter, when it asks for at most DEEP_MAX results (ids and distances
# only: 17 ms for 4,000 of 100k chunks on 2 cores) and costs less than the alternative: an exact
# search over the admitted chunks' quantised vectors, each about a third of a deep result's cost.
DEEP_OVERFETCH = 2
DEEP_MAX = 4000
EXACT_ROWS_PER_RESULT = 3


def keyword_text(text: str, meta: dict[str, Any]) -> str:
    return f"{meta.get('title', '')} {meta.get('source', '')} {meta.get('date', '')}\n{text}"


def keyword_entry(chunk_id: str, text: str, meta: dict[str, Any], record: ChunkRecord | None = None, vector: Any = None) -> Entry:
    """What the keyword index keeps of a chunk: its words (with the header), filter fields and vector."""
    r = record or ChunkRecord.from_meta(meta)
    return Entry(chunk_id, r.content_hash, keyword_text(text, meta), r.article_id, r.day, source_key(r.source), r.host, vector)


def _names(title: str, lead: str) -> tuple[str, ...]:
    return tuple(sorted({*names(title), *names(lead[:400])}))


def placement(article: Article, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> Placement:
    return Placement(article.article_id, day_number(article.date), article.source, article.title,
                     lead_vector(vectors), _names(article.title, chunks[0].text))


def stored_placement(article_id: str, chunks: list[tuple[int, str, dict[str, Any], Any]]) -> Placement:
    _, text, rec, _ = chunks[0]
    title = str(rec.get("title", ""))
    return Placement(article_id, int(rec.get("day", UNKNOWN_DAY)), str(rec.get("source", "")), title,
                     lead_vector([c[3] for c in chunks]), _names(title, text))


class Store:
    def __init__(self, home: Path, chunks: ChunkStore, lock_timeout: float = 0.0) -> None:
        self.home = home
        self.chunks = chunks
        with guarded(home, "open", remote=bool(chunks.url)):
            self.keyword = KeywordIndex(home / "keyword" / chunks.name)
            self.manifest = Manifest(home / "manifests" / f"{chunks.name}.sqlite", home)
            self.stories = Stories(home / "stories" / f"{chunks.name}.sqlite", home)
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
        # A full disk, an unreadable folder, damaged files: one StoreError naming the cause and the fix.
        with guarded(home, "open", remote=bool(chroma_url)):
            client = client or make_client(home, chroma_url)
            name = collection_name(base, embedder_identity)
            store = cls(home, ChunkStore(client, name, embedder_identity, dimension, url=chroma_url, home=home), lock_timeout)
            # Chroma's first read loads its vector index and releases the GIL meanwhile: read the
            # keyword index's segments beside it (at 1M chunks about 6 s and 3 s, one after the other).
            loading = threading.Thread(target=store.keyword.load, name="keyword-load", daemon=True)
            loading.start()
            try:
                version.check(store.chunks, store.manifest, home, store.lock_path)  # written by an older or a newer newsrag: migrate, or say how
            finally:
                loading.join()
        return store

    @property
    def lock_path(self) -> Path:
        return self.home / f"{self.chunks.name}.lock"

    @contextmanager
    def writer(self, recover: bool = True, purpose: str = "") -> Iterator[WriterLock]:
        """Hold the store's one writer lock; first undo what a killed writer left half-done.
        `purpose`: what writes, as the refusal names it ("`newsrag doctor --fix`"; default: this command)."""
        with WriterLock(self.lock_path, self.lock_timeout, purpose) as lock:
            if recover:
                self.recover()
                self.migrate()
                self.sync_keyword_if_needed()  # so that this writer's changes apply to it incrementally
                self.sync_stories()  # articles a killed writer stored but did not place
            yield lock

    # --- the chunk record's layout (core.articles.RECORD_VERSION; see store/version.py)
    def record_version(self) -> int:
        return version.stored_version(self.chunks, self.manifest) or RECORD_VERSION

    def migrate(self, batch: int = 2000) -> int:
        """Rewrite every chunk record in the current layout (hold `writer()`); returns how many
        (store/version.py says what each layout changed)."""
        return version.migrate(self.chunks, self.manifest, batch)

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
            self.stories.forget(undone)
            log.warning("undid %d article write(s) an interrupted ingest left half-done; ingest again to redo them", len(undone))
        return undone

    def writer_holder(self) -> str | None:
        """Who holds the writer lock now ("pid 12 (newsrag ingest)"); None when no one does."""
        return WriterLock.holder(self.lock_path)

    # --- writes (hold `writer()`)
    def room_for(self, files: Sequence[tuple[str, int]]) -> int:
        """Before an ingest of `files` (manifest key, bytes): refuse at once (DiskFullError) when
        those it has not stored yet cannot fit; files it holds already (unchanged, or changed and
        replacing their old chunks) are not counted, nor is anything for a Chroma server.
        Returns the estimate in bytes."""
        if self.chunks.url:
            return 0
        known = self.manifest.known_files([key for key, _ in files])
        need = space.estimate(sum(size for key, size in files if key not in known), new_store=self.is_empty())
        space.check_free(self.home, need)
        return need

    def is_current(self, article: Article) -> bool:
        row = self.manifest.get(article.article_id)
        return row is not None and row.content_hash == article.content_hash

    @contextmanager
    def _space(self) -> Iterator[None]:
        """A write that fails for want of disk space raises DiskFullError, which says where and what to do."""
        try:
            yield
        except DiskFullError as e:  # found below (Chroma, the manifest): said in a writer's words
            raise space.disk_full(self.home) from e
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
        if not self.chunks.url:  # stop before a write that would fill the disk, not in the middle of it
            space.check_free(self.home, space.for_chunks(len(ids)))
        accounted = not self.chunks.url and self.manifest.chunk_total() == self.chunks.count()
        older = self.manifest.known(article_ids) if accounted else set(article_ids)
        with self._space():
            self.manifest.begin_many(article_ids)
            for i in range(0, len(ids), UPSERT_BATCH):
                j = i + UPSERT_BATCH
                self.chunks.upsert(ids[i:j], vectors[i:j], texts[i:j], metas[i:j])
            stale = self.chunks.other_versions({r.id: r.content_hash for r in rows if r.id in older})
            self.chunks.delete_ids(stale)
            self._keyword_update(add=[keyword_entry(*e) for e in zip(ids, texts, metas, records, vectors)], remove_ids=stale)
            self.manifest.put_many(rows)
            self.stories.forget([r.id for r in rows if r.id in older])  # re-placed with their new text
            self.stories.place([placement(a, c, v) for a, c, v in items if c])

    def remove_article(self, article_id: str) -> None:
        with self._space():
            self.manifest.begin(article_id)
            self.chunks.delete_article(article_id)
            self._keyword_update(remove_articles=[article_id])
            self.manifest.remove(article_id)
            self.stories.forget([article_id])

    def _keyword_update(self, **change: Any) -> None:
        """Apply a change to the keyword index, unless it is missing or unreadable: then the
        next `sync_keyword_if_needed` rebuilds it from Chroma."""
        if self.keyword.stored_fingerprint():  # "" when missing or unreadable
            self.keyword.update(**change)

    def sync_stories(self, batch: int = 200) -> int:
        """Place every stored article that is in no story yet (hold `writer()`); returns how many."""
        missing = sorted(self.manifest.article_ids() - self.stories.placed())  # ids only: every writer asks (0.16 s of rows at 300k chunks)
        for i in range(0, len(missing), batch):
            found = self.chunks.article_chunks(missing[i : i + batch])
            self.stories.place([stored_placement(aid, chunks) for aid, chunks in found.items() if chunks])
        return len(missing)

    def sync_keyword(self) -> None:
        """Rebuild the keyword index from every chunk in Chroma."""
        with self._space():
            self.keyword.rebuild(keyword_entry(h.chunk_id, h.text, h.meta, vector=v) for h, v in self.chunks.each(vectors=True))

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
        try:
            with WriterLock(self.lock_path, 0):
                a = audit(self)
                done = adopt(self, a)
                if placed := self.sync_stories():
                    done.append(f"placed {placed} article(s) in stories")
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
        """The k nearest chunks among those `where` admits, nearest first.

        A filter goes through the keyword index, which keeps every chunk's filter fields and
        quantised vector: when it admits a large share of the chunks, an unfiltered search
        `DEEP_OVERFETCH` times deeper than that share needs (ids only), then the filter; else an
        exact search over the admitted chunks alone, re-scored with Chroma's vectors. Chroma's
        own filtered search, whose cost grows with the whole store (bench/scale.py), is left
        for when the index keeps no vectors (missing, or being rebuilt)."""
        if where is None or where.empty or not self.keyword.vector_dim():
            return self.chunks.query(vector, k, where)
        chosen = self.keyword.select(where)
        if not chosen.count or k <= 0:
            return []
        n = chosen.total  # of the same commit as chosen.count
        deep = math.ceil(DEEP_OVERFETCH * k * n / chosen.count)
        if deep <= DEEP_MAX and deep * EXACT_ROWS_PER_RESULT <= chosen.count:
            found = self.chunks.nearest(vector, deep)
            kept = [hit for hit, ok in zip(found, chosen.admits([cid for cid, _ in found])) if ok]
            if len(kept) >= k or len(found) >= n:
                return self._with_records(kept[:k])
        return self._rescored(chosen.nearest(vector, k + max(4, k // 4)), vector)[:k]

    def _with_records(self, scored: list[tuple[str, float]]) -> list[Hit]:
        hits = {h.chunk_id: h for h in self.chunks.get([cid for cid, _ in scored])}
        return [replace(hits[cid], score=score) for cid, score in scored if cid in hits]

    def _rescored(self, ids: list[str], vector: Sequence[float]) -> list[Hit]:
        return sorted(self.chunks.get(ids, vector), key=lambda h: -h.score)

    def lexical(self, query: str, k: int, where: Filter | None = None) -> list[tuple[str, float]]:
        """The k best chunks by BM25 among those matching `where` (a date range, outlets, articles)."""
        return self.keyword.search(query, k, where)

    def get(self, ids: list[str], vector: Sequence[float] | None = None) -> list[Hit]:
        return self.chunks.get(ids, vector)

    def is_empty(self) -> bool:
        return self.chunks.count() == 0

