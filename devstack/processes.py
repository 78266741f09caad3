"""Child processes of the dev stack, each in its own process group.

A child gets a new session (``start_new_session``), so Ctrl-C at the terminal
reaches only the ``fooddelivery dev`` command, which then stops every child by
signalling its whole group (:func:`stop_groups`, several side by side): nothing a
child forked is left behind. Each child
is also tethered (:mod:`shared.tether`): should the command be killed outright,
every group stops itself. While a child starts, Ctrl-C and SIGTERM are held until the
stack knows it (:meth:`Child.start`), so the stop they lead to stops it too.

A server the stack starts on a port it picked gets its listening socket from
the stack (:func:`listening_socket`, handed down with ``pass_fds``) instead of
binding the port itself, so no other process can take the port in between.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from shared import tether
from shared.procfs import group_members

LISTEN_BACKLOG = 128
"""As werkzeug's servers listen."""
STOP_TIMEOUT_S = 10.0
"""How long a stopped process group has to exit after SIGTERM before it gets SIGKILL."""
GROUP_EXIT_WAIT_S = 5.0
"""How long the processes of a group killed with SIGKILL take to be gone, at most."""
HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals that stop the command, held while a child starts."""


class Child:
    """One process the stack runs: started, watched, restarted and stopped by group."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path | None = None,
        pass_fds: Sequence[int] = (),
    ) -> None:
        """``log_path`` ``None`` lets the child write to this process's stdout; ``pass_fds``
        are this process's descriptors the child inherits (at every start)."""
        self.name, self.argv, self.env, self.log_path = name, list(argv), dict(env), log_path
        self.pass_fds = tuple(pass_fds)
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.restarts = 0

    @property
    def pid(self) -> int:
        """The child's pid, which is also its process group id."""
        assert self.process is not None, f"{self.name} was never started"
        return self.process.pid

    @property
    def alive(self) -> bool:
        """True while the child runs."""
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code once it ended."""
        return None if self.process is None else self.process.poll()

    def start(self) -> None:
        """Start (or start again) in a new process group.

        A SIGINT or SIGTERM that comes meanwhile is delivered once :attr:`process` is set:
        its handler raising inside :class:`subprocess.Popen`, after the fork, would leave
        the child running unknown to whoever stops the stack.
        """
        out: IO[bytes] | None = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            out = self.log_path.open("ab")
        try:
            with _signals_held():
                self.process = tether.popen(
                    self.argv,
                    env=self.env,
                    pass_fds=self.pass_fds,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT if out is not None else None,
                )
        finally:
            if out is not None:
                out.close()
        self.started_at = time.monotonic()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM the group, wait, then SIGKILL whatever of the group is left."""
        if self.process is not None:
            stop_groups([self.process], timeout_s)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold :data:`HELD_SIGNALS` meanwhile, then deliver each that came to its own handler.

    Held by Python handlers, not ``pthread_sigmask``: a child inherits the signal mask, and
    would then ignore the SIGTERM that stops it. Python runs handlers in the main thread
    only, so elsewhere there is nothing to hold.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, _: came.append(signum)) for sig in HELD_SIGNALS
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        for signum in dict.fromkeys(came):
            signal.raise_signal(signum)


def stop_groups(
    processes: Sequence[subprocess.Popen[bytes]], timeout_s: float = STOP_TIMEOUT_S
) -> None:
    """Stop the process groups led by ``processes`` together: SIGTERM every group first,
    then wait for all of them within one ``timeout_s`` and SIGKILL the groups of those
    still running; last, SIGKILL every group once more for any grandchild left in it, and
    wait (up to :data:`GROUP_EXIT_WAIT_S`) until none of it lives on, so that a caller
    saying everything has exited says so truly.

    So stopping several takes as long as the slowest, not the sum of them all.
    """
    running = [p for p in processes if p.poll() is None]
    for process in running:
        signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    stragglers = []
    for process in running:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            signal_group(process.pid, signal.SIGKILL)
            stragglers.append(process)
    for process in stragglers:
        process.wait(timeout_s)
    for process in processes:
        signal_group(process.pid, signal.SIGKILL)
    _await_empty([p.pid for p in processes], GROUP_EXIT_WAIT_S)


def _await_empty(pgids: Sequence[int], timeout_s: float) -> None:
    """Wait until no live process is left in ``pgids`` (a killed process ends a moment after
    the signal), for at most ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while group_members(pgids) and time.monotonic() < deadline:
        time.sleep(0.02)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port`` (0: any free port), as an HTTP server opens it.

    Raises :class:`OSError` when the port is taken.
    """
    sock = socket.socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Signal a process group; a group that is gone already is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
