"""Start child process groups that stop themselves when their parent dies, however it dies.

A parent that is stopped normally stops its children itself. One that is
killed outright (``kill -9``, the OOM killer) cannot, and children in their own
process group (as emulators and function hosts are, so that Ctrl-C reaches
only the parent) would run on, holding their ports. :func:`popen` starts a
command in a new process group together with a small watcher::

    process = tether.popen(["gcloud", "beta", "emulators", "pubsub", "start", ...])
    os.killpg(process.pid, signal.SIGTERM)   # stopping it is unchanged

The parent holds the write end of a pipe that only the watchers read. When the
parent is gone, however it went, the kernel closes that end, each watcher reads
end-of-file and stops its group: SIGTERM, then SIGKILL after a grace period.
The command itself keeps the process's pid (it is exec'd in place), so its
exit code, and the group id being its pid, are what they would be without the
tether. ``python -m shared.tether FD -- COMMAND...`` is the launcher.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

GRACE_S = 10.0
_lock = threading.Lock()
_read_end: int | None = None
_keep_open: list[int] = []


def popen(argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new process group that stops once this process is gone.

    ``kwargs`` go to :class:`subprocess.Popen` (``start_new_session`` is always on;
    ``preexec_fn`` is refused: it would run this module's fork hook in the child).
    """
    if "preexec_fn" in kwargs:
        raise TypeError("tether.popen does not take preexec_fn")
    fd = _parent_pipe()
    return subprocess.Popen(
        [sys.executable, "-m", "shared.tether", str(fd), "--", *argv],
        pass_fds=(fd, *kwargs.pop("pass_fds", ())),
        start_new_session=True,
        **kwargs,
    )


def _parent_pipe() -> int:
    """The read end of this process's lifeline; the write end is never inherited."""
    global _read_end
    with _lock:
        if _read_end is None:
            _read_end, write_end = os.pipe()  # both close-on-exec; popen passes the read end
            _keep_open.append(write_end)
        return _read_end


def _forget_pipe() -> None:
    """In a child forked without exec: its parent's lifeline is not its own."""
    global _read_end
    for fd in (*_keep_open, *([_read_end] if _read_end is not None else [])):
        with contextlib.suppress(OSError):
            os.close(fd)
    _keep_open.clear()
    _read_end = None


os.register_at_fork(after_in_child=_forget_pipe)


def _watch(lifeline: int, leader: int) -> None:
    """In the forked watcher: when the parent's end of the pipe closes, stop the group.

    It holds nothing of the command's (no stdio, no other descriptor), so a
    reader of the command's output sees its end as soon as the command exits.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a group's SIGINT is for the command
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, lifeline)
    os.closerange(lifeline + 1, os.sysconf("SC_OPEN_MAX"))
    poller = select.poll()
    poller.register(lifeline, select.POLLIN | select.POLLHUP)
    while True:
        ready = poller.poll(1000)
        if os.getppid() != leader:
            return  # the command ended: nothing left to guard
        if ready and os.read(lifeline, 1) == b"":
            break
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(leader, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline and os.getppid() == leader:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(leader, signal.SIGKILL)


def main(args: Sequence[str]) -> int:
    """Fork the watcher, then become the command after ``--``."""
    if len(args) < 3 or args[1] != "--" or not args[0].isdigit():
        print("usage: python -m shared.tether FD -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    lifeline, command = int(args[0]), list(args[2:])
    leader = os.getpid()
    if os.fork() == 0:
        try:
            _watch(lifeline, leader)
        finally:
            os._exit(0)
    os.close(lifeline)
    for restored in (signal.SIGPIPE, signal.SIGXFSZ):  # as Popen leaves them for a command
        signal.signal(restored, signal.SIG_DFL)
    try:
        os.execvp(command[0], command)
    except OSError as e:
        print(f"cannot start {command[0]}: {e}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
