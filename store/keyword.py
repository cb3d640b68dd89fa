"""BM25 keyword index (bm25s), persisted beside the store.

It is derived from Chroma's contents, never edited piecemeal: after a write it
is rebuilt from every chunk and saved atomically with a fingerprint of the
chunk ids, so it cannot drift from Chroma. Readers reload it when the file
changes, so answers see articles added by another process.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterable

_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(
    "a an the and or but of to in on at for with by from as is are was were be been being it its this that these those "
    "he she they them his her their we our you your i me my what which who whom whose when where why how do does did "
    "has have had not no so than then there here if into over about after before up down out will would can could should "
    "may might must said says say also".split()
)


# Numbers written as words or ordinals index as digits, so "season 4" finds "the fourth
# season" and "90th" finds "90" (RGB: Hits@3 +0.01-0.02, see bench/README.md). "one" and
# "first" stay words: they are mostly not numbers ("one of the", "first round").
_NUMBER_WORDS = {
    w: str(n)
    for words in (
        "_ _ two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split(),
        "_ _ second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
        "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split(),
    )
    for n, w in enumerate(words)
    if w != "_"
}
_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stop words; number words and ordinals as digits."""
    out = []
    for t in _TOKEN.findall(text.lower()):
        if t in _STOP:
            continue
        if (m := _ORDINAL.fullmatch(t)) is not None:
            t = m.group(1)
        out.append(_NUMBER_WORDS.get(t, t))
    return out


def fingerprint(ids: Iterable[str]) -> str:
    h = hashlib.sha256()
    for i in sorted(ids):
        h.update(i.encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


class KeywordIndex:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._file = folder / "bm25.pkl"
        self._lock = threading.Lock()
        self._loaded_mtime: float | None = None
        self._ids: list[str] = []
        self._retriever: Any = None
        self.fingerprint = ""

    def rebuild(self, items: list[tuple[str, str]]) -> None:
        """items: (chunk_id, text to index). Written atomically."""
        import bm25s

        ids = [i for i, _ in items]
        retriever = None
        if items:
            retriever = bm25s.BM25()
            retriever.index([tokenize(t) or ["_"] for _, t in items], show_progress=False)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump({"ids": ids, "retriever": retriever, "fingerprint": fingerprint(ids)}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._file)
        with self._lock:
            self._ids, self._retriever, self.fingerprint = ids, retriever, fingerprint(ids)
            self._loaded_mtime = self._file.stat().st_mtime

    def _refresh(self) -> None:
        try:
            mtime = self._file.stat().st_mtime
        except FileNotFoundError:
            return
        if mtime == self._loaded_mtime:
            return
        with open(self._file, "rb") as f:
            data = pickle.load(f)
        with self._lock:
            self._ids, self._retriever, self.fingerprint = data["ids"], data["retriever"], data["fingerprint"]
            self._loaded_mtime = mtime

    def exists(self) -> bool:
        return self._file.exists()

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

    def remove_files(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self._ids, self._retriever, self._loaded_mtime, self.fingerprint = [], None, None, ""


def describe(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}
