"""BM25 keyword index (bm25s), persisted beside the store.

It is derived from Chroma's contents, never edited piecemeal: after a write it
is rebuilt from every chunk and saved atomically with a fingerprint of the
chunks (ids and content hashes), so whether it matches Chroma is one
comparison. Readers reload it when the file changes, so answers see articles
added by another process; a file they cannot read counts as no index.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterable

from core.text import tokenize  # words without stop words, number words and ordinals as digits

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".tmp"


def fingerprint(keys: Iterable[str]) -> str:
    """Order-free digest of chunk keys (`chunk_key`): equal iff the same chunks, same versions."""
    h = hashlib.sha256()
    for i in sorted(keys):
        h.update(i.encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


def chunk_key(chunk_id: str, content_hash: str) -> str:
    return f"{chunk_id}\t{content_hash}"


def _bm25s() -> Any:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import
    return bm25s


class KeywordIndex:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._file = folder / "bm25.pkl"
        self._lock = threading.Lock()
        self._loaded: tuple[int, int] | None = None  # (inode, mtime_ns) of the file loaded
        self._ids: list[str] = []
        self._retriever: Any = None
        self.fingerprint = ""
        self.error = ""  # why the file on disk could not be read, if it could not

    def rebuild(self, items: list[tuple[str, str]], fingerprint_: str | None = None) -> None:
        """items: (chunk_id, text to index). Written atomically; `fingerprint_` describes the chunks."""
        ids = [i for i, _ in items]
        fp = fingerprint_ if fingerprint_ is not None else fingerprint(ids)
        retriever = None
        if items:
            retriever = _bm25s().BM25()
            retriever.index([tokenize(t) or ["_"] for _, t in items], show_progress=False)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=TEMP_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump({"ids": ids, "retriever": retriever, "fingerprint": fp}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(self.folder)
        with self._lock:
            self._ids, self._retriever, self.fingerprint, self.error = ids, retriever, fp, ""
            self._loaded = _identity(self._file)

    def _refresh(self) -> None:
        identity = _identity(self._file)
        if identity is None:
            with self._lock:
                self._ids, self._retriever, self.fingerprint, self._loaded = [], None, "", None
            return
        if identity == self._loaded:
            return
        try:
            _bm25s()  # the pickle holds a bm25s object
            with open(self._file, "rb") as f:
                data = pickle.load(f)
            ids, retriever, fp = list(data["ids"]), data["retriever"], str(data["fingerprint"])
        except Exception as e:  # a damaged file: answer without keywords until it is rebuilt
            log.warning("keyword index %s is unreadable (%s): `newsrag doctor --fix` rebuilds it", self._file, e)
            with self._lock:
                self._ids, self._retriever, self.fingerprint, self.error = [], None, "", f"{type(e).__name__}: {e}"
                self._loaded = identity
            return
        with self._lock:
            self._ids, self._retriever, self.fingerprint, self.error = ids, retriever, fp, ""
            self._loaded = identity

    def exists(self) -> bool:
        return self._file.exists()

    def stored_fingerprint(self) -> str:
        """Fingerprint of the index on disk; "" when it is missing or unreadable."""
        self._refresh()
        return self.fingerprint

    def ids(self) -> list[str]:
        self._refresh()
        return list(self._ids)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        self._refresh()
        with self._lock:
            ids, retriever = self._ids, self._retriever
        tokens = tokenize(query)
        if retriever is None or not tokens or not ids:
            return []
        docs, scores = retriever.retrieve([tokens], k=min(k, len(ids)), show_progress=False, n_threads=1)
        return [(ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def stray_temp_files(self) -> list[Path]:
        """Half-written index files left by a rebuild that was killed."""
        return sorted(self.folder.glob(f"*{TEMP_SUFFIX}")) if self.folder.is_dir() else []

    def remove_stray_temp_files(self) -> int:
        """Only while holding the writer lock: no rebuild can be running."""
        stray = self.stray_temp_files()
        for p in stray:
            p.unlink(missing_ok=True)
        return len(stray)

    def remove_files(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self._ids, self._retriever, self._loaded, self.fingerprint = [], None, None, ""


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


def describe(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}
