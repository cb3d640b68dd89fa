"""BM25 keyword index, persisted beside the store, updated incrementally.

Chroma is the record; this index is derived from it. It is a list of immutable
*segments* (numpy files: per chunk its id, fingerprint term, length and filter
fields; postings sorted by term hash) plus one small commit file naming the
live segments, the rows deleted since and the fingerprint. A write adds one
segment for the new chunks and replaces the commit atomically, so adding N
chunks to a store of M costs O(N) (segments are merged size-tiered, amortised
O(N log M)). BM25 (bm25s's default "lucene" variant, k1 1.5, b 0.75) is scored
at query time from the raw term counts of the live rows, so every answer is
exactly what a full bm25s rebuild would give (tests/test_keyword.py checks).

The fingerprint is the sum (mod 2^64) of one hash per chunk (id and content
hash), so it is updated per chunk and Chroma's is computed by one scan without
sorting; whether the index matches Chroma is one comparison. Readers reload the
commit when it changes and load only the segments they lack, so answers see
articles added by another process; an index they cannot read counts as none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from core.text import tokenize  # words without stop words, number words and ordinals as digits

if TYPE_CHECKING:
    from core.filters import Filter

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".tmp"
COMMIT = "index.json"
LEGACY = "bm25.pkl"  # the pickled bm25s index of earlier versions: rebuilt, never read
FORMAT = 2
K1, B = 1.5, 0.75  # bm25s defaults
MERGE_DEAD_SHARE = 0.25  # rewrite everything once a quarter of the rows are deleted ones


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


_TERMS: dict[str, int] = {}  # token -> 64-bit hash, memoised (tokens repeat: Zipf)


def _term(token: str) -> int:
    h = _TERMS.get(token)
    if h is None:
        if len(_TERMS) > 500_000:
            _TERMS.clear()
        h = _TERMS[token] = _h64(token)
    return h


def chunk_key(chunk_id: str, content_hash: str) -> str:
    return f"{chunk_id}\t{content_hash}"


def key_hash(key: str) -> int:
    return _h64("k" + key)


def fingerprint(keys: Iterable[str]) -> str:
    """Order-free digest of chunk keys (`chunk_key`): the sum of their hashes mod 2^64, so it
    can be updated one chunk at a time. Equal iff the same chunks, same versions."""
    return _fp(sum(key_hash(k) for k in keys))


def _fp(total: int) -> str:
    return f"{total % (1 << 64):016x}"


@dataclass(frozen=True)
class Entry:
    """One chunk to index: its id, content hash, text to index and filter fields."""

    chunk_id: str
    content_hash: str
    text: str
    article_id: str = ""
    day: int = -1
    source_key: str = ""
    host: str = ""


_ROW_FIELDS = ("ids", "keys", "lens", "days", "sources", "hosts", "articles")


@dataclass
class Segment:
    """Immutable: per-row arrays and postings (term hash, row, term count) sorted by term."""

    name: str
    ids: np.ndarray
    keys: np.ndarray  # uint64 key hash per row (fingerprint part)
    lens: np.ndarray  # int32 tokens per row
    days: np.ndarray  # int32 day number
    sources: np.ndarray
    hosts: np.ndarray
    articles: np.ndarray
    terms: np.ndarray  # uint64, sorted
    rows: np.ndarray  # int32
    tfs: np.ndarray  # float32

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, entries: Sequence[Entry]) -> "Segment":
        terms: list[int] = []
        rows: list[int] = []
        tfs: list[int] = []
        lens = np.zeros(len(entries), dtype=np.int32)
        for r, e in enumerate(entries):
            tokens = tokenize(e.text) or ["_"]
            lens[r] = len(tokens)
            counts: dict[int, int] = {}
            for t in tokens:
                h = _term(t)
                counts[h] = counts.get(h, 0) + 1
            terms.extend(counts)
            tfs.extend(counts.values())
            rows.extend([r] * len(counts))
        t = np.array(terms, dtype=np.uint64)
        order = np.argsort(t, kind="stable")
        return cls(
            f"seg-{uuid.uuid4().hex[:16]}.npz",
            np.array([e.chunk_id for e in entries], dtype=str),
            np.array([key_hash(chunk_key(e.chunk_id, e.content_hash)) for e in entries], dtype=np.uint64),
            lens,
            np.array([e.day for e in entries], dtype=np.int32),
            np.array([e.source_key for e in entries], dtype=str),
            np.array([e.host for e in entries], dtype=str),
            np.array([e.article_id for e in entries], dtype=str),
            t[order],
            np.array(rows, dtype=np.int32)[order],
            np.array(tfs, dtype=np.float32)[order],
        )

    @classmethod
    def merge(cls, parts: Sequence[tuple["Segment", np.ndarray]]) -> "Segment":
        """The live rows (`keep` masks) of several segments as one."""
        cols: dict[str, list[np.ndarray]] = {f: [] for f in _ROW_FIELDS}
        terms, rows, tfs = [], [], []
        offset = 0
        for seg, keep in parts:
            new_row = np.cumsum(keep) - 1 + offset
            for f in _ROW_FIELDS:
                cols[f].append(getattr(seg, f)[keep])
            live = keep[seg.rows]
            terms.append(seg.terms[live])
            rows.append(new_row[seg.rows[live]].astype(np.int32))
            tfs.append(seg.tfs[live])
            offset += int(keep.sum())
        t = np.concatenate(terms) if terms else np.zeros(0, np.uint64)
        order = np.argsort(t, kind="stable")
        joined = {f: np.concatenate(v) for f, v in cols.items()}
        return cls(f"seg-{uuid.uuid4().hex[:16]}.npz", **joined, terms=t[order],
                   rows=np.concatenate(rows)[order] if rows else np.zeros(0, np.int32),
                   tfs=np.concatenate(tfs)[order] if tfs else np.zeros(0, np.float32))

    def save(self, folder: Path) -> None:
        arrays = {f: getattr(self, f) for f in (*_ROW_FIELDS, "terms", "rows", "tfs")}
        _atomic_write(folder / self.name, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, folder: Path, name: str) -> "Segment":
        with np.load(folder / name, allow_pickle=False) as z:
            return cls(name, **{f: z[f] for f in (*_ROW_FIELDS, "terms", "rows", "tfs")})


@dataclass
class _State:
    """One commit, loaded: the segments, which rows are dead, and where each live id lives."""

    segments: list[Segment] = field(default_factory=list)
    dead: list[np.ndarray] = field(default_factory=list)  # bool per segment row
    total: int = 0  # fingerprint sum
    where: dict[str, tuple[int, int]] = field(default_factory=dict)  # live id -> (segment, row)

    @property
    def live_count(self) -> int:
        return len(self.where)

    def live_ids(self) -> list[str]:
        return list(self.where)


class KeywordIndex:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file = folder / COMMIT
        self._lock = threading.Lock()
        self._loaded: tuple[int, int] | None = None  # (inode, mtime_ns) of the commit loaded
        self._state = _State()
        self._cache: dict[str, Segment] = {}
        self.fingerprint = ""
        self.error = ""  # why the index on disk could not be read, if it could not

    # --- writes (the store's writer only)
    def rebuild(self, entries: Sequence[Entry]) -> None:
        """The whole index from `entries` (every chunk in Chroma), in one segment."""
        seg = Segment.build(entries)
        state = _State([seg], [np.zeros(len(seg), dtype=bool)], 0)
        self._index_rows(state, 0)
        self._commit(state, new=[seg])
        (self.folder / LEGACY).unlink(missing_ok=True)

    def update(self, add: Sequence[Entry] = (), remove_ids: Iterable[str] = (), remove_articles: Iterable[str] = ()) -> None:
        """Add chunks (an id already there is replaced), drop chunk ids and whole articles."""
        self._refresh()
        if self.error or not self.exists():
            raise RuntimeError(f"the keyword index cannot be updated ({self.error or 'missing'}): rebuild it")
        add = list({e.chunk_id: e for e in add}.values())  # an id given twice: the last one counts
        with self._lock:
            old = self._state
        state = _State(list(old.segments), [d.copy() for d in old.dead], old.total, dict(old.where))
        gone = set(remove_ids) | {e.chunk_id for e in add}
        articles = set(remove_articles)
        if articles:
            for s, seg in enumerate(state.segments):
                hit = np.isin(seg.articles, list(articles)) & ~state.dead[s]
                gone.update(seg.ids[hit].tolist())
        for cid in gone:
            if (at := state.where.pop(cid, None)) is not None:
                s, r = at
                state.dead[s][r] = True
                state.total -= int(state.segments[s].keys[r])
        new: list[Segment] = []
        if add:
            seg = Segment.build(add)
            state.segments.append(seg)
            state.dead.append(np.zeros(len(seg), dtype=bool))
            self._index_rows(state, len(state.segments) - 1)
            new.append(seg)
        state = self._compact(state, new)
        self._commit(state, new)

    @staticmethod
    def _index_rows(state: _State, s: int) -> None:
        seg = state.segments[s]
        for r, cid in enumerate(seg.ids.tolist()):
            state.where[cid] = (s, r)
        state.total += int(seg.keys.sum(dtype=np.uint64))

    def _compact(self, state: _State, new: list[Segment]) -> _State:
        """Size-tiered: merge the newest segment into the one before while it is at least
        half its size (a binary counter: O(log M) segments, each row merged O(log M) times);
        everything at once when a quarter of the rows are dead."""
        rows = sum(len(s) for s in state.segments)
        purge = rows > 0 and sum(int(d.sum()) for d in state.dead) > MERGE_DEAD_SHARE * rows
        first = 0 if purge else len(state.segments) - 1
        while first > 0 and len(state.segments[first - 1]) <= 2 * sum(len(s) for s in state.segments[first:]):
            first -= 1
        if len(state.segments) - first < 2 and not purge:
            return state
        merged = Segment.merge([(seg, ~dead) for seg, dead in zip(state.segments[first:], state.dead[first:])])
        # Rows before `first` keep their places; the merged ones move (the fingerprint is unchanged).
        out = _State(state.segments[:first] + [merged], state.dead[:first] + [np.zeros(len(merged), dtype=bool)], state.total, state.where)
        for r, cid in enumerate(merged.ids.tolist()):
            out.where[cid] = (first, r)
        new[:] = [merged]
        return out

    def _commit(self, state: _State, new: list[Segment]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for seg in new:
            seg.save(self.folder)
        fp = _fp(state.total)
        commit = {
            "format": FORMAT,
            "fingerprint": fp,
            "chunks": state.live_count,
            "segments": [{"name": s.name, "dead": np.flatnonzero(d).tolist()} for s, d in zip(state.segments, state.dead)],
        }
        _atomic_write(self.file, lambda f: f.write(json.dumps(commit).encode()))
        _fsync_dir(self.folder)
        with self._lock:
            self._state, self.fingerprint, self.error = state, fp, ""
            self._cache = {s.name: s for s in state.segments}
            self._loaded = _identity(self.file)
        self._drop_unreferenced()

    def _drop_unreferenced(self) -> None:
        keep = set(self._cache)
        for p in self.folder.glob("seg-*.npz"):
            if p.name not in keep:
                p.unlink(missing_ok=True)

    # --- reads
    def _refresh(self) -> None:
        identity = _identity(self.file)
        if identity is None:
            legacy = (self.folder / LEGACY).exists()
            with self._lock:
                self._state, self.fingerprint, self._loaded, self._cache = _State(), "", None, {}
                self.error = "in an older format (bm25.pkl)" if legacy else ""
            return
        if identity == self._loaded:
            return
        for attempt in (1, 2):  # a writer may merge away a segment between our two reads
            try:
                state, cache, fp = self._read()
                break
            except FileNotFoundError as e:
                if attempt == 2:
                    return self._fail(identity, e)
                identity = _identity(self.file)
            except Exception as e:  # a damaged index: answer without keywords until it is rebuilt
                return self._fail(identity, e)
        with self._lock:
            self._state, self._cache, self.fingerprint, self.error = state, cache, fp, ""
            self._loaded = identity

    def _read(self) -> tuple[_State, dict[str, Segment], str]:
        commit = json.loads(self.file.read_bytes())
        if commit.get("format") != FORMAT:
            raise ValueError(f"format {commit.get('format')!r}, expected {FORMAT}")
        state, cache = _State(), {}
        for s, part in enumerate(commit["segments"]):
            seg = self._cache.get(part["name"]) or Segment.load(self.folder, part["name"])
            dead = np.zeros(len(seg), dtype=bool)
            dead[np.asarray(part["dead"], dtype=np.int64)] = True
            state.segments.append(seg)
            state.dead.append(dead)
            cache[seg.name] = seg
            for r in np.flatnonzero(~dead).tolist():
                state.where[str(seg.ids[r])] = (s, r)
            state.total += int(seg.keys[~dead].sum(dtype=np.uint64))
        fp = _fp(state.total)
        if fp != commit["fingerprint"] or state.live_count != commit["chunks"]:
            raise ValueError(f"its segments add up to {state.live_count} chunks, fingerprint {fp}, not what it records")
        return state, cache, fp

    def _fail(self, identity: tuple[int, int] | None, e: Exception) -> None:
        log.warning("keyword index %s is unreadable (%s): `newsrag doctor --fix` rebuilds it", self.folder, e)
        with self._lock:
            self._state, self._cache, self.fingerprint, self.error = _State(), {}, "", f"{type(e).__name__}: {e}"
            self._loaded = identity

    def exists(self) -> bool:
        return self.file.exists()

    def stored_fingerprint(self) -> str:
        """Fingerprint of the index on disk; "" when it is missing or unreadable."""
        self._refresh()
        return self.fingerprint

    def count(self) -> int:
        """Chunks indexed (0 when missing or unreadable)."""
        self._refresh()
        return self._state.live_count

    def ids(self) -> list[str]:
        self._refresh()
        return self._state.live_ids()

    def search(self, query: str, k: int, where: "Filter | None" = None) -> list[tuple[str, float]]:
        """The k best chunks for `query` by BM25, only among those matching `where`."""
        self._refresh()
        with self._lock:
            state = self._state
        tokens = tokenize(query)
        if not tokens or not state.live_count or k <= 0:
            return []
        scores = _bm25(state, tokens)
        live = ~np.concatenate(state.dead)
        if where is not None and not where.empty:
            live &= _mask(state, where)
        scores[~live] = 0.0
        hits = np.flatnonzero(scores > 0)
        if len(hits) > k:
            hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
        hits = hits[np.lexsort((hits, -scores[hits]))]
        offsets = np.cumsum([len(s) for s in state.segments])
        segs = np.searchsorted(offsets, hits, side="right")
        starts = offsets - np.array([len(s) for s in state.segments])
        return [(str(state.segments[s].ids[i - starts[s]]), float(scores[i])) for s, i in zip(segs.tolist(), hits.tolist())]

    def stray_temp_files(self) -> list[Path]:
        """Half-written files a killed writer left: temp files and segments no commit names."""
        if not self.folder.is_dir():
            return []
        try:
            named = {p["name"] for p in json.loads(self.file.read_bytes())["segments"]}
            stray = [p for p in self.folder.glob("seg-*.npz") if p.name not in named]
        except Exception:  # no readable commit: its segments are not known to be stray; a rebuild replaces them
            stray = []
        return sorted(list(self.folder.glob(f"*{TEMP_SUFFIX}")) + stray)

    def remove_stray_temp_files(self) -> int:
        """Only while holding the writer lock: no write can be running."""
        stray = self.stray_temp_files()
        for p in stray:
            p.unlink(missing_ok=True)
        return len(stray)

    def remove_files(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        with self._lock:
            self._state, self._cache, self._loaded, self.fingerprint = _State(), {}, None, ""


def _bm25(state: _State, tokens: list[str]) -> np.ndarray:
    """bm25s's 'lucene' BM25 over the live rows: idf ln(1 + (N - df + .5)/(df + .5)),
    tf / (tf + k1 (1 - b + b len/avglen)); a repeated query token counts again, as in bm25s."""
    offsets = np.cumsum([0] + [len(s) for s in state.segments])
    scores = np.zeros(int(offsets[-1]), dtype=np.float32)
    n = state.live_count
    total_len = sum(int(s.lens[~d].sum()) for s, d in zip(state.segments, state.dead))
    avg = total_len / n
    counts: dict[int, int] = {}
    for t in tokens:
        counts[_term(t)] = counts.get(_term(t), 0) + 1
    for term, times in counts.items():
        found = []
        df = 0
        for s, seg in enumerate(state.segments):
            lo, hi = np.searchsorted(seg.terms, np.uint64(term), side="left"), np.searchsorted(seg.terms, np.uint64(term), side="right")
            if hi > lo:
                rows, tfs = seg.rows[lo:hi], seg.tfs[lo:hi]
                keep = ~state.dead[s][rows]
                rows, tfs = rows[keep], tfs[keep]
                df += len(rows)
                found.append((s, rows, tfs))
        if not df:
            continue
        idf = np.float32(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        for s, rows, tfs in found:
            lens = state.segments[s].lens[rows]
            tfc = tfs / (K1 * ((1 - B) + B * lens / np.float32(avg)) + tfs)
            scores[offsets[s] + rows] += (times * idf * tfc).astype(np.float32)
    return scores


def _mask(state: _State, where: "Filter") -> np.ndarray:
    """Filter.matches over every row: days by number, outlets by source key or host, article ids."""
    days = np.concatenate([s.days for s in state.segments])
    ok = np.ones(len(days), dtype=bool)
    if (since := where.since_day) is not None:
        ok &= days >= since
    if (until := where.until_day) is not None:
        ok &= days <= until
    if where.sources:
        wanted = list(where.sources)
        ok &= np.isin(np.concatenate([s.sources for s in state.segments]), wanted) | np.isin(
            np.concatenate([s.hosts for s in state.segments]), wanted
        )
    if where.article_ids:
        ok &= np.isin(np.concatenate([s.articles for s in state.segments]), list(where.article_ids))
    return ok


def _atomic_write(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
