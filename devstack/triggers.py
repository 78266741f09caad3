"""Feed one database-first trigger from the Firestore emulator's change feed, with retries.

On GCP, Eventarc delivers each document write to the trigger's function and
retries a failed run. Locally a :class:`~shared.stores.firestore_feed.FirestoreChangeFeed`
watches the collection; its callback only queues the change, and worker
threads run the trigger (the changes of one document one at a time, in no
guaranteed order, as on Eventarc).
A run that asks for a retry goes back in the queue with exponential backoff;
after ``max_attempts`` the change is dead-lettered to the subsystem's ``faults``
topic, so nothing is dropped silently. The retries are those of every runtime
(:mod:`shared.runtime.consumer`): the same :data:`TRIGGER_ATTEMPTS` runs and the same
dead letter (reason ``dead-letter``, the function named ``service-function``,
``MaxDeliveryAttemptsExceeded``), on Eventarc's backoff made :data:`DEV_TIME_SCALE`
times shorter: the stack runs in real time, and a developer should see a fault within
a minute, not the hour GCP takes.

The checkpoint a restarted host resumes from moves past a document's change only
once every earlier change of that document is done too: a later write handled
while an earlier one waits for its retry is held back, else a host stopped
meanwhile would resume past the earlier one and never run it.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from shared.runtime.consumer import TRIGGER_ATTEMPTS, TRIGGER_BACKOFF_S
from shared.runtime.outcome import Outcome

if TYPE_CHECKING:
    from devstack.checkpoint import Checkpoint
    from devstack.stats import Stats
    from shared.runtime.consumer import TriggerRuntime
    from shared.stores.base import DocumentChange, Watch
    from shared.stores.firestore_feed import FirestoreChangeFeed

_log = logging.getLogger("fooddelivery.dev.triggers")
DEV_TIME_SCALE = 0.01
"""How much shorter the dev stack's waits between a trigger's runs are than Eventarc's:
its :data:`TRIGGER_ATTEMPTS` runs take about half a minute instead of an hour."""


class TriggerFeed:
    """Runs ``runtime`` on every change of its collection, one change per document at a time."""

    def __init__(
        self,
        target: str,
        runtime: TriggerRuntime[Any],
        checkpoint: Checkpoint,
        stats: Stats,
        *,
        max_attempts: int = TRIGGER_ATTEMPTS,
        min_backoff_s: float = TRIGGER_BACKOFF_S[0] * DEV_TIME_SCALE,
        max_backoff_s: float = TRIGGER_BACKOFF_S[1] * DEV_TIME_SCALE,
        workers: int = 4,
    ) -> None:
        """``workers`` run changes side by side, never two of the same document at once."""
        self.target, self.runtime = target, runtime
        self._checkpoint, self._stats = checkpoint, stats
        self._max_attempts = max_attempts
        self._min_backoff_s, self._max_backoff_s = min_backoff_s, max_backoff_s
        self._queue: list[tuple[float, int, int, DocumentChange]] = []
        self._seq = itertools.count()
        self._busy: set[str] = set()
        self._open: dict[str, list[str]] = {}
        """key -> versions of its changes queued, waiting for a retry or running."""
        self._done: dict[str, list[DocumentChange]] = {}
        """key -> its changes done but not yet checkpointed (an earlier one is open)."""
        self._cond = threading.Condition()
        self._stopping = False
        self._watch: Watch | None = None
        self._threads = [
            threading.Thread(target=self._loop, name=f"trigger-{target}-{n}", daemon=True)
            for n in range(workers)
        ]

    @property
    def pending(self) -> int:
        """Changes queued, waiting for a retry or running."""
        with self._cond:
            return len(self._queue) + len(self._busy)

    def outage(self) -> tuple[float, str] | None:
        """Since when (``time.monotonic()``) and why this feed's watch hears no changes, or
        ``None`` while it listens (or before it started)."""
        return self._watch.outage() if self._watch is not None else None

    def start(self, feed: FirestoreChangeFeed) -> None:
        """Start the worker, then watch the collection (resuming from the checkpoint)."""
        for thread in self._threads:
            thread.start()
        resume = self._checkpoint.state(self.target) if self._checkpoint.resumed else None
        self._watch = feed.watch(self.runtime.fn.collection, self._enqueue, resume=resume)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop watching and let the running change finish; queued changes are resumed later."""
        if self._watch is not None:
            self._watch.stop()
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout_s)

    def _enqueue(self, change: DocumentChange) -> None:
        """The watch's callback: a change to run."""
        with self._cond:
            self._open.setdefault(change.key, []).append(change.version)
            self._requeue(change, 1, 0.0)

    def _requeue(self, change: DocumentChange, attempt: int, delay_s: float) -> None:
        with self._cond:
            due = time.monotonic() + delay_s
            self._queue.append((due, next(self._seq), attempt, change))
            self._cond.notify()

    def _next(self) -> tuple[int, DocumentChange] | None:
        """The earliest due change whose document no other worker is running."""
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                free = [item for item in self._queue if item[3].key not in self._busy]
                if free:
                    first = min(free)
                    if first[0] <= now:
                        self._queue.remove(first)
                        self._busy.add(first[3].key)
                        return first[2], first[3]
                self._cond.wait(min(free)[0] - now if free else None)
            return None

    def _loop(self) -> None:
        while (item := self._next()) is not None:
            attempt, change = item
            try:
                self._run(change, attempt)
            except Exception:  # never let the worker die: retry the change later
                _log.exception("trigger %s failed on %s", self.target, change.key)
                self._requeue(change, attempt, self._max_backoff_s)
            finally:
                with self._cond:
                    self._busy.discard(change.key)
                    self._cond.notify_all()

    def _run(self, change: DocumentChange, attempt: int) -> None:
        started = time.perf_counter()
        with self._stats.handling():
            outcome = self.runtime.handle(change, attempt)
        ms = (time.perf_counter() - started) * 1000
        key = f"{change.collection}/{change.key}"
        if outcome is Outcome.ACK:
            self._finish(change)
            self._stats.handled(self.target, "trigger", change.kind, key, "ack", ms)
        elif attempt >= self._max_attempts:
            self.runtime.dead_letter(change, attempt)  # raises: the loop retries it later
            self._finish(change)
            self._stats.handled(self.target, "trigger", change.kind, key, "dead", ms)
        else:
            self._stats.handled(self.target, "trigger", change.kind, key, "retry", ms)
            backoff = min(self._max_backoff_s, self._min_backoff_s * 2 ** (attempt - 1))
            self._requeue(change, attempt + 1, backoff)

    def _finish(self, change: DocumentChange) -> None:
        """Checkpoint ``change`` (handled or dead-lettered), and the later changes of its
        document held back for it, unless an earlier change of the document is still open."""
        with self._cond:
            versions = self._open.get(change.key, [])
            if change.version in versions:
                versions.remove(change.version)
            done = sorted([*self._done.pop(change.key, []), change], key=lambda c: c.version)
            first_open = min(versions, default=None)
            if not versions:
                self._open.pop(change.key, None)
            held = [c for c in done if first_open is not None and c.version >= first_open]
            if held:
                self._done[change.key] = held
            for ready in done:
                if first_open is None or ready.version < first_open:
                    self._checkpoint.record(self.target, ready)
