"""Disk full, named as such: ENOSPC found under any wrapping, and a message that says
which device, which NEWSRAG_HOME, how much to free and what to run then.

Chroma reports a full disk in its own words ("InternalError: Error in compaction:
Failed to apply logs to the metadata segment"), sometimes with the OSError in the
exception's cause or context, sometimes only in the text, sometimes not at all.
So a write that fails while the disk is (nearly) full counts as disk full too.
"""

from __future__ import annotations

import errno
import math
import os
import re
import shutil
from pathlib import Path

from core.errors import DiskFullError

MB = 2**20
HEADROOM = 16 * MB  # kept free beyond an ingest's estimate: Chroma's logs, SQLite's journal, the index's temp file
LOW_WATER = 32 * MB  # a write failing with less free than this is taken as a full disk
# What a store grows by, measured with `newsrag ingest` (peak bytes on disk, every file counted):
#   realtimeqa dev-small corpus.jsonl (5,455,769 B, 725 articles, 9,276 chunks):
#     in one ingest into a new store                             -> 98,877,378 B (18.1 per input byte; 95,397,362 B at the end)
#     in three parts into one new store:
#       1,313,428 B (100 articles, 2,201 chunks) into a new store -> 26,695,622 B (20.3)
#       1,324,959 B (200 articles, 2,273 chunks) into that store  -> +21,460,436 B (16.2; 9.2 KiB a chunk)
#       2,817,382 B (425 articles, 4,802 chunks) into that store  -> +46,587,836 B (16.5; 9.5 KiB a chunk)
#   data/articles (11,496 B, 2 articles, 17 chunks) into a new store -> 616,170 B (336,480 B empty)
# So 16-18 bytes per input byte, plus a new store's fixed part, which grows to about 5 MiB over its
# first megabytes (Chroma's SQLite files and write log, the HNSW files, the manifest). Chroma's
# index of metadata strings, which holds each chunk's packed record, is nearly half of the store.
STORE_BASE = 6 * MB  # a new store's fixed part, rounded up
GROWTH = 18  # store bytes per byte of article file, rounded up
CHUNK_BYTES = 11 * 1024  # store bytes per chunk written, rounded up
_NO_SPACE = re.compile(r"no space left|disk is full|disk full|ENOSPC|errno 28|os error 28|quota exceeded|\(code: 13\)", re.I)


def is_no_space(exc: BaseException | None) -> bool:
    """Whether ENOSPC (errno 28) is `exc` or anywhere in its cause/context chain, or its text says so."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if _NO_SPACE.search(str(e)):
            return True
        stack += [e.__cause__, e.__context__]
    return False


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(_existing(path)).free


def device_of(path: Path) -> str:
    """The device (and mount point) holding `path`, from /proc/self/mounts; else the mount point."""
    p = Path(os.path.abspath(_existing(path)))
    mount = next((q for q in (p, *p.parents) if os.path.ismount(q)), Path("/"))
    try:
        for line in Path("/proc/self/mounts").read_text().splitlines():
            dev, point, *_ = line.split(" ")
            if point == str(mount):
                return f"{dev} (mounted at {mount})" if dev.startswith("/") else f"the device mounted at {mount}"
    except OSError:
        pass
    return f"the device mounted at {mount}"


def disk_full(home: Path, need: int = 0, then: str = "run the same ingest again") -> DiskFullError:
    """The message: no space left on DEVICE for NEWSRAG_HOME (PATH): free N MB, then ..."""
    try:
        free = free_bytes(home)
        device = device_of(home)
    except OSError:
        free, device = 0, "its device"
    to_free = max(need + HEADROOM - free, LOW_WATER - free, 10 * MB)
    return DiskFullError(
        f"no space left on {device} for NEWSRAG_HOME ({os.path.abspath(home)}): "
        f"free {math.ceil(to_free / MB)} MB (or set NEWSRAG_HOME to a folder on a disk with room), then {then}"
    )


def explain(
    exc: BaseException, home: Path, need: int = 0, then: str = "run the same ingest again", writing: bool = True
) -> DiskFullError | None:
    """The disk-full error for a failure, or None when it is something else. A failed
    write (`writing`) while the disk is nearly full counts even when nothing says ENOSPC."""
    if isinstance(exc, DiskFullError):
        return exc
    if is_no_space(exc):
        return disk_full(home, need, then)
    if not writing:
        return None
    try:
        nearly_full = free_bytes(home) < LOW_WATER
    except OSError:
        nearly_full = False
    return disk_full(home, need, then) if nearly_full else None


def check_free(home: Path, need: int, then: str = "run the same ingest again") -> None:
    """Before a write of about `need` bytes: refuse at once when it (plus headroom) does not fit.
    Nothing to write (`need` 0: every file unchanged) is never refused."""
    if need <= 0:
        return
    try:
        free = free_bytes(home)
    except OSError:
        return
    if free < need + HEADROOM:
        raise disk_full(home, need, then)


def estimate(new_bytes: int, new_store: bool = False) -> int:
    """Bytes an ingest may add to the store: `new_bytes` of article files it has not stored yet,
    into a store that holds nothing yet (`new_store`: Chroma's and the manifest's fixed files)."""
    if new_bytes <= 0:
        return 0
    return new_bytes * GROWTH + (STORE_BASE if new_store else 0)


def for_chunks(n: int) -> int:
    """Bytes writing `n` chunks may add to the store."""
    return n * CHUNK_BYTES


def _existing(path: Path) -> Path:
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
