"""Finding and reading files without trusting them.

Folders are walked once each (a symlink loop is visited once, not forever);
only regular files are opened (a FIFO named `x.txt` would block a reader
forever, a device never ends); at most the size limit is read; every failure
becomes an IngestError with one line a user can act on.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Iterable

from core.errors import IngestError

MB = 1024 * 1024
Failed = list[dict[str, str]]  # {"path": what, "reason": why}, as IngestReport.failed


def find_files(paths: Iterable[Path], failed: Failed) -> list[Path]:
    """Files under the given paths; entries that cannot be read, or do not exist, go to `failed`."""
    found: list[Path] = []
    seen_dirs: set[tuple[int, int]] = set()

    def unreadable(e: OSError) -> None:
        failed.append({"path": shown(e.filename or "?"), "reason": os_reason(e, Path(e.filename or "?"))})

    for p in paths:
        if p.is_dir():
            for root, dirs, files in os.walk(p, followlinks=True, onerror=unreadable):
                try:
                    st = os.stat(root)
                except OSError as e:
                    unreadable(e)
                    dirs[:] = []
                    continue
                if (st.st_dev, st.st_ino) in seen_dirs:  # a symlink loop, or a folder linked twice
                    dirs[:] = []
                    continue
                seen_dirs.add((st.st_dev, st.st_ino))
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(root) / name for name in sorted(files) if not name.startswith("."))
        elif p.exists() or p.is_symlink():
            found.append(p)
        else:
            failed.append({"path": shown(p), "reason": "no such file or folder"})
    return found


def shown(path: Path | str) -> str:
    """A path as text that can be printed and stored (undecodable bytes in names become U+FFFD)."""
    return os.fsencode(path).decode("utf-8", "replace")


def os_reason(e: OSError, path: Path) -> str:
    """One line a user can act on, for an error opening or reading a file."""
    if e.errno == errno.ELOOP:
        return "symlink loop (the link points back to itself): remove or fix the link"
    if e.errno == errno.ENOENT and path.is_symlink():
        return f"broken symlink (its target {shown(os.readlink(path))} does not exist)"
    if e.errno == errno.ENOENT:
        return "the file vanished before it could be read"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "permission denied: make the file readable (chmod +r) or leave it out"
    return f"cannot read: {e.strerror or e}"


def read_bytes(path: Path, limit: int) -> bytearray:
    """At most `limit` bytes of a regular file; anything else is an IngestError, never a hang."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise IngestError(os_reason(e, path)) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IngestError("a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise IngestError("not a regular file (a FIFO, socket or device): newsrag reads only files")
        if st.st_size > limit:
            raise IngestError(f"file is {st.st_size / MB:.1f} MB, over the {limit / MB:g} MB limit (NEWSRAG_MAX_FILE_MB)")
        data = bytearray()
        while len(data) <= limit and (block := os.read(fd, min(1 << 22, limit + 1 - len(data)))):
            data += block
        if len(data) > limit:
            raise IngestError(f"file grew past the {limit / MB:g} MB limit while being read (NEWSRAG_MAX_FILE_MB)")
        return data
    except OSError as e:
        raise IngestError(os_reason(e, path)) from None
    finally:
        os.close(fd)
