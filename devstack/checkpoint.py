"""What each trigger of a host has handled, kept on local disk so a restarted host resumes.

The Firestore emulator's listen stream starts with a snapshot of every
document; a host that was stopped (or killed) while changes were queued would
never see those changes again. Each handled change is appended to a JSON-lines
file; on restart the host resumes every watch from that state
(:meth:`~shared.stores.firestore_feed.FirestoreChangeFeed.watch` with ``resume``), so
what changed meanwhile is announced with the right ``before``.

Only the last line of each key counts, so the file is compacted to one line per key
(deleted documents included, so that a late older version cannot come back) when a
host opens it and whenever the lines appended since outnumber the keys by
:data:`COMPACT_AFTER_LINES`: it stays about as large as the state it holds.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, TextIO

from shared.stores.base import Doc, DocumentChange

COMPACT_AFTER_LINES = 10_000
"""Lines appended beyond one per key before the file is compacted again."""


class Checkpoint:
    """The last handled (version, document) of every key, per trigger target."""

    def __init__(self, path: Path, *, compact_after_lines: int = COMPACT_AFTER_LINES) -> None:
        """Load what ``path`` holds, compacted; ``compact_after_lines`` as
        :data:`COMPACT_AFTER_LINES`."""
        self._path = path
        self._compact_after = compact_after_lines
        self._lock = threading.Lock()
        self._state: dict[str, dict[str, tuple[str, Doc | None]]] = {}
        self.resumed = path.exists()
        """True when an earlier run of the host left a state to resume from: even an empty one
        (it handled nothing yet), so that what it had queued, or what changed since, is announced
        again rather than taken for the initial snapshot."""
        if self.resumed:
            self._load()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._compacted()

    def _load(self) -> None:
        for line in self._path.read_text(encoding="utf-8").splitlines():
            try:
                record: dict[str, Any] = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            self._keep(record["t"], record["k"], record["v"], record["d"])

    def _keep(self, target: str, key: str, version: str, doc: Doc | None) -> bool:
        known = self._state.setdefault(target, {}).get(key)
        if known is not None and known[0] > version:
            return False  # a later version was handled already (a retry finished late)
        self._state[target][key] = (version, doc)
        return True

    def _lines(self) -> list[str]:
        return [
            json.dumps({"t": target, "k": key, "v": version, "d": doc}, default=str)
            for target, known in self._state.items()
            for key, (version, doc) in known.items()
        ]

    def _compacted(self) -> TextIO:
        """Rewrite the file as the state, one line per key (atomically: a kill meanwhile
        leaves the old file); the new file opened for appending."""
        lines = self._lines()
        partial = self._path.with_name(self._path.name + ".compacting")
        with partial.open("w", encoding="utf-8") as out:
            out.writelines(line + "\n" for line in lines)
        os.replace(partial, self._path)
        self._appended, self._keys = 0, len(lines)
        return self._path.open("a", encoding="utf-8")

    def state(self, target: str) -> dict[str, tuple[str, Doc]]:
        """key -> (version, document) of the documents ``target`` last saw existing."""
        with self._lock:
            known = self._state.get(target, {})
            return {k: (v, d) for k, (v, d) in known.items() if d is not None}

    def record(self, target: str, change: DocumentChange) -> None:
        """Note that ``target`` is done with ``change`` (handled or dead-lettered)."""
        line = json.dumps(
            {"t": target, "k": change.key, "v": change.version, "d": change.after}, default=str
        )
        with self._lock:
            if self._keep(target, change.key, change.version, change.after):
                self._file.write(line + "\n")
                self._file.flush()
                self._appended += 1
                if self._appended > self._keys + self._compact_after:
                    self._file.close()
                    self._file = self._compacted()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._file.close()
