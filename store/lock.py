"""One writer per store: an advisory file lock, released by the OS if the writer dies.

Readers never take it: `ask`, the chat page and a read-only `newsrag doctor` keep working
while an ingest writes. A second writer refuses at once with a message naming the holder
and itself, or waits up to NEWSRAG_LOCK_TIMEOUT seconds for it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import time
from pathlib import Path
from types import TracebackType

from core.errors import StoreError
from store import space

POLL = 0.2
GRACE = 0.05  # with no timeout, a second try this much later: `holder()` may have been looking


class WriterLock:
    def __init__(self, path: Path, timeout: float = 0.0, purpose: str = "") -> None:
        """`purpose`: what wants to write, as the refusal names it ("`newsrag remove`");
        by default the command this process runs."""
        self.path = path
        self.timeout = timeout
        self.purpose = purpose or f"`{command()}`"
        self._fd: int | None = None

    def __enter__(self) -> "WriterLock":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as e:
            raise self._os_error(e) from None
        deadline = time.monotonic() + max(self.timeout, GRACE)
        try:
            while not self._try(fd):
                if time.monotonic() >= deadline:
                    raise StoreError(self._busy_message(fd))
                time.sleep(min(POLL, max(0.0, deadline - time.monotonic())) or POLL)
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, _who(self.purpose).encode(), 0)
            except OSError as e:
                raise self._os_error(e) from None
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

    def _os_error(self, e: OSError) -> StoreError:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            return space.disk_full(self.path.parent, then=f"run {self.purpose} again")
        return StoreError(
            f"cannot write the lock file {self.path} ({e.strerror or e}): make that folder writable, or set NEWSRAG_HOME elsewhere"
        )

    def _busy_message(self, fd: int) -> str:
        holder = os.pread(fd, 256, 0).decode(errors="replace").strip() or "another process"
        waited = f" and is still writing after {self.timeout:g} s" if self.timeout > 0 else ""
        advice = "raise NEWSRAG_LOCK_TIMEOUT" if self.timeout > 0 else f"or set NEWSRAG_LOCK_TIMEOUT=600 to let {self.purpose} wait for it"
        return (
            f"the store in {self.path.parent} is being written by {holder}{waited}: "
            f"one writer at a time, so {self.purpose} cannot start; wait for it to finish, {advice} "
            "(questions can still be asked meanwhile)"
        )

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
                self._fd = None

    @staticmethod
    def holder(path: Path) -> str | None:
        """Who holds the lock at `path` now ("pid 12 (newsrag ingest)"), without taking it for
        longer than a look; None when no one does (or there is no lock file)."""
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return None
        try:
            who = os.pread(fd, 256, 0).decode(errors="replace").strip()
            if not who:  # a writer truncates the file as it lets go
                return None
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return who
            except OSError:
                return None
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None  # the name a writer that was killed left behind
        finally:
            os.close(fd)


_command: str | None = None


def name_command(text: str) -> None:
    """An entry point names the command this process runs ("newsrag ingest"): lock messages
    show it, for the writer holding the lock and for the one refused."""
    global _command
    _command = text


def command() -> str:
    """The command this process runs: as named by its entry point, else from its arguments."""
    if _command:
        return _command
    if not sys.argv or not sys.argv[0]:
        return "python"
    path = Path(sys.argv[0])
    name = path.parent.name if path.name == "__main__.py" else path.name
    return " ".join([name, *sys.argv[1:2]])


def _who(purpose: str) -> str:
    cmd = command()
    return f"pid {os.getpid()} ({cmd})" if purpose.strip("`") == cmd else f"pid {os.getpid()} ({cmd}: {purpose.strip('`')})"
