"""Is the store in agreement with itself? Chroma vs manifest vs keyword index.

The invariant the write order keeps (store/store.py): every article in the
manifest with n chunks and content hash h has exactly the chunks `id:0..n-1`
in Chroma, all carrying h; Chroma holds no other chunk; nothing is pending;
the keyword index's fingerprint is Chroma's. `audit` says where that fails,
`repair` (store/repair.py, holding the writer lock) makes it hold again.

Chroma is the record: each chunk carries its article's metadata, content hash
and chunk count, so an article whose chunks are all there and agree is
*adopted* into a manifest that lacks it (the manifest was lost, or another
NEWSRAG_HOME wrote to the same Chroma server), never deleted as an orphan.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.articles import chunk_id
from store.chroma import ChunkStore
from store.keyword import KeywordIndex, chunk_key, fingerprint
from store.manifest import ArticleRow, Manifest, file_of

SHOW = 3  # ids named in one problem line; the rest are counted


class Parts(Protocol):
    """What an audit reads: the three parts of a `store.Store`, which writes through this module."""

    chunks: ChunkStore
    manifest: Manifest
    keyword: KeywordIndex


@dataclass
class Audit:
    articles: int = 0
    chunks: int = 0
    pending: list[str] = field(default_factory=list)  # writes a killed writer left half-done
    orphans: dict[str, list[str]] = field(default_factory=dict)  # article id (not in manifest) -> its chunk ids
    adoptable: dict[str, ArticleRow] = field(default_factory=dict)  # complete articles the manifest lacks
    broken: dict[str, str] = field(default_factory=dict)  # article id -> what is wrong with its chunks
    broken_paths: dict[str, str] = field(default_factory=dict)  # article id -> the file it came from
    dangling_files: list[tuple[str, str]] = field(default_factory=list)  # file rows naming no article
    keyword: str = ""  # what is wrong with the keyword index; "" when it matches Chroma
    stray_temp: int = 0  # half-written keyword files

    @property
    def ok(self) -> bool:
        return not self.problems()

    def problems(self) -> list[str]:
        """One line per problem, each naming the fix."""
        out = []
        if self.pending:
            out.append(
                f"{len(self.pending)} article write(s) interrupted ({few(self.pending)}): "
                "`newsrag doctor --fix` undoes them, then ingest again"
            )
        if self.adoptable:
            out.append(
                f"{len(self.adoptable)} complete article(s) in Chroma the manifest does not know ({few(list(self.adoptable))}; "
                "written from another NEWSRAG_HOME, or the manifest was lost): `newsrag doctor --fix` adds them to the manifest"
            )
        if self.orphans:
            n = sum(len(v) for v in self.orphans.values())
            out.append(
                f"{n} orphan chunk(s) of {len(self.orphans)} article(s) the manifest does not know ({few(list(self.orphans))}): "
                "`newsrag doctor --fix` removes them"
            )
        for aid, what in sorted(self.broken.items()):
            path = self.broken_paths.get(aid, "")
            out.append(f"article {aid} ({path or 'unknown file'}): {what}: `newsrag doctor --fix` removes it, then ingest its file again")
        if self.dangling_files:
            out.append(
                f"{len(self.dangling_files)} file record(s) name articles the manifest does not hold "
                f"({few([p for p, _ in self.dangling_files])}): `newsrag doctor --fix` drops them"
            )
        if self.keyword:
            out.append(f"keyword index {self.keyword}: `newsrag doctor --fix` rebuilds it")
        if self.stray_temp:
            out.append(f"{self.stray_temp} half-written keyword index file(s) left by an interrupted rebuild: `newsrag doctor --fix` deletes them")
        return out


def audit(store: Parts) -> Audit:
    """Read-only; for a consistent picture hold the writer lock (no ingest mid-write)."""
    scanned = store.chunks.scan(whole=False)  # the filter keys: ids, articles, content hashes
    rows = {r.id: r for r in store.manifest.articles()}
    a = Audit(articles=len(rows), chunks=len(scanned), pending=store.manifest.pending())
    by_article: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for cid, meta in scanned:
        by_article[str(meta.get("article_id") or cid.rsplit(":", 1)[0])][cid] = meta
    unknown = {aid: chunks for aid, chunks in by_article.items() if aid not in rows}
    # The manifest row comes from one chunk's whole record (title, chunk count, ...); the rest
    # need only their filter keys (a new home joining a server has every article to adopt).
    whole = _whole_records(store, [next(iter(chunks)) for aid, chunks in unknown.items() if aid not in a.pending])
    for aid, chunks in unknown.items():
        # A pending article is a killed write: `recover()` undoes it, never adopt it.
        if aid not in a.pending and (row := _complete_article(aid, {cid: whole.get(cid, m) for cid, m in chunks.items()})):
            a.adoptable[aid] = row
        else:
            a.orphans[aid] = sorted(chunks)
    for aid, row in rows.items():
        if what := _chunk_problem(aid, row.n_chunks, row.content_hash, by_article.get(aid, {})):
            a.broken[aid], a.broken_paths[aid] = what, file_of(row.path)
    a.dangling_files = [(p, aid) for p, aid in store.manifest.files() if aid not in rows]
    a.keyword = _keyword_problem(store, scanned)
    a.stray_temp = len(store.keyword.stray_temp_files())
    return a


def _whole_records(store: Parts, ids: list[str], batch: int = 10000) -> dict[str, dict[str, Any]]:
    """The whole records (title, chunk count, ...) of these chunks, for articles the manifest lacks."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), batch):
        out.update((h.chunk_id, h.meta) for h in store.chunks.get(ids[i : i + batch]))
    return out


