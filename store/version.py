"""Which newsrag wrote a store: the chunk record layout version (`core.articles.RECORD_VERSION`).

Each chunk carries it as metadata `v` (chunks of the first layout have none: version 1).
The manifest records the version once every chunk is in it: a store opened empty by
this newsrag, or one whose migration finished (a migration cut short has no mark and
is run again; it is idempotent). A store written by an older newsrag is migrated in
place when it is opened, under the writer lock (`Store.migrate`); while an ingest
holds the lock, or for a store written by a newer newsrag, opening it fails with a
message naming both versions and the way out.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from core.articles import RECORD_VERSION
from core.errors import StoreError
from store.lock import WriterLock

if TYPE_CHECKING:
    from store.store import Store

log = logging.getLogger(__name__)
MARK = "record_version"


def stored_version(store: "Store") -> int | None:
    """The layout of the chunks in the store; None when it holds none."""
    meta = store.chunks.sample_meta()
    if meta is None:
        return None
    sampled = int(meta.get("v", 1))
    if sampled > RECORD_VERSION:
        return sampled
    marked = store.manifest.get_meta(MARK)
    return int(marked) if marked else 1  # no mark: an older store, or a migration cut short


def check(store: "Store") -> None:
    found = stored_version(store)
    if found is None:
        store.manifest.set_meta(MARK, str(RECORD_VERSION))
        return
    if found == RECORD_VERSION:
        return
    where = f"the store in {store.home} (collection {store.chunks.name})"
    if found > RECORD_VERSION:
        raise StoreError(
            f"{where} was written by a newer newsrag (chunk records v{found}; this newsrag reads v{RECORD_VERSION}): "
            "upgrade newsrag (git pull, then make install), or point NEWSRAG_HOME at another folder"
        )
    try:
        with WriterLock(store.lock_path, 0):
            store.migrate()
    except StoreError:
        raise StoreError(
            f"{where} was written by an older newsrag (chunk records v{found}; this newsrag reads v{RECORD_VERSION}, "
            "which stores dates as numbers and packs each record) and needs a one-time migration, which waits for the running "
            "ingest: run `newsrag doctor --fix` once it has finished (or ingest again into a new NEWSRAG_HOME)"
        ) from None
