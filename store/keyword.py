"""BM25 keyword index, persisted beside the store, updated incrementally.

Chroma is the record; this index is derived from it. It is a list of immutable
*segments* (numpy files: per chunk its id, fingerprint term, length, filter
fields and quantised vector; postings by term hash) plus one small commit file naming the
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

The same rows answer filtered nearest-neighbour searches (`select(where).nearest`): each
chunk's unit vector is kept as int8 (384 bytes for MiniLM, a quarter of float32), so the
chunks a filter admits (a week, an outlet) are compared exactly, all of them, in numpy.
Chroma's own filtered search costs in proportion to the whole collection (bench/scale.py:
a week's filter took 53 ms at 20k chunks, 168 ms at 100k), this in proportion to the rows
admitted. The store re-scores what it finds with Chroma's float32 vectors (store/store.py).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import shutil
import tempfile
import threading
import uuid
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy as np

from core.text import tokenize  # words without stop words, number words and ordinals as digits

if TYPE_CHECKING:
    from core.filters import Filter

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".tmp"
COMMIT = "index.json"
LEGACY = "bm25.pkl"  # the pickled bm25s index of earlier versions: rebuilt, never read
FORMAT = 3  # 3: postings by term (CSR), strings as UTF-8 bytes, quantised vectors
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
    """One chunk to index: its id, content hash, text to index, filter fields and vector."""

    chunk_id: str
    content_hash: str
    text: str
    article_id: str = ""
    day: int = -1
    source_key: str = ""
    host: str = ""
    vector: Any = None  # its embedding (kept quantised, for `Selection.nearest`); None: the segment keeps none


_ROW_FIELDS = ("ids", "keys", "lens", "days", "sources", "hosts", "articles", "vecs", "scales")
_POSTINGS = ("vocab", "starts", "rows", "tfs")


def _bytes(texts: Iterable[str]) -> np.ndarray:
    """Strings as a numpy bytes array (UTF-8): a quarter of numpy's 4-byte-per-character text arrays."""
    return np.array([t.encode() for t in texts], dtype="S")


def _texts(arr: np.ndarray) -> list[str]:
    return [b.decode() for b in arr.tolist()]


