"""An exclusive advisory lock held on a small file, released by the operating system when the
process ends however it ends.

fcntl.flock on POSIX, msvcrt.locking on Windows: both die with their process, so a run killed
with kill -9 (or a crashed Excel macro host) never blocks the next one, and no age heuristic is
needed.  The lock file holds its owner's process id, for a person looking at it.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt
else:
    import fcntl

_BUSY = {errno.EAGAIN, errno.EACCES, getattr(errno, "EWOULDBLOCK", errno.EAGAIN), getattr(errno, "EDEADLK", -1)}


class LockBusy(Exception):
    """Another process holds the lock."""


class HeldLock:
    """A lock this process holds; `release` removes the file when no one else can be using it."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self.fd = fd

    def release(self) -> None:
        if self.fd < 0:
            return
        fd, self.fd = self.fd, -1
        if os.name == "nt":  # pragma: no cover
            try:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
            except OSError:
                pass
            os.close(fd)
            try:  # fails while another process has it open: that one removes it later
                os.unlink(self.path)
            except OSError:
                pass
            return
        # unlink while still locked: a waiter that opened the old file notices (see _still_named)
        # and retries on a fresh one, so the lock is never held by two processes at once
        if _still_named(fd, self.path):
            try:
                os.unlink(self.path)
            except OSError:
                pass
        os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def try_acquire(path: Path) -> HeldLock | None:
    """The lock on `path` (created if missing), or None at once if another process holds it.
    OSError if the file cannot be created at all."""
    path = Path(path)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            locked = _lock(fd)
        except BaseException:
            os.close(fd)
            raise
        if not locked:
            os.close(fd)
            return None
        if not _still_named(fd, path):
            os.close(fd)  # its previous owner removed it as we opened it: lock the new one instead
            continue
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass
        return HeldLock(path, fd)


def acquire(path: Path, timeout: float, poll: float = 0.05) -> HeldLock:
    """Wait up to `timeout` seconds for the lock on `path`; LockBusy when it stays taken."""
    deadline = time.monotonic() + timeout
    while True:
        held = try_acquire(path)
        if held is not None:
            return held
        if time.monotonic() >= deadline:
            raise LockBusy(str(path))
        time.sleep(poll)


def remove_if_unowned(path: Path) -> bool:
    """Remove a lock file whose owner is gone (left by a killed run); True if it was removed."""
    try:
        held = try_acquire(path)
    except OSError:
        return False
    if held is None:
        return False
    held.release()
    return True


def _lock(fd: int) -> bool:
    if os.name == "nt":  # pragma: no cover
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError as exc:
            if exc.errno in _BUSY:
                return False
            raise
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in _BUSY:
            return False
        raise


def _still_named(fd: int, path: Path) -> bool:
    if os.name == "nt":  # pragma: no cover - an open file cannot be removed there
        return True
    try:
        now, ours = os.stat(path, follow_symlinks=False), os.fstat(fd)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (ours.st_dev, ours.st_ino)
