"""A readable, cross-subsystem timeline of the events a run published."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shared.contracts import SCHEMA_VERSION_TAG
from shared.envelope import Envelope
from shared.exceptions import EnvelopeError

if TYPE_CHECKING:
    from shared.hub.message import Message


@dataclass(frozen=True, slots=True)
class Entry:
    """One published event."""

    timestamp: int
    subsystem: str
    topic: str
    source: str
    type: str
    key: str

    def line(self, start_ms: int) -> str:
        """``+12.345s  customer  bus       checkout-bff  order-placed  o-1``."""
        offset = (self.timestamp - start_ms) / 1000
        return (
            f"+{offset:8.3f}s  {self.subsystem:<10} {self.topic:<8} {self.source:<20} "
            f"{self.type:<34} {self.key}"
        )


@dataclass
class Timeline:
    """Collects entries from an :class:`~shared.hub.memory.InMemoryHub` observer."""

    entries: list[Entry] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def observe(self, project: str, topic: str, message: Message) -> None:
        """The hub observer: record one published message."""
        try:
            event = Envelope.from_bytes(message.data)
        except EnvelopeError:
            entry = Entry(0, project, topic, "?", "<undecodable>", message.message_id)
        else:
            entry = Entry(
                event.timestamp,
                project,
                topic,
                event.tags.get("source", "?"),
                versioned_type(event),
                event.partition_key,
            )
        with self._lock:
            self.entries.append(entry)

    def lines(self) -> list[str]:
        """Every entry, oldest first, as aligned text."""
        if not self.entries:
            return []
        start = min(e.timestamp for e in self.entries if e.timestamp) or 0
        ordered = sorted(self.entries, key=lambda e: e.timestamp)
        return [e.line(start) for e in ordered]

    def counts(self) -> Counter[str]:
        """Events per subsystem."""
        return Counter(e.subsystem for e in self.entries)

    @staticmethod
    def now() -> str:
        """The wall-clock time, for headers."""
        return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def versioned_type(event: Envelope) -> str:
    """The type, with the contract's major version for a published event."""
    version = event.tags.get(SCHEMA_VERSION_TAG)
    return f"{event.type} v{version}" if version else event.type
