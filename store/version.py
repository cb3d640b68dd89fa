"""Which newsrag wrote a store: the chunk record layout version (`core.articles.RECORD_VERSION`).

Each chunk carries it as metadata `v` (chunks of the first layout have none: version 1).
The manifest records the version once every chunk is in it: a store opened empty by
this newsrag, or one whose migration finished (a migration cut short has no mark and
is run again; it is idempotent). A store written by an older newsrag is migrated in
place when it is opened, under the writer lock (`migrate`); while an ingest
holds the lock, or for a store written by a newer newsrag, opening it fails with a
message naming both versions and the way out.
"""

from __future__ import annotations

import logging
from pathlib import Path

from core.articles import RECORD_VERSION, ChunkRecord
from core.errors import StoreError
from store.chroma import ChunkStore
from store.lock import WriterLock
from store.manifest import Manifest

log = logging.getLogger(__name__)
MARK = "record_version"


def stored_version(chunks: ChunkStore, manifest: Manifest) -> int | None:
    """The layout of the chunks in the store; None when it holds none."""
    meta = chunks.sample_meta()
    if meta is None:
        return None
    sampled = int(meta.get("v", 1))
    if sampled > RECORD_VERSION:
        return sampled
    marked = manifest.get_meta(MARK)
    if marked:
        return int(marked)
    # No mark: an older store, a migration cut short, or a new home on a shared Chroma server
    # whose records another home wrote. Only in the last case is every record current.
    return sampled if sampled == RECORD_VERSION and len(chunks.ids({"v": sampled})) == chunks.count() else 1


def migrate(chunks: ChunkStore, manifest: Manifest, batch: int = 2000) -> int:
    """Rewrite every chunk record in the current layout (hold the writer lock); returns how many.

    Version 1 stored dates only as text, which Chroma cannot range over: each record gets
    its numeric `day`, `source_key` and `host` from the fields it already has. Version 2
    kept every field as its own key and the text as a document, both indexed by Chroma at
    every write: the record and the text are packed (`store.chroma.pack`). Idempotent: a
    migration cut short is finished by the next one.
    """
    if (stored_version(chunks, manifest) or RECORD_VERSION) >= RECORD_VERSION:
        return 0
    ids = [cid for cid, _ in chunks.scan(whole=False)]
    log.warning("migrating %d chunk records to layout %d, once (about 30 s per 10,000 chunks on 2 cores)", len(ids), RECORD_VERSION)
    for i in range(0, len(ids), batch):
        chunks.relayout(ids[i : i + batch], lambda m: ChunkRecord.from_meta(m).to_meta())
    manifest.set_meta(MARK, str(RECORD_VERSION))
    log.warning("migrated %d chunk records to layout %d (numeric dates; record and text packed)", len(ids), RECORD_VERSION)
    return len(ids)


def check(chunks: ChunkStore, manifest: Manifest, home: Path, lock_path: Path) -> None:
    """On opening a store: record the layout of an empty one, migrate an older one (unless an
    ingest holds the lock), refuse a newer one; each refusal says how to go on."""
    found = stored_version(chunks, manifest)
    if found is None:
        manifest.set_meta(MARK, str(RECORD_VERSION))
        return
    if found == RECORD_VERSION:
        if not manifest.get_meta(MARK):
            manifest.set_meta(MARK, str(RECORD_VERSION))
        return
    where = f"the store in {home} (collection {chunks.name})"
    if found > RECORD_VERSION:
        raise StoreError(
            f"{where} was written by a newer newsrag (chunk records v{found}; this newsrag reads v{RECORD_VERSION}): "
            "upgrade newsrag (git pull, then make install), or point NEWSRAG_HOME at another folder"
        )
    try:
        with WriterLock(lock_path, 0):
            migrate(chunks, manifest)
    except StoreError:
        raise StoreError(
            f"{where} was written by an older newsrag (chunk records v{found}; this newsrag reads v{RECORD_VERSION}, "
            "which stores dates as numbers and packs each record) and needs a one-time migration, which waits for the running "
            "ingest: run `newsrag doctor --fix` once it has finished (or ingest again into a new NEWSRAG_HOME)"
        ) from None
