"""One running stack per emulator: an owner record on each emulator the stack uses.

A stack points every subscription of the Pub/Sub emulator it uses at its own hosts,
watches the change feeds of the Firestore emulator's documents and writes its event lake
to the Storage emulator. A second stack on one of them (started in a shell that sourced
the first one's ``env.sh``, which exports its ``*_EMULATOR_HOST`` variables) would take
the first one's pushes, or mix its documents, change feeds and lake with the first
one's. The state dir's lock (:mod:`devstack.state_lock`) does not see it: the two stacks
have two state dirs.

So before it uses an emulator, a stack records itself on it (where each emulator keeps
the records: :mod:`devstack.owner_records`), labelled with the stack's state dir, pid
and host name. A stack that finds another's record refuses to start while that owner
lives: on the same host, while the owner's pid holds the owner's state dir lock, which
the kernel releases however the owner ended (``kill -9`` included). One of another host
cannot be checked and counts as alive.

The records are numbered, and the newest one names the owner. Each is only ever
created, where it does not exist yet, which each emulator does atomically: a stack
replaces the record of a stack that is gone by creating the next one, so of two stacks
that replace the same record, one creates it and the other finds it. A stack that stops
leaves a next record that names no one (on an emulator it did not start: one it started
goes with it), and the one who creates a record deletes the older ones; a creator whose
record is not the newest when it reads them back (it read them before a record it
targets was deleted) has lost. A record being written (Storage's, between its bucket and
its object) counts as another stack's.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack.owner_records import Records
from devstack.state_lock import StateDirBusy, check_free

_log = logging.getLogger("fooddelivery.dev")
CLAIM_ATTEMPTS = 3
"""How often :func:`claim` tries again when the records change under it."""


@dataclass(frozen=True, slots=True)
class Owner:
    """The stack that uses an emulator, as its record names it."""

    state_dir: str
    pid: int
    host: str

    @classmethod
    def this_process(cls, state_dir: Path) -> Owner:
        """This process, running a stack on ``state_dir``."""
        return cls(str(Path(state_dir).resolve()), os.getpid(), socket.gethostname())

    def labels(self) -> dict[str, str]:
        """The record's labels (the emulators take any text as a label's value)."""
        return {"state-dir": self.state_dir, "pid": str(self.pid), "host": self.host}

    @classmethod
    def from_labels(cls, labels: Mapping[str, str]) -> Owner | None:
        """The owner a record's labels name; ``None`` for labels no stack wrote."""
        pid = labels.get("pid", "")
        if not pid.isdigit() or not labels.get("state-dir") or "host" not in labels:
            return None
        return cls(labels["state-dir"], int(pid), labels["host"])


class EmulatorTaken(Exception):
    """Another stack that still runs uses the emulator (``owner``; ``None``: several
    stacks claimed it at once, and this one lost)."""

    def __init__(self, emulator: str, owner: Owner | None) -> None:
        self.emulator, self.owner = emulator, owner
        which = f"the stack at {owner.state_dir} (pid {owner.pid})" if owner else "another stack"
        super().__init__(f"the {emulator} emulator is used by {which}")


def alive(owner: Owner, claimant: Owner) -> bool:
    """Whether the stack ``owner`` still runs, as ``claimant`` (a stack that holds its own
    state dir's lock) can tell: see the module's docstring."""
    if owner.host != claimant.host:
        return True  # its pid and state dir mean nothing here
    if owner.state_dir == claimant.state_dir:
        return False  # the claimant holds that state dir's lock: its stack is gone
    try:
        check_free(Path(owner.state_dir))
    except StateDirBusy as busy:
        return busy.pid in (owner.pid, None)  # None: the holder has not written its pid yet
    return False


def claim(state_dir: Path, records: Records) -> Owner:
    """Record the stack on ``state_dir`` (this process) as the owner of the emulator of
    ``records``, replacing the record of a stack that is gone.

    Raises :class:`EmulatorTaken` naming the owner when another stack that still runs
    holds the record, or while another stack writes one.
    """
    ours = Owner.this_process(state_dir)
    for _ in range(CLAIM_ATTEMPTS):
        found = records.read()
        newest = max(found, default=0)
        if newest:
            labels = found[newest]
            owner = None if labels is None else Owner.from_labels(labels)
            if labels is None or (owner is not None and alive(owner, ours)):
                raise EmulatorTaken(records.emulator, owner)
            if owner is not None:
                _log.info("the %s emulator's owner is gone: replacing it", records.emulator)
        if records.create(newest + 1, ours.labels()) and _keep(records, newest + 1):
            return ours
    raise EmulatorTaken(records.emulator, None)


def release(owner: Owner, records: Records) -> None:
    """Leave a record that names no one after ``owner``'s, if it is still the newest."""
    found = records.read()
    newest = max(found, default=0)
    labels = found.get(newest)
    ours = newest and labels is not None and Owner.from_labels(labels) == owner
    if ours and records.create(newest + 1, {}):
        _keep(records, newest + 1)


def _keep(records: Records, created: int) -> bool:
    """Whether the record just ``created`` is the newest; if so, delete the older ones."""
    found = records.read()
    if max(found, default=0) != created:
        return False
    for generation in found:
        if generation < created:
            records.delete(generation)
    return True
