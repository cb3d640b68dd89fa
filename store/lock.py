"""One writer per store: an advisory file lock, released by the OS if the writer dies.

Readers never take it: `ask` and the chat page keep answering while an ingest
writes. A second writer refuses at once with a message naming the holder, or
waits up to NEWSRAG_LOCK_TIMEOUT seconds for it.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path
from types import TracebackType

from core.errors import StoreError

POLL = 0.2


class WriterLock:
    def __init__(self, path: Path, timeout: float = 0.0) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> "WriterLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        deadline = time.monotonic() + self.timeout
        try:
            while not self._try(fd):
                if time.monotonic() >= deadline:
                    raise StoreError(self._busy_message(fd))
                time.sleep(min(POLL, max(0.0, deadline - time.monotonic())) or POLL)
            os.ftruncate(fd, 0)
            os.pwrite(fd, _who().encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def _try(self, fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        except OSError as e:  # e.g. a file system without locks
            raise StoreError(f"cannot lock {self.path} ({e.strerror}): put NEWSRAG_HOME on a local disk") from None

    def _busy_message(self, fd: int) -> str:
        holder = os.pread(fd, 256, 0).decode(errors="replace").strip() or "another process"
        waited = f" and is still writing after {self.timeout:g} s" if self.timeout > 0 else ""
        advice = "raise NEWSRAG_LOCK_TIMEOUT" if self.timeout > 0 else "or set NEWSRAG_LOCK_TIMEOUT=600 to wait for it"
        return (
            f"the store in {self.path.parent} is being written by {holder}{waited}: "
            f"only one ingest at a time; wait for it to finish, {advice} (questions can still be asked meanwhile)"
        )

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _who() -> str:
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:2]]) if sys.argv and sys.argv[0] else "python"
    return f"pid {os.getpid()} ({command})"
