"""The store's boundary: whatever Chroma, SQLite or the file system raise while the store is
opened, read or written becomes one `StoreError` that names the cause and the fix, so every
caller (`ask`, `chat`, `serve`, `doctor`, `list`, `ingest`) shows one line, never a traceback.

A full disk is `DiskFullError` (store/space.py says how it is recognised: ENOSPC under any
wrapping, SQLite's "database or disk is full", Chroma's "(code: 13)", or an error of the
store's own libraries while less than `space.LOW_WATER` is free). A failure that is neither
ours nor the store's (a TypeError in our own code, say) is left as it is.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from core.errors import DiskFullError, NewsragError, StoreError
from store import space

AGAIN = "run the same command again"
_DAMAGED = ("file is not a database", "malformed", "database disk image", "not a valid", "corrupt")
_DENIED = ("readonly database", "read-only file system", "permission denied", "access is denied")


def is_store_failure(exc: BaseException) -> bool:
    """An error of the store's own machinery: Chroma, SQLite or the file system (Chroma also
    raises plain ValueErrors and AttributeErrors of its own: where it was raised counts)."""
    if isinstance(exc, (OSError, sqlite3.Error)) or type(exc).__module__.startswith(("chromadb", "hnswlib")):
        return True
    tb, last = exc.__traceback__, None
    while tb is not None:
        last, tb = tb, tb.tb_next
    return last is not None and any(part in last.tb_frame.f_code.co_filename for part in (f"{os.sep}chromadb{os.sep}", "hnswlib"))


def store_failure(
    exc: BaseException, home: Path, doing: str = "open", then: str = AGAIN, remote: bool = False
) -> StoreError | None:
    """The one-line error for `exc`, raised while `doing` the store in `home`; None when `exc` is
    not a failure of the store's machinery (nor a full disk). `remote`: Chroma is a server, so a
    full local disk says nothing about its failures."""
    if isinstance(exc, DiskFullError):  # found below (the manifest, the lock): said for this command
        return space.disk_full(home, then=then)
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, NewsragError):
        return None
    if space.is_no_space(exc):
        return space.disk_full(home, then=then)
    if not is_store_failure(exc):
        return None
    where = f"cannot {doing} the store in {os.path.abspath(home)} ({detail(exc)})"
    text = str(exc).lower()
    if (isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)) or any(w in text for w in _DENIED):
        return StoreError(f"{where}: make that folder writable for this user, or set NEWSRAG_HOME to a folder you can write")
    if any(w in text for w in _DAMAGED):
        return StoreError(
            f"{where}: its files are damaged; move that folder aside (or set NEWSRAG_HOME to a new one) and ingest your articles again"
        )
    if not remote and _nearly_full(home):  # Chroma often fails on a full disk without saying so
        return space.disk_full(home, then=then)
    return StoreError(f"{where}: run `newsrag doctor` to see what is wrong, or set NEWSRAG_HOME to another folder")


@contextmanager
def guarded(home: Path, doing: str = "open", then: str = AGAIN, remote: bool = False) -> Iterator[None]:
    """Turn a failure of the store's machinery inside the block into `store_failure`'s error."""
    try:
        yield
    except Exception as e:
        mapped = store_failure(e, home, doing, then, remote)
        if mapped is None or mapped is e:
            raise
        raise mapped from e


def detail(exc: BaseException, limit: int = 200) -> str:
    """`Type: first line of the message`, bounded."""
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    first = first if len(first) <= limit else first[: limit - 1] + "…"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _nearly_full(home: Path) -> bool:
    try:
        return space.free_bytes(home) < space.LOW_WATER
    except OSError:
        return False
