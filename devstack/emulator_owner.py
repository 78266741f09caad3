"""One running stack per Pub/Sub emulator: an owner record on the emulator itself.

A stack points every subscription of the Pub/Sub emulator it uses at its own hosts. A
second stack on the same emulator (started in a shell that sourced the first one's
``env.sh``, which exports its ``PUBSUB_EMULATOR_HOST``) would point them all at its
hosts instead, and the first would get no more pushes, even after the second stopped.
The state dir's lock (:mod:`devstack.state_lock`) does not see it: the two stacks have
two state dirs.

So before it provisions anything, a stack records itself on the emulator: the topic
:data:`OWNER_TOPIC`, created only where it does not exist (which Pub/Sub does
atomically), labelled with the stack's state dir, pid and host name. A stack that finds
another's record refuses to start while that owner lives: on the same host, while the
owner's pid holds the owner's state dir lock, which the kernel releases however the
owner ended (``kill -9`` included). A record left by a stack that is gone is replaced;
one of another host cannot be checked and counts as alive. A stack deletes its record
when it stops; an emulator it started itself goes with it anyway.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.state_lock import StateDirBusy, check_free

_log = logging.getLogger("fooddelivery.dev")
OWNER_TOPIC = "projects/devstack/topics/owner"
"""The topic whose labels name the stack that uses the emulator."""
CALL_TIMEOUT_S = 10.0
"""How long one admin call may take (the emulator answered already when it is made)."""
CLAIM_ATTEMPTS = 3
"""How often :func:`claim` tries again when the record changes under it."""


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
        """The record's labels (the emulator takes any text as a label's value)."""
        return {"state-dir": self.state_dir, "pid": str(self.pid), "host": self.host}

    @classmethod
    def from_labels(cls, labels: Any) -> Owner | None:
        """The owner a record's labels name; ``None`` for labels no stack wrote."""
        found = dict(labels)
        pid = found.get("pid", "")
        if not pid.isdigit() or not found.get("state-dir") or "host" not in found:
            return None
        return cls(found["state-dir"], int(pid), found["host"])


class EmulatorTaken(Exception):
    """Another stack that still runs uses the emulator (``owner``; ``None``: several
    stacks claimed it at once, and this one lost)."""

    def __init__(self, owner: Owner | None) -> None:
        self.owner = owner
        which = f"the stack at {owner.state_dir} (pid {owner.pid})" if owner else "another stack"
        super().__init__(f"used by {which}")


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


def claim(state_dir: Path, publisher: Any = None) -> Owner:
    """Record the stack on ``state_dir`` (this process) as the owner of the Pub/Sub
    emulator of ``PUBSUB_EMULATOR_HOST``, replacing the record of a stack that is gone.

    Raises :class:`EmulatorTaken` naming the owner when another stack that still runs
    holds the record.
    """
    from google.api_core import exceptions

    ours = Owner.this_process(state_dir)
    with _publisher(publisher) as pub:
        for _ in range(CLAIM_ATTEMPTS):
            try:
                pub.create_topic(
                    request={"name": OWNER_TOPIC, "labels": ours.labels()},
                    timeout=CALL_TIMEOUT_S,
                )
                return ours
            except exceptions.AlreadyExists:
                pass
            found = _read(pub)
            if found is not None and alive(found, ours):
                raise EmulatorTaken(found)
            _log.info("the Pub/Sub emulator's owner record names no running stack: replacing it")
            with contextlib.suppress(exceptions.NotFound):
                pub.delete_topic(request={"topic": OWNER_TOPIC}, timeout=CALL_TIMEOUT_S)
        raise EmulatorTaken(_read(pub))


def release(owner: Owner, publisher: Any = None) -> None:
    """Delete the emulator's owner record if it still names ``owner``; an emulator that
    does not answer (stopped meanwhile) has nothing to release."""
    from google.api_core import exceptions

    with contextlib.suppress(exceptions.GoogleAPIError), _publisher(publisher) as pub:
        if _read(pub) == owner:
            pub.delete_topic(request={"topic": OWNER_TOPIC}, timeout=CALL_TIMEOUT_S, retry=None)


def _read(pub: Any) -> Owner | None:
    """The owner the record names; ``None`` when there is none (or no stack wrote it)."""
    from google.api_core import exceptions

    try:
        topic = pub.get_topic(request={"topic": OWNER_TOPIC}, timeout=CALL_TIMEOUT_S)
    except exceptions.NotFound:
        return None
    return Owner.from_labels(topic.labels)


@contextlib.contextmanager
def _publisher(given: Any) -> Iterator[Any]:
    """``given``, or a new admin client closed on exit."""
    if given is not None:
        yield given
        return
    from google.cloud import pubsub_v1  # type: ignore[attr-defined, import-untyped, unused-ignore]

    pub = pubsub_v1.PublisherClient()
    try:
        yield pub
    finally:
        pub.transport.close()
