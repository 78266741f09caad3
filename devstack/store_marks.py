"""Whether the trigger checkpoints in a state dir still describe the Firestore the stack uses.

A host resumes its triggers from ``<subsystem>-triggers.jsonl`` (:mod:`devstack.checkpoint`):
what each trigger last handled of each document of one Firestore store. Resumed on
another store (the emulator named by ``FIRESTORE_EMULATOR_HOST`` restarted empty since,
or another one), it would announce every document it knows as deleted, and take a new
document with a known key for a change of the old one. So each start leaves a mark in
each subsystem's project, a document ``_devstack/<the state dir's id>``
(:func:`reconcile`), and a later start keeps a subsystem's checkpoint only while its
project still holds that mark. A checkpoint whose mark is gone is emptied, so that the
host announces every document the store holds now (written since the reset, never
handled) instead of skipping them as the initial snapshot.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from shared.stores.base import AbstractDocumentStore

_log = logging.getLogger("fooddelivery.dev")
MARKS = "_devstack"
"""The collection of the marks, one document per state dir that used the project."""
STATE_ID = "state-id"
"""The file in the state dir that holds its id, the key of its marks."""


def checkpoint_path(state_dir: Path, subsystem: str) -> Path:
    """Where ``subsystem``'s host keeps its trigger checkpoint."""
    return state_dir / f"{subsystem}-triggers.jsonl"


def state_id(state_dir: Path) -> str:
    """The state dir's id (made up and kept on its first use)."""
    path = state_dir / STATE_ID
    if path.exists():
        found = path.read_text(encoding="ascii").strip()
        if found:
            return found
    made = secrets.token_hex(16)
    path.write_text(made + "\n", encoding="ascii")
    return made


def reconcile(
    state_dir: Path,
    subsystems: Sequence[str],
    store_of: Callable[[str], AbstractDocumentStore],
    *,
    where: str,
) -> list[str]:
    """Empty the checkpoint of each subsystem whose store (``store_of(subsystem)``) does not
    hold this state dir's mark, then mark every store; the subsystems whose checkpoint was
    emptied, also said in a warning naming the store (``where``)."""
    key = state_id(state_dir)
    stale: list[str] = []
    for subsystem in subsystems:
        store = store_of(subsystem)
        checkpoint = checkpoint_path(state_dir, subsystem)
        if store.get(MARKS, key) is None:
            if checkpoint.exists() and checkpoint.stat().st_size:
                checkpoint.write_text("", encoding="utf-8")
                stale.append(subsystem)
            store.put(MARKS, key, {"stateDir": str(state_dir), "markedAt": _now_ms()})
    if stale:
        _log.warning(
            "the Firestore at %s does not hold the mark %s left there: it was restarted empty "
            "(or is another one) since. Dropped the trigger checkpoints of %s; their triggers "
            "take every document it holds now for a new one",
            where,
            state_dir,
            ", ".join(stale),
        )
    return stale


def _now_ms() -> int:
    return int(time.time() * 1000)
