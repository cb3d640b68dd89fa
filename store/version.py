"""Which newsrag wrote a store: the chunk record layout version (`core.articles.RECORD_VERSION`).

Each chunk carries it as metadata `v` (chunks of the first layout have none: version 1),
and a collection created since records it as `records` in its metadata. A store written
by an older newsrag is migrated in place when a migration exists (a module `store.migrate`
with `migrate(store, from_version)`); otherwise, and for a store written by a newer
newsrag, opening it fails with a message naming both versions and the way out.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from typing import TYPE_CHECKING, Any, Callable

from core.articles import RECORD_VERSION
from core.errors import StoreError

if TYPE_CHECKING:
    from store.store import Store

log = logging.getLogger(__name__)

MIGRATION_MODULE = "store.migrate"


def stored_version(chunks: Any) -> int | None:
    """The layout version of the chunks in the collection; None when it is empty."""
    meta = chunks.sample_meta()
    return None if meta is None else int(meta.get("v", 1))


def migration() -> Callable[["Store", int], None] | None:
    """`store.migrate.migrate(store, from_version)`, when this newsrag has one."""
    if importlib.util.find_spec(MIGRATION_MODULE) is None:
        return None
    return getattr(importlib.import_module(MIGRATION_MODULE), "migrate", None)


def check(store: "Store") -> None:
    found = stored_version(store.chunks)
    if found is None or found == RECORD_VERSION:
        return
    where = f"the store in {store.home} (collection {store.chunks.name})"
    if found > RECORD_VERSION:
        raise StoreError(
            f"{where} was written by a newer newsrag (chunk records v{found}; this newsrag reads v{RECORD_VERSION}): "
            "upgrade newsrag (git pull, then make install), or point NEWSRAG_HOME at another folder"
        )
    migrate = migration()
    if migrate is None:
        raise StoreError(
            f"{where} was written by an older newsrag (chunk records v{found}; this newsrag reads v{RECORD_VERSION}, "
            "with the numeric `day` date filters use) and this version has no migration for it: ingest the articles "
            "again into a new NEWSRAG_HOME (NEWSRAG_HOME=.newsrag-v2 newsrag ingest PATHS), or use the newsrag that wrote it"
        )
    log.warning("migrating %s from chunk records v%d to v%d", where, found, RECORD_VERSION)
    migrate(store, found)
    after = stored_version(store.chunks)
    if after not in (None, RECORD_VERSION):
        raise StoreError(f"migrating {where} from v{found} left chunk records v{after}: run `newsrag doctor`, then report it")