def _quantise(vectors: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors as int8 (largest component 127) and a scale per row; (n, 0) when any is missing."""
    if not len(vectors) or any(v is None or len(v) == 0 for v in vectors):
        return np.zeros((len(vectors), 0), np.int8), np.zeros(len(vectors), np.float32)
    m = np.asarray(vectors, dtype=np.float32)
    m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
    peak = np.maximum(np.abs(m).max(axis=1), 1e-12)
    return np.round(m * (127 / peak)[:, None]).astype(np.int8), (peak / 127).astype(np.float32)


def _postings(terms: np.ndarray, rows: np.ndarray, tfs: np.ndarray) -> dict[str, np.ndarray]:
    """Postings (term hash, row, count) as CSR: each distinct term once, with where its rows start."""
    order = np.argsort(terms, kind="stable")
    t = terms[order]
    starts = np.concatenate([[0], np.flatnonzero(t[1:] != t[:-1]) + 1, [len(t)]]).astype(np.int64) if len(t) else np.zeros(1, np.int64)
    return {"vocab": t[starts[:-1]], "starts": starts, "rows": rows[order].astype(np.int32),
            "tfs": np.minimum(tfs[order], 65535).astype(np.uint16)}


def _pieces(seg: "Segment", size: int = 4_000_000) -> Iterator[tuple[int, int]]:
    """Ranges of a segment's terms holding about `size` postings each (memory stays bounded)."""
    first = 0
    while first < len(seg.vocab):
        last = max(first + 1, int(np.searchsorted(seg.starts, seg.starts[first] + size, side="right")) - 1)
        last = min(last, len(seg.vocab))
        yield first, last
        first = last


def _live_postings(seg: "Segment", keep: np.ndarray, vocab: np.ndarray, first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The live postings of terms first..last-1: (term's index in `vocab`, row, count), by term."""
    lo, hi = seg.starts[first], seg.starts[last]
    term = np.repeat(np.searchsorted(vocab, seg.vocab[first:last]).astype(np.int64), np.diff(seg.starts[first : last + 1]))
    rows = seg.rows[lo:hi]
    live = keep[rows]
    return term[live], rows[live], seg.tfs[lo:hi][live]


def _merge_postings(parts: Sequence[tuple["Segment", np.ndarray]], new_rows: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The parts' live postings as one CSR, without sorting them all: each part's are in term order
    already, so two passes (count per term, then place) put them in order, part after part."""
    vocab = np.unique(np.concatenate([seg.vocab for seg, _ in parts])) if parts else np.zeros(0, np.uint64)
    counts = np.zeros(len(vocab), dtype=np.int64)
    for seg, keep in parts:
        for first, last in _pieces(seg):
            counts += np.bincount(_live_postings(seg, keep, vocab, first, last)[0], minlength=len(vocab))
    used = counts > 0
    remap = np.cumsum(used) - 1
    starts = np.concatenate([[0], np.cumsum(counts[used])]).astype(np.int64)
    rows_out, tfs_out = np.empty(int(starts[-1]), np.int32), np.empty(int(starts[-1]), np.uint16)
    cursor = starts[:-1].copy()  # the next free place of each term
    for (seg, keep), new_row in zip(parts, new_rows):
        for first, last in _pieces(seg):
            term, rows, tfs = _live_postings(seg, keep, vocab, first, last)
            if not len(term):
                continue
            term = remap[term]
            run = np.flatnonzero(np.concatenate([[True], term[1:] != term[:-1]]))
            within = np.arange(len(term)) - np.repeat(run, np.diff(np.concatenate([run, [len(term)]])))
            dest = cursor[term] + within
            rows_out[dest], tfs_out[dest] = new_row[rows], tfs
            cursor[term[run]] += np.diff(np.concatenate([run, [len(term)]]))
    return {"vocab": vocab[used], "starts": starts, "rows": rows_out, "tfs": tfs_out}


@dataclass
class Segment:
    """Immutable: per-row arrays, postings by term (CSR) and quantised vectors."""

    name: str
    ids: np.ndarray  # chunk ids (UTF-8 bytes, as are the other string columns)
    keys: np.ndarray  # uint64 key hash per row (fingerprint part)
    lens: np.ndarray  # int32 tokens per row
    days: np.ndarray  # int32 day number
    sources: np.ndarray
    hosts: np.ndarray
    articles: np.ndarray
    vecs: np.ndarray  # int8 (rows, dim): each unit vector scaled to a largest component of 127; dim 0: none kept
    scales: np.ndarray  # float32 per row: vecs * scales is the unit vector (to 1/254 of its largest component)
    vocab: np.ndarray  # uint64 term hashes, sorted, distinct
    starts: np.ndarray  # int64, len(vocab) + 1: term vocab[i] is in rows[starts[i]:starts[i + 1]]
    rows: np.ndarray  # int32
    tfs: np.ndarray  # uint16 times the term occurs in the row

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.vecs.shape[1]) if self.vecs.ndim == 2 else 0

    @classmethod
    def build(cls, entries: Sequence[Entry]) -> "Segment":
        terms, rows, tfs = array("Q"), array("i"), array("q")  # typed: 8 or 4 bytes an item, not a Python int each
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
            rows.extend(itertools.repeat(r, len(counts)))
        vecs, scales = _quantise([e.vector for e in entries])
        return cls(
            f"seg-{uuid.uuid4().hex[:16]}.npz",
            _bytes(e.chunk_id for e in entries),
            np.array([key_hash(chunk_key(e.chunk_id, e.content_hash)) for e in entries], dtype=np.uint64),
            lens,
            np.array([e.day for e in entries], dtype=np.int32),
            _bytes(e.source_key for e in entries),
            _bytes(e.host for e in entries),
            _bytes(e.article_id for e in entries),
            vecs, scales,
            **_postings(np.frombuffer(terms, dtype=np.uint64), np.frombuffer(rows, dtype=np.int32), np.frombuffer(tfs, dtype=np.int64)),
        )

    @classmethod
    def merge(cls, parts: Sequence[tuple["Segment", np.ndarray]]) -> "Segment":
        """The live rows (`keep` masks) of several segments as one (vectors only if every part has them)."""
        dims = {seg.dim for seg, keep in parts if keep.any()}  # an empty part (the index of an empty store) has none
        keep_vectors = len(dims) == 1 and 0 not in dims
        cols: dict[str, list[np.ndarray]] = {f: [] for f in _ROW_FIELDS}
        new_rows, offset = [], 0
        for seg, keep in parts:
            new_rows.append((np.cumsum(keep) - 1 + offset).astype(np.int32))
            for f in _ROW_FIELDS:
                if f not in ("vecs", "scales") or (keep_vectors and keep.any()):
                    cols[f].append(getattr(seg, f)[keep])
            offset += int(keep.sum())
        joined = {f: np.concatenate(v) for f, v in cols.items() if v}
        if not keep_vectors:
            joined["vecs"], joined["scales"] = np.zeros((offset, 0), np.int8), np.zeros(offset, np.float32)
        return cls(f"seg-{uuid.uuid4().hex[:16]}.npz", **joined, **_merge_postings(parts, new_rows))

    def save(self, folder: Path) -> None:
        arrays = {f: getattr(self, f) for f in (*_ROW_FIELDS, *_POSTINGS)}
        _atomic_write(folder / self.name, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, folder: Path, name: str) -> "Segment":
        with np.load(folder / name, allow_pickle=False) as z:
            return cls(name, **{f: z[f] for f in (*_ROW_FIELDS, *_POSTINGS)})


@dataclass
class _State:
    """One commit, loaded: the segments, which rows are dead, and where each live id lives."""

    segments: list[Segment] = field(default_factory=list)
    dead: list[np.ndarray] = field(default_factory=list)  # bool per segment row
    total: int = 0  # fingerprint sum
    where: dict[str, int] = field(default_factory=dict)  # live id -> segment << 32 | row
    _avg_len: float | None = None

    @property
    def live_count(self) -> int:
        return len(self.where)

    def live_ids(self) -> list[str]:
        return list(self.where)

    def place(self, s: int, rows: np.ndarray | None = None) -> None:
        """Record where the ids of segment `s` live (all its rows, or these)."""
        seg = self.segments[s]
        rows = np.arange(len(seg)) if rows is None else rows
        self.where.update(zip(_texts(seg.ids[rows]), ((rows.astype(np.int64) | (s << 32)).tolist())))

    def avg_len(self) -> float:
        if self._avg_len is None:
            self._avg_len = sum(int(s.lens[~d].sum()) for s, d in zip(self.segments, self.dead)) / max(1, self.live_count)
        return self._avg_len

    def offsets(self) -> np.ndarray:
        return np.cumsum([0] + [len(s) for s in self.segments])

    def live(self) -> np.ndarray:
        return ~np.concatenate(self.dead) if self.dead else np.zeros(0, bool)

    def vector_dim(self) -> int:
        """The dimension of the vectors every segment keeps; 0 when some keep none."""
        dims = {s.dim for s in self.segments if len(s)}
        return dims.pop() if len(dims) == 1 else 0


class Selection:
    """The live rows a filter admits, in one loaded commit: how many, which of some ids, and the
    nearest by the quantised vectors (an exact search over these rows alone)."""

    def __init__(self, state: _State, where: "Filter") -> None:
        self._state = state
        self._mask = state.live() & _mask(state, where)
        self.count = int(self._mask.sum())
        self.total = state.live_count  # every live row, of the same commit

    def admits(self, ids: Sequence[str]) -> list[bool]:
        """Which of `ids` are live rows the filter admits (an id the index lacks: False)."""
        offsets, where = self._state.offsets(), self._state.where
        out = []
        for cid in ids:
            at = where.get(cid)
            out.append(at is not None and bool(self._mask[offsets[at >> 32] + (at & 0xFFFFFFFF)]))
        return out

    def nearest(self, vector: Sequence[float], k: int) -> list[str]:
        """The ids of the `k` admitted rows nearest `vector` by cosine, best first ([] with no vectors)."""
        if k <= 0 or not self.count or not self._state.vector_dim():
            return []
        q = np.asarray(vector, dtype=np.float32)
        q = q / (float(np.linalg.norm(q)) or 1.0)
        offsets, found, scores = self._state.offsets(), [], []
        for s, seg in enumerate(self._state.segments):
            rows = np.flatnonzero(self._mask[offsets[s] : offsets[s + 1]])
            if len(rows):
                scores.append((seg.vecs[rows].astype(np.float32) @ q) * seg.scales[rows])
                found.append(np.stack([np.full(len(rows), s), rows], axis=1))
        score, at = np.concatenate(scores), np.concatenate(found)
        top = np.argpartition(-score, k - 1)[:k] if len(score) > k else np.arange(len(score))
        top = top[np.argsort(-score[top], kind="stable")]
        return [self._state.segments[s].ids[r].decode() for s, r in at[top].tolist()]


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
    def rebuild(self, entries: Iterable[Entry], batch: int = 20_000) -> None:
        """The whole index from `entries` (every chunk in Chroma), in one segment; read `batch`
        entries at a time, so a generator over Chroma is never held whole in memory."""
        parts, it = [], iter(entries)
        while chunk := list(itertools.islice(it, batch)):
            parts.append(Segment.build(chunk))
        seg = Segment.merge([(p, np.ones(len(p), dtype=bool)) for p in parts]) if len(parts) > 1 else (parts or [Segment.build([])])[0]
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
            wanted = _bytes(sorted(articles))
            for s, seg in enumerate(state.segments):
                hit = np.isin(seg.articles, wanted) & ~state.dead[s]
                gone.update(_texts(seg.ids[hit]))
        for cid in gone:
            if (at := state.where.pop(cid, None)) is not None:
                s, r = at >> 32, at & 0xFFFFFFFF
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
        state.place(s)
        state.total += int(state.segments[s].keys.sum(dtype=np.uint64))

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
        out.place(first)
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
    def load(self) -> None:
        """Read the index on disk now (readers otherwise read it at their first use)."""
        self._refresh()

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
            raise ValueError(f"in format {commit.get('format')!r}; this newsrag reads {FORMAT} (a rebuild writes it)")
        state, cache = _State(), {}
        for s, part in enumerate(commit["segments"]):
            seg = self._cache.get(part["name"]) or Segment.load(self.folder, part["name"])
            dead = np.zeros(len(seg), dtype=bool)
            dead[np.asarray(part["dead"], dtype=np.int64)] = True
            state.segments.append(seg)
            state.dead.append(dead)
            cache[seg.name] = seg
            state.place(s, np.flatnonzero(~dead))
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
        live = state.live()
        if where is not None and not where.empty:
            live &= _mask(state, where)
        scores[~live] = 0.0
        hits = np.flatnonzero(scores > 0)
        if len(hits) > k:
            hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
        hits = hits[np.lexsort((hits, -scores[hits]))]
        offsets = state.offsets()
        segs = np.searchsorted(offsets, hits, side="right") - 1
        return [(state.segments[s].ids[i - offsets[s]].decode(), float(scores[i])) for s, i in zip(segs.tolist(), hits.tolist())]

    def vector_dim(self) -> int:
        """The length of the vectors the index keeps (0: none, or not for every chunk)."""
        self._refresh()
        return self._state.vector_dim()

    def select(self, where: "Filter") -> Selection:
        """The live chunks `where` admits (see `Selection`)."""
        self._refresh()
        with self._lock:
            state = self._state
        return Selection(state, where)

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
    offsets = state.offsets()
    scores = np.zeros(int(offsets[-1]), dtype=np.float32)
    n = state.live_count
    avg = np.float32(state.avg_len())
    counts: dict[int, int] = {}
    for t in tokens:
        counts[_term(t)] = counts.get(_term(t), 0) + 1
    for term, times in counts.items():
        found = []
        df = 0
        key = np.uint64(term)
        for s, seg in enumerate(state.segments):
            i = int(np.searchsorted(seg.vocab, key))
            if i < len(seg.vocab) and seg.vocab[i] == key:
                lo, hi = seg.starts[i], seg.starts[i + 1]
                rows, tfs = seg.rows[lo:hi], seg.tfs[lo:hi]
                keep = ~state.dead[s][rows]
                rows, tfs = rows[keep], tfs[keep].astype(np.float32)
                df += len(rows)
                found.append((s, rows, tfs))
        if not df:
            continue
        idf = np.float32(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        for s, rows, tfs in found:
            lens = state.segments[s].lens[rows]
            tfc = tfs / (K1 * ((1 - B) + B * lens / avg) + tfs)
            scores[offsets[s] + rows] += (times * idf * tfc).astype(np.float32)
    return scores


def _mask(state: _State, where: "Filter") -> np.ndarray:
    """Filter.matches over every row: days by number, outlets by source key or host, article ids."""
    since, until = where.since_day, where.until_day
    wanted = _bytes(where.sources) if where.sources else None
    articles = _bytes(where.article_ids) if where.article_ids else None
    parts = []
    for seg in state.segments:
        ok = np.ones(len(seg), dtype=bool)
        if since is not None:
            ok &= seg.days >= since
        if until is not None:
            ok &= seg.days <= until
        if wanted is not None:
            ok &= np.isin(seg.sources, wanted) | np.isin(seg.hosts, wanted)
        if articles is not None:
            ok &= np.isin(seg.articles, articles)
        parts.append(ok)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


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
