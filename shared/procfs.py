"""Linux ``/proc``: the processes of a process group, and who listens on a loopback port.

:func:`group_members` lists a group's processes (the dev stack checks that none is
left behind, the benchmarks add up their CPU).

The emulators take no inherited socket and do not report the port they bound,
so a port is picked for them before they start and another process may take it
first. :func:`owner` tells, from Linux's ``/proc``, whether the listening socket
on the port belongs to the emulator's process group::

    owner(8085, process.pid)   # Owner.GROUP once the emulator listens there

It maps the LISTEN sockets on the port in ``/proc/net/tcp`` and ``/proc/net/tcp6``
to their inodes and looks for ``socket:[inode]`` among the descriptors of the
group's processes (and only theirs: those of other users cannot be read).
Without ``/proc`` (macOS, Windows) the answer is :attr:`Owner.UNKNOWN` and the
caller goes without the check.
"""

from __future__ import annotations

import enum
import ipaddress
import os
import sys
from collections.abc import Sequence
from pathlib import Path

PROC = Path("/proc")
LISTEN = "0A"
"""The state column of a listening socket in ``/proc/net/tcp``."""


class Owner(enum.Enum):
    """Who listens on a port, as seen from one process group."""

    NOBODY = "nobody"
    GROUP = "group"
    """A process of the group holds a socket listening there."""
    OTHER = "other"
    """Only processes outside the group listen there."""
    UNKNOWN = "unknown"
    """No ``/proc`` to tell (not Linux), or the group's descriptors cannot be read."""


def owner(port: int, pgid: int, host: str = "127.0.0.1") -> Owner:
    """Who listens on ``port`` for connections to ``host``, seen from process group ``pgid``."""
    inodes = listening_inodes(port, host)
    if inodes is None:
        return Owner.UNKNOWN
    if not inodes:
        return Owner.NOBODY
    held = group_sockets(pgid)
    if held is None:
        return Owner.UNKNOWN
    return Owner.GROUP if inodes & held else Owner.OTHER


def listening_inodes(port: int, host: str = "127.0.0.1") -> set[int] | None:
    """Inodes of the sockets listening on ``port`` that take connections to ``host``.

    A wildcard address (``0.0.0.0``, ``::``) and the IPv4-mapped form of ``host``
    count; ``None`` when there is no ``/proc/net/tcp`` to read.
    """
    target = ipaddress.ip_address(host)
    found: set[int] = set()
    readable = False
    for table in ("tcp", "tcp6"):
        try:
            rows = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue  # no tcp6 where IPv6 is off
        readable = True
        for row in rows:
            fields = row.split()  # sl local remote state ... uid timeout inode
            address, _, hex_port = fields[1].partition(":")
            if fields[3] != LISTEN or int(hex_port, 16) != port:
                continue
            local = _address(address)
            if isinstance(local, ipaddress.IPv6Address) and local.ipv4_mapped is not None:
                local = local.ipv4_mapped
            if local == target or local.is_unspecified:
                found.add(int(fields[9]))
    return found if readable else None


def group_members(pgids: Sequence[int]) -> list[tuple[int, int, str]]:
    """(pid, pgid, command) of every live process in one of ``pgids``."""
    wanted, found = set(pgids), []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # the command may hold spaces and parentheses: fields restart after the last ')'
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        state, pgid = fields[0], int(fields[2])
        if pgid in wanted and state != "Z":
            found.append((int(entry.name), pgid, comm))
    return found


def group_pids(pgid: int) -> list[int]:
    """The live processes of process group ``pgid``."""
    return [pid for pid, _, _ in group_members([pgid])]


def group_sockets(pgid: int) -> set[int] | None:
    """Inodes of every socket the processes of group ``pgid`` hold; ``None`` when unreadable."""
    inodes: set[int] = set()
    for pid in group_pids(pgid):
        fd_dir = PROC / str(pid) / "fd"
        try:
            fds = os.listdir(fd_dir)
        except PermissionError:
            return None
        except OSError:
            continue  # gone meanwhile
        for fd in fds:
            try:
                target = os.readlink(fd_dir / fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def _address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address as ``/proc/net/tcp*`` prints it: 32-bit words, each in host byte order."""
    raw = bytes.fromhex(hex_address)
    words = [raw[i : i + 4] for i in range(0, len(raw), 4)]
    if sys.byteorder == "little":
        words = [word[::-1] for word in words]
    return ipaddress.ip_address(b"".join(words))
