"""One running stack per state dir: a lock the stack holds for as long as it runs.

Two stacks sharing a state dir would overwrite each other's ``stack.json`` and
``env.sh`` and share (or delete) each other's trigger checkpoints. The stack
takes an exclusive ``flock`` on ``<state dir>/stack.lock`` before it starts
anything and writes its pid there. The kernel releases the lock when the
process ends, however it ends (``kill -9`` included), so a state dir left by a
stack that was killed outright is free at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK = "stack.lock"


class StateDirBusy(Exception):
    """Another process holds the state dir's lock."""

    def __init__(self, state_dir: Path, pid: int | None) -> None:
        self.state_dir, self.pid = state_dir, pid
        super().__init__(f"{state_dir} is in use (pid {pid})")


class StateDirLock:
    """The exclusive lock of one state dir; :meth:`acquire`, then :meth:`release`."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True between :meth:`acquire` and :meth:`release`."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock and write this process's pid into it.

        Raises :class:`StateDirBusy` when another process holds it, and
        :class:`OSError` when the file cannot be opened.
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by children
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _pid_in(fd)
            os.close(fd)
            raise StateDirBusy(self.path.parent, holder) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Let the lock go (idempotent); the file stays, empty of meaning once unlocked."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def check_free(state_dir: Path) -> None:
    """Raise :class:`StateDirBusy` when a stack holds ``state_dir``'s lock (one that is
    still starting, say), without taking it or writing to it."""
    try:
        fd = os.open(state_dir / LOCK, os.O_RDONLY)
    except OSError:
        return  # no lock file: no stack ever ran here
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise StateDirBusy(state_dir, _pid_in(fd)) from None
    finally:
        os.close(fd)  # also lets a shared lock just taken go


def _pid_in(fd: int) -> int | None:
    """The pid the holder wrote, if it did (it may be between open and write)."""
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
