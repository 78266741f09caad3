"""A readable, cross-subsystem timeline of the events a run published."""

from __future__ import annotations

import heapq
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shared.contracts import SCHEMA_VERSION_TAG
from shared.envelope import Envelope
from shared.exceptions import EnvelopeError

UNDECODABLE = "<undecodable>"
"""The type shown for a message that is not an envelope (it has no time)."""
NOTE_LENGTH = 40
"""The most characters of an event's reason shown after its type (longer ones are cut)."""
DUPLICATE = "[duplicate]"
"""What follows the type of an event listed again: the same event, published again."""

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

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
    id: str = ""
    cause: str | None = None
    """The id of the event that caused it (its ``causationId``), if any."""
    note: str = ""
    """Why it happened, when the event says (see :func:`note_of`)."""

    @property
    def readable(self) -> bool:
        """False for a message that was not an envelope, which has no time."""
        return self.type != UNDECODABLE

    @property
    def label(self) -> str:
        """The type, followed by the note in brackets when there is one:
        ``offer-withdrawn (expired)``."""
        return f"{self.type} ({self.note})" if self.note else self.type

    @property
    def event(self) -> tuple[str, str, str] | None:
        """Which event it is: one published again on the same topic (the same id, by a
        handler that ran again on a redelivery) is the same; None for an entry that could
        not be read, which has no id and is told apart from none."""
        return (self.subsystem, self.topic, self.id) if self.id else None

    def line(self, start_ms: int, label: str | None = None) -> str:
        """``+12.345s  customer  bus       checkout-bff  order-placed  o-1`` (the time ``?``
        for an event that could not be read); ``label`` instead of :attr:`label`."""
        offset = f"+{(self.timestamp - start_ms) / 1000:8.3f}s" if self.readable else "?"
        return (
            f"{offset:>10}  {self.subsystem:<10} {self.topic:<8} {self.source:<20} "
            f"{label or self.label:<34} {self.key}"
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
            entry = Entry(0, project, topic, "?", UNDECODABLE, message.message_id)
        else:
            entry = Entry(
                event.timestamp,
                project,
                topic,
                event.tags.get("source", "?"),
                versioned_type(event),
                event.partition_key,
                event.id,
                causation_id(event),
                note_of(event),
            )
        with self._lock:
            self.entries.append(entry)

    def lines(self) -> list[str]:
        """Every entry, oldest first, as aligned text."""
        start = first_time(self.entries)
        return [e.line(start, label) for e, label in labelled(causal_order(self.entries))]

    def counts(self) -> Counter[str]:
        """Distinct events per subsystem (:attr:`Entry.event`): an event published again
        counts once; see :meth:`duplicates`. Each entry that could not be read counts."""
        return Counter(e.subsystem for e, again in _repeats(self.entries) if not again)

    def duplicates(self) -> Counter[str]:
        """Per subsystem, how many times its events were published again (left out of
        :meth:`counts`); none unless deliveries were repeated (chaos mode, Pub/Sub)."""
        return Counter(e.subsystem for e, again in _repeats(self.entries) if again)

    @staticmethod
    def now() -> str:
        """The wall-clock time, for headers."""
        return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def labelled(entries: Iterable[Entry]) -> list[tuple[Entry, str]]:
    """Each entry with its :attr:`~Entry.label`, followed by :data:`DUPLICATE` when an entry
    before it is the same event (:attr:`Entry.event`), published again."""
    return [(e, f"{e.label} {DUPLICATE}" if again else e.label) for e, again in _repeats(entries)]


def _repeats(entries: Iterable[Entry]) -> Iterator[tuple[Entry, bool]]:
    """Each entry, and whether an entry before it is the same event."""
    seen: set[tuple[str, str, str]] = set()
    for e in entries:
        event = e.event
        yield e, event in seen
        if event is not None:
            seen.add(event)


def first_time(entries: Iterable[Entry]) -> int:
    """The earliest time among ``entries``, leaving out the events that could not be read
    (which have none); 0 when there is none."""
    return min((e.timestamp for e in entries if e.readable), default=0)


def causal_order(entries: Iterable[Entry]) -> list[Entry]:
    """``entries`` oldest first; of those at the same time, in the order given, except that
    every cause comes before its effects.

    An event's effects keep its time (they happened when it did), and several hosts'
    logs arrive in any order, so time alone can show an effect before its cause.
    """
    by_time: dict[int, list[Entry]] = defaultdict(list)
    for e in entries:
        by_time[e.timestamp].append(e)
    return [e for at in sorted(by_time) for e in _causes_first(by_time[at])]


def _causes_first(entries: list[Entry]) -> list[Entry]:
    """``entries`` in their order, each effect moved after its cause (a stable topological
    sort; an entry whose cause is not among them stays where it is)."""
    ids = {e.id for e in entries if e.id}
    effects: dict[str, list[int]] = defaultdict(list)
    ready: list[int] = []
    for i, e in enumerate(entries):
        if e.cause in ids and e.cause != e.id:
            effects[e.cause].append(i)
        else:
            ready.append(i)
    heapq.heapify(ready)
    ordered: list[Entry] = []
    while ready:
        e = entries[heapq.heappop(ready)]
        ordered.append(e)
        for i in effects.pop(e.id, []) if e.id else []:
            heapq.heappush(ready, i)
    placed = {id(e) for e in ordered}
    return [*ordered, *(e for e in entries if id(e) not in placed)]  # a cycle: as given


def causation_id(event: Envelope) -> str | None:
    """The id of the event (or document change) ``event`` was emitted in reaction to."""
    value = (event.metadata or {}).get("causationId")
    return value if isinstance(value, str) else None


def note_of(event: Envelope) -> str:
    """Why ``event`` happened, as far as it says: its body's ``reason`` (``rejected``, a
    kitchen's words; on one line, cut to :data:`NOTE_LENGTH` characters), or that of an
    object in it (a contract version that groups it, as ``cancellation: {reason, detail}``),
    else ``expired`` when its ``expiresAt`` is not after its time (an offer withdrawn because
    it ran out, not because it was declined or its order cancelled); else empty."""
    body = event.body if isinstance(event.body, dict) else {}
    held = (value.get("reason") for value in body.values() if isinstance(value, dict))
    reason = body.get("reason") or next((r for r in held if isinstance(r, str) and r), None)
    if isinstance(reason, str):
        text = "".join(c if c.isprintable() else " " for c in reason)
        text = " ".join(text.split())
        if text:
            return text if len(text) <= NOTE_LENGTH else f"{text[: NOTE_LENGTH - 1]}…"
    expires_at = body.get("expiresAt")
    if type(expires_at) is int and expires_at <= event.timestamp:
        return "expired"
    return ""


def versioned_type(event: Envelope) -> str:
    """The type, with the contract's major version for a published event."""
    version = event.tags.get(SCHEMA_VERSION_TAG)
    return f"{event.type} v{version}" if version else event.type
