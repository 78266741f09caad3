"""Who listens on a port, told from ``/proc``: the process group that holds the socket, or not."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.procfs import Owner, group_pids, listening_inodes, owner

pytestmark = pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="needs Linux /proc (elsewhere the check is skipped)"
)

LISTENER = (
    "import socket, sys\n"
    "s = socket.socket()\n"
    "s.bind(('127.0.0.1', 0))\n"
    "s.listen()\n"
    "print(s.getsockname()[1], flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.fixture
def other_group() -> Iterator[tuple[int, int]]:
    """A process in its own group listening on a port of its own: (its group, the port)."""
    child = subprocess.Popen(
        [sys.executable, "-c", LISTENER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert child.stdout is not None
    port = int(child.stdout.readline())
    try:
        yield child.pid, port
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(10)


def test_a_socket_this_process_listens_on_is_held_by_its_group(
    other_group: tuple[int, int],
) -> None:
    other_pgid, _ = other_group
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert os.getpid() in group_pids(os.getpgrp())
        assert owner(port, os.getpgrp()) is Owner.GROUP
        assert owner(port, other_pgid) is Owner.OTHER


def test_a_socket_another_group_listens_on_is_not_held_by_this_one(
    other_group: tuple[int, int],
) -> None:
    other_pgid, port = other_group
    assert owner(port, other_pgid) is Owner.GROUP
    assert owner(port, os.getpgrp()) is Owner.OTHER


def test_nobody_holds_a_port_nothing_listens_on() -> None:
    with socket.socket() as bound:  # bound but not listening: no server there
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        assert owner(port, os.getpgrp()) is Owner.NOBODY


@pytest.mark.parametrize(
    ("family", "address", "counts"),
    [
        (socket.AF_INET, "127.0.0.1", True),
        (socket.AF_INET, "0.0.0.0", True),
        (socket.AF_INET6, "::", True),  # dual-stack: takes 127.0.0.1's connections too
        (socket.AF_INET6, "::1", False),  # another address: no rival for 127.0.0.1
    ],
)
def test_only_listeners_that_take_the_hosts_connections_count(
    family: socket.AddressFamily, address: str, counts: bool
) -> None:
    try:
        server = socket.socket(family)
        server.bind((address, 0))
    except OSError as e:
        pytest.skip(f"cannot listen on {address}: {e}")
    with server:
        server.listen()
        port = server.getsockname()[1]
        assert bool(listening_inodes(port, "127.0.0.1")) is counts
