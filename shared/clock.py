"""Time as a port, so rules with deadlines can be tested without waiting."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime

LATEST_MS = 253_402_300_799_999
"""The last millisecond of the year 9999: the latest time the system keeps (Firestore's
integers end at 2**63 - 1, and a later time is no date)."""


def utc_text(ms: int) -> str:
    """The epoch-millisecond time ``ms`` as people and logs read it: RFC 3339 in UTC to
    the millisecond, e.g. ``2026-01-01T00:00:00.000Z``."""
    moment = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Clock(ABC):
    """A source of epoch-millisecond time."""

    @abstractmethod
    def now_ms(self) -> int:
        """The current time in epoch milliseconds."""


class SystemClock(Clock):
    """Wall-clock time."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock(Clock):
    """Time that moves only when told to: for deterministic runs and tests."""

    def __init__(self, start_ms: int = 1_767_225_600_000) -> None:
        self._now = start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> None:
        """Move time forward by ``ms`` milliseconds."""
        if ms < 0:
            raise ValueError("time cannot move backwards")
        with self._lock:
            self._now += ms

    def advance_to(self, when_ms: int) -> None:
        """Move time forward to ``when_ms`` (no-op if already past it)."""
        with self._lock:
            self._now = max(self._now, when_ms)
