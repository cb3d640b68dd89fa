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
GROWTH = 4  # stored bytes per byte of article file, roughly: text, vectors, index, keyword index
_NO_SPACE = re.compile(r"no space left|disk is full|disk full|ENOSPC|errno 28|os error 28|quota exceeded", re.I)


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
        f"free {math.ceil(to_free / MB)} MB, then {then}"
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


def check_free(home: Path, need: int) -> None:
    """Before a large write: refuse at once when `need` bytes (plus headroom) do not fit."""
    try:
        free = free_bytes(home)
    except OSError:
        return
    if free < need + HEADROOM:
        raise disk_full(home, need)


def estimate(paths: list[Path]) -> int:
    """Bytes an ingest of `paths` may add to the store."""
    total = 0
    for p in paths:
        try:
            total += p.stat().st_size
        except OSError:
            pass
    return total * GROWTH


def _existing(path: Path) -> Path:
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
