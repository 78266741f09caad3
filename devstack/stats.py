"""What a host did: handled deliveries (``/_dev/stats``) and published events (``/_dev/events``).

``settle()`` of a live scenario polls the counts until nothing changes; the
timeline of ``fooddelivery dev --scenario`` reads the published events, which
:class:`RecordingPublisher` notes as the host's functions publish them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from shared.envelope import Envelope
from shared.exceptions import EnvelopeError
from shared.hub.base import AbstractPublisher
from shared.hub.message import Message
from shared.stores.base import AbstractDocumentStore, Doc, Updater
from shared.stores.delegating import DelegatingStore
from shared.timeline import causation_id, note_of, versioned_type
from shared.topology.model import Topic

MAX_EVENTS = 200_000
REDELIVERED = frozenset({"retry", "bad"})
"""Outcomes after which the broker (or the trigger queue) delivers the same thing again."""
_LEVELS = {"ack": logging.INFO, "skip": logging.DEBUG}
"""``skip``: the emulator pushed a message the channel's rule does not select (it
ignores subscription filters), acknowledged without running the function."""
_log = logging.getLogger("fooddelivery.dev")


@dataclass(frozen=True, slots=True)
class Published:
    """One event a host published, as the timeline shows it."""

    seq: int
    id: str
    timestamp: int
    subsystem: str
    topic: str
    source: str
    type: str
    """As the embedded demo's timeline shows it: with the contract's version when it has one
    (``order.order-status-changed v1``)."""
    key: str
    cause: str | None = None
    """The id of the event (or document change) it was emitted in reaction to."""
    note: str = ""
    """Why it happened, when the event says (:func:`shared.timeline.note_of`): the timeline
    shows it after the type, as the embedded demo's does."""


class Stats:
    """Counters and the published-event log of one host; thread-safe."""

    def __init__(self, subsystem: str) -> None:
        self.subsystem = subsystem
        self._lock = threading.Lock()
        self._outcomes: Counter[str] = Counter()
        self._by_target: Counter[str] = Counter()
        self._inflight = 0
        self._last_retry: float | None = None
        self._events: deque[Published] = deque(maxlen=MAX_EVENTS)
        self._seq = 0
        self.writes = 0
        self.pending: Callable[[], int] = lambda: 0
        """Trigger changes queued or waiting for a retry (set by the host)."""

    @contextlib.contextmanager
    def handling(self) -> Iterator[None]:
        """Count a delivery as in flight while the block runs."""
        with self._lock:
            self._inflight += 1
        try:
            yield
        finally:
            with self._lock:
                self._inflight -= 1

    def handled(
        self, target: str, kind: str, event_type: str, key: str, outcome: str, ms: float
    ) -> None:
        """Count one handled delivery and log it as one readable line."""
        with self._lock:
            self._outcomes[outcome] += 1
            self._by_target[target] += 1
            if outcome in REDELIVERED:
                self._last_retry = time.monotonic()
        level = _LEVELS.get(outcome, logging.WARNING)
        _log.log(
            level,
            "%-10s %-32s %-8s %-36s %-24s %-6s %6.1f ms",
            self.subsystem,
            target,
            kind,
            event_type or "-",
            key or "-",
            outcome,
            ms,
        )

    def wrote(self) -> None:
        """Count one document write."""
        with self._lock:
            self.writes += 1

    def published(self, topic: Topic, messages: Sequence[Message]) -> None:
        """Note events this host's functions published."""
        with self._lock:
            for message in messages:
                self._seq += 1
                self._events.append(_entry(self._seq, self.subsystem, topic, message))

    def events(self, after: int = 0) -> list[dict[str, Any]]:
        """Published events with a sequence number above ``after``."""
        with self._lock:
            return [asdict(e) for e in self._events if e.seq > after]

    def snapshot(self) -> dict[str, Any]:
        """The counts ``/_dev/stats`` serves."""
        with self._lock:
            since = None if self._last_retry is None else time.monotonic() - self._last_retry
            return {
                "subsystem": self.subsystem,
                "pid": os.getpid(),
                "handled": sum(self._outcomes.values()),
                "outcomes": dict(self._outcomes),
                "byTarget": dict(self._by_target),
                "inflight": self._inflight,
                "pending": self.pending(),
                "published": self._seq,
                "writes": self.writes,
                "sinceRetryS": since,
            }


def _entry(seq: int, subsystem: str, topic: Topic, message: Message) -> Published:
    try:
        event = Envelope.from_bytes(message.data)
    except EnvelopeError:
        return Published(seq, message.message_id, 0, subsystem, topic.value, "?", "?", "")
    return Published(
        seq,
        event.id,
        event.timestamp,
        subsystem,
        topic.value,
        event.tags.get("source", "?"),
        versioned_type(event),
        event.partition_key,
        causation_id(event),
        note_of(event),
    )


class RecordingPublisher(AbstractPublisher):
    """A publisher that notes in :class:`Stats` what it published successfully."""

    def __init__(self, inner: AbstractPublisher, stats: Stats) -> None:
        self._inner, self._stats = inner, stats

    def publish(self, topic: Topic, messages: Sequence[Message]) -> list[str]:
        ids = self._inner.publish(topic, messages)
        self._stats.published(topic, messages)
        return ids

    def close(self) -> None:
        self._inner.close()


class CountingStore(DelegatingStore):
    """A document store that counts the writes it passes on (for the write-rate figures)."""

    def __init__(self, inner: AbstractDocumentStore, stats: Stats) -> None:
        super().__init__(inner)
        self._stats = stats

    def create(self, collection: str, key: str, data: Doc) -> bool:
        created = super().create(collection, key, data)
        self._stats.wrote()
        return created

    def put(self, collection: str, key: str, data: Doc) -> None:
        super().put(collection, key, data)
        self._stats.wrote()

    def update(self, collection: str, key: str, updater: Updater) -> Doc | None:
        written = super().update(collection, key, updater)
        if written is not None:
            self._stats.wrote()
        return written

    def delete(self, collection: str, key: str) -> None:
        super().delete(collection, key)
        self._stats.wrote()

    def delete_if(self, collection: str, key: str, condition: Callable[[Doc], bool]) -> bool:
        deleted = super().delete_if(collection, key, condition)
        if deleted:
            self._stats.wrote()
        return deleted