def _chunk_problem(aid: str, n: int, content_hash: str, chunks: dict[str, dict[str, Any]]) -> str:
    expected = {chunk_id(aid, i) for i in range(n)}
    missing, extra = expected - set(chunks), set(chunks) - expected
    stale = [cid for cid, meta in chunks.items() if meta.get("content_hash") != content_hash]
    if not n:
        return "recorded with no chunks"
    if missing:
        return f"the manifest records {n} chunk(s), {len(missing)} missing from Chroma ({few(sorted(missing))})"
    if extra:
        return f"{len(extra)} chunk(s) beyond the {n} recorded ({few(sorted(extra))})"
    if stale:
        return f"{len(stale)} chunk(s) from another version of the article ({few(sorted(stale))})"
    return ""


def _complete_article(aid: str, chunks: dict[str, dict[str, Any]]) -> ArticleRow | None:
    """The manifest row of an article whose chunks are all in Chroma and agree, else None."""
    first = next(iter(chunks.values()))
    try:
        n = int(first.get("n_chunks") or 0)
    except (TypeError, ValueError):
        return None
    h = first.get("content_hash")
    if not n or not h or _chunk_problem(aid, n, str(h), chunks):
        return None
    fields = (str(first.get(k) or "") for k in ("title", "byline", "date", "source", "url", "path"))
    return ArticleRow(aid, str(h), n, *fields)


def _keyword_problem(store: Parts, scanned: list[tuple[str, dict[str, Any]]]) -> str:
    stored = store.keyword.stored_fingerprint()
    if store.keyword.error:
        return f"is unreadable ({store.keyword.error})"
    if not store.keyword.exists():
        return "is missing" if scanned else ""
    expected = fingerprint(chunk_key(cid, str(meta.get("content_hash", ""))) for cid, meta in scanned)
    if stored != expected:
        n = len(store.keyword.ids())
        return f"is out of date: it indexes {n} chunk(s), Chroma holds {len(scanned)} (fingerprint {stored or '-'} vs {expected})"
    return ""


def adopt(store: Parts, a: Audit) -> list[str]:
    """Record in the manifest the complete articles `a` found in Chroma only (hold the lock)."""
    if a.adoptable:  # one transaction: a second home joining a server adopts thousands of articles
        store.manifest.put_many(list(a.adoptable.values()))
    return [f"added {len(a.adoptable)} complete article(s) found in Chroma to the manifest ({few(list(a.adoptable))})"] if a.adoptable else []


def few(items: list[str]) -> str:
    """The first SHOW items, then how many more (problem and repair lines stay one line)."""
    shown = ", ".join(items[:SHOW])
    return shown + (f" and {len(items) - SHOW} more" if len(items) > SHOW else "")
