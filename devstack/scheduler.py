"""Run a host's schedules every ``every_s`` seconds, as Cloud Scheduler would on GCP."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

_log = logging.getLogger("fooddelivery.dev.scheduler")

Tick = Callable[[], None]


class Scheduler:
    """One thread ticking each (name, every_s, tick) job; the first tick comes after every_s."""

    def __init__(self, jobs: Sequence[tuple[str, float, Tick]]) -> None:
        self._jobs = list(jobs)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)

    def start(self) -> None:
        """Start ticking (does nothing without jobs)."""
        if self._jobs:
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop after the running tick, if any."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        now = time.monotonic()
        due = {name: now + every for name, every, _ in self._jobs}
        while not self._stop.wait(max(0.0, min(due.values()) - time.monotonic())):
            for name, every, tick in self._jobs:
                if due[name] <= time.monotonic():
                    due[name] += every
                    try:
                        tick()
                    except Exception:
                        _log.exception("schedule %s failed", name)
